import trainingArguments517 from './data/training-arguments-5.17.json';

/**
 * What the launched programs accept: MiniCPM-V `finetune.py`, Qwen `finetune.py`, Hugging Face TrainingArguments by
 * version, and the launchers. Used by SCRIPT-UNKNOWN-ARG, hovers and completion. Sources: domain.md B.2, B.3, B.6.
 */

export interface FlagInfo {
  name: string;
  /** Python type as the dataclass declares it. */
  type: 'bool' | 'int' | 'float' | 'str' | 'list';
  default?: string;
  values?: readonly string[];
  doc: string;
  /** Where the flag is defined. */
  source: string;
}

const bool = ['true', 'false'] as const;

function f(name: string, type: FlagInfo['type'], def: string | undefined, doc: string, source: string, values?: readonly string[]): FlagInfo {
  return { name, type, default: def, doc, source, values: values ?? (type === 'bool' ? bool : undefined) };
}

const minicpmSrc = 'MiniCPM-V finetune/finetune.py (HEAD 0dbb566)';
export const minicpmvFinetuneFlags: readonly FlagInfo[] = [
  f('model_name_or_path', 'str', 'openbmb/MiniCPM-V-2', 'Model id or local folder; must match --llm_type.', minicpmSrc),
  f('data_path', 'str', undefined, 'Training data: one JSON array of {image, conversations} samples.', minicpmSrc),
  f('eval_data_path', 'str', undefined, 'Evaluation data, same format as --data_path.', minicpmSrc),
  f('cache_dir', 'str', undefined, 'Unused by the code.', minicpmSrc),
  f('optim', 'str', 'adamw_torch', 'Optimizer; ignored when the DeepSpeed config has an "optimizer" section.', minicpmSrc),
  f('model_max_length', 'int', '2048', 'Truncation length in tokens, image tokens included (4096 recommended for multi-image).', minicpmSrc),
  f('tune_vision', 'bool', 'True', 'Train the vision encoder (vpm). Must be false for int4 models.', minicpmSrc),
  f('tune_llm', 'bool', 'True', 'Train the LLM weights. Must be false with --use_lora true.', minicpmSrc),
  f('llm_type', 'str', 'minicpm', 'Chat template / image schema: minicpm (V-2.0), llama3 (Llama3-V 2.5), qwen (V-2.6, o-2.6; qwen2 in 2024-08..2025-01 code). Unknown values silently use the MiniCPM-2B template.', minicpmSrc, ['qwen', 'llama3', 'minicpm', 'qwen2']),
  f('use_lora', 'bool', 'False', 'Train LoRA adapters (PEFT).', minicpmSrc),
  f('max_slice_nums', 'int', '9', 'Maximum image slices; fewer slices = fewer image tokens.', minicpmSrc),
  f('lora_r', 'int', '64', 'LoRA rank.', minicpmSrc),
  f('lora_alpha', 'int', '64', 'LoRA alpha.', minicpmSrc),
  f('lora_dropout', 'float', '0.05', 'LoRA dropout.', minicpmSrc),
  f('lora_target_modules', 'str', 'llm\\..*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj)', 'Regex of module names that get LoRA (quote it in the shell).', minicpmSrc),
  f('lora_weight_path', 'str', '', 'Parsed but unused.', minicpmSrc),
  f('lora_bias', 'str', 'none', 'LoraConfig bias.', minicpmSrc, ['none', 'all', 'lora_only']),
  f('q_lora', 'bool', 'False', 'QLoRA preparation for an already quantized checkpoint; does not quantize.', minicpmSrc),
  f('lora_modules_to_save', 'str', '', 'Unused (hard-coded embed_tokens, resampler, and vpm if tune_vision).', minicpmSrc),
  f('lora_layer_replication', 'list', undefined, 'Unused.', minicpmSrc),
  f('lora_layers_to_transform', 'list', undefined, 'Passed as layers_to_transform.', minicpmSrc),
  f('lora_layers_pattern', 'str', undefined, 'Unused.', minicpmSrc),
];

/** Only in MiniCPM-V finetune.py c5e82b1..4a087a8 (2025-01-11..14, video SFT). */
export const minicpmvVideoEraFlags: ReadonlySet<string> = new Set(['video_max_slice_nums', 'max_num_frames']);

const qwenSrc = 'QwenLM/Qwen finetune.py (2df8e8a)';
export const qwenFinetuneFlags: readonly FlagInfo[] = [
  f('model_name_or_path', 'str', 'Qwen/Qwen-7B', 'Model id or local folder; Q-LoRA needs a *-Chat-Int4 checkpoint.', qwenSrc),
  f('data_path', 'str', undefined, 'Training data (JSON array of {id, conversations:[{from, value}]}).', qwenSrc),
  f('eval_data_path', 'str', undefined, 'Evaluation data.', qwenSrc),
  f('lazy_preprocess', 'bool', 'False', 'Tokenize per item.', qwenSrc),
  f('cache_dir', 'str', undefined, 'Cache folder.', qwenSrc),
  f('optim', 'str', 'adamw_torch', 'Optimizer; ignored when the DeepSpeed config has an "optimizer" section.', qwenSrc),
  f('model_max_length', 'int', '8192', 'Maximum sequence length.', qwenSrc),
  f('use_lora', 'bool', 'False', 'Train LoRA adapters.', qwenSrc),
  f('lora_r', 'int', '64', 'LoRA rank.', qwenSrc),
  f('lora_alpha', 'int', '16', 'LoRA alpha.', qwenSrc),
  f('lora_dropout', 'float', '0.05', 'LoRA dropout.', qwenSrc),
  f('lora_target_modules', 'list', 'c_attn c_proj w1 w2', 'LoRA target modules.', qwenSrc),
  f('lora_weight_path', 'str', '', 'Unused.', qwenSrc),
  f('lora_bias', 'str', 'none', 'LoraConfig bias.', qwenSrc, ['none', 'all', 'lora_only']),
  f('q_lora', 'bool', 'False', 'Q-LoRA on a GPTQ Int4 checkpoint (needs --fp16 and DeepSpeed).', qwenSrc),
];

const hfSrc = 'transformers TrainingArguments';
/** TrainingArguments fields of transformers 4.4x–4.5x that scripts commonly pass, with docs for hovers. */
const trainingArgumentDocs: readonly FlagInfo[] = [
  f('output_dir', 'str', undefined, 'Where checkpoints and trainer_state.json are written.', hfSrc),
  f('overwrite_output_dir', 'bool', 'False', 'Overwrite the output folder.', hfSrc),
  f('do_train', 'bool', 'False', 'Run training (read by scripts, not by Trainer).', hfSrc),
  f('do_eval', 'bool', 'False', 'Run evaluation.', hfSrc),
  f('do_predict', 'bool', 'False', 'Run prediction.', hfSrc),
  f('eval_strategy', 'str', 'no', 'When to evaluate. Needs an eval dataset unless "no".', hfSrc, ['no', 'steps', 'epoch']),
  f('evaluation_strategy', 'str', 'no', 'Old name of --eval_strategy: deprecated in 4.41, removed in 4.46.', hfSrc, ['no', 'steps', 'epoch']),
  f('prediction_loss_only', 'bool', 'False', 'Only return the loss when evaluating.', hfSrc),
  f('per_device_train_batch_size', 'int', '8', 'Micro-batch per GPU (DeepSpeed train_micro_batch_size_per_gpu).', hfSrc),
  f('per_device_eval_batch_size', 'int', '8', 'Evaluation batch per GPU.', hfSrc),
  f('gradient_accumulation_steps', 'int', '1', 'Micro-batches per optimizer step.', hfSrc),
  f('eval_accumulation_steps', 'int', undefined, 'Prediction steps to accumulate before moving to CPU.', hfSrc),
  f('eval_delay', 'float', '0', 'Epochs or steps before the first evaluation.', hfSrc),
  f('learning_rate', 'float', '5e-05', 'Peak learning rate (DeepSpeed optimizer.params.lr / warmup_max_lr when "auto"). Typical: 1e-5 and below for full fine-tuning, 1e-4..3e-4 for LoRA (Qwen scripts: 1e-5 full, 3e-4 LoRA; MiniCPM-V ships 1e-6 for both).', hfSrc),
  f('weight_decay', 'float', '0.0', 'AdamW weight decay.', hfSrc),
  f('adam_beta1', 'float', '0.9', 'AdamW beta1.', hfSrc),
  f('adam_beta2', 'float', '0.999', 'AdamW beta2.', hfSrc),
  f('adam_epsilon', 'float', '1e-08', 'AdamW epsilon.', hfSrc),
  f('max_grad_norm', 'float', '1.0', 'Gradient clipping (DeepSpeed gradient_clipping).', hfSrc),
  f('num_train_epochs', 'float', '3.0', 'Epochs (ignored when --max_steps > 0).', hfSrc),
  f('max_steps', 'int', '-1', 'Total optimizer steps; overrides --num_train_epochs.', hfSrc),
  f('lr_scheduler_type', 'str', 'linear', 'LR schedule; ignored when the DeepSpeed config has a "scheduler".', hfSrc, ['linear', 'cosine', 'cosine_with_restarts', 'polynomial', 'constant', 'constant_with_warmup', 'inverse_sqrt', 'reduce_lr_on_plateau', 'cosine_with_min_lr', 'warmup_stable_decay']),
  f('lr_scheduler_kwargs', 'str', undefined, 'Extra scheduler arguments (JSON).', hfSrc),
  f('warmup_ratio', 'float', '0.0', 'Warmup as a fraction of the steps. Removed in transformers 5 (use --warmup_steps).', hfSrc),
  f('warmup_steps', 'int', '0', 'Warmup steps.', hfSrc),
  f('log_level', 'str', 'passive', 'Logger level on the main process.', hfSrc, ['passive', 'debug', 'info', 'warning', 'error', 'critical']),
  f('log_level_replica', 'str', 'warning', 'Logger level on replicas.', hfSrc),
  f('log_on_each_node', 'bool', 'True', 'Log on each node.', hfSrc),
  f('logging_dir', 'str', 'output_dir/runs/...', 'TensorBoard folder. Removed in transformers 5.', hfSrc),
  f('logging_strategy', 'str', 'steps', 'When to log.', hfSrc, ['no', 'steps', 'epoch']),
  f('logging_first_step', 'bool', 'False', 'Log the first step.', hfSrc),
  f('logging_steps', 'float', '500', 'Log every N steps.', hfSrc),
  f('logging_nan_inf_filter', 'bool', 'True', 'Filter nan/inf losses when logging.', hfSrc),
  f('save_strategy', 'str', 'steps', 'When to save checkpoints.', hfSrc, ['no', 'steps', 'epoch', 'best']),
  f('save_steps', 'float', '500', 'Save every N steps.', hfSrc),
  f('save_total_limit', 'int', undefined, 'Keep at most N checkpoints.', hfSrc),
  f('save_safetensors', 'bool', 'True', 'Save safetensors.', hfSrc),
  f('save_on_each_node', 'bool', 'False', 'Save on every node.', hfSrc),
  f('save_only_model', 'bool', 'False', 'Save only the model (no optimizer state).', hfSrc),
  f('use_cpu', 'bool', 'False', 'Train on CPU.', hfSrc),
  f('no_cuda', 'bool', 'False', 'Old name of --use_cpu.', hfSrc),
  f('seed', 'int', '42', 'Random seed.', hfSrc),
  f('data_seed', 'int', undefined, 'Sampler seed.', hfSrc),
  f('bf16', 'bool', 'False', 'bf16 mixed precision; needs an Ampere (compute capability 8.0) or newer GPU. Not with --fp16.', hfSrc),
  f('fp16', 'bool', 'False', 'fp16 mixed precision. Not with --bf16.', hfSrc),
  f('fp16_opt_level', 'str', 'O1', 'Apex AMP level.', hfSrc),
  f('half_precision_backend', 'str', 'auto', 'Half precision backend.', hfSrc),
  f('bf16_full_eval', 'bool', 'False', 'Evaluate in bf16.', hfSrc),
  f('fp16_full_eval', 'bool', 'False', 'Evaluate in fp16.', hfSrc),
  f('tf32', 'bool', undefined, 'Allow TF32 matmuls (Ampere+).', hfSrc),
  f('local_rank', 'int', '-1', 'Set by the launcher.', hfSrc),
  f('ddp_backend', 'str', undefined, 'Distributed backend.', hfSrc, ['nccl', 'gloo', 'mpi', 'ccl', 'hccl']),
  f('debug', 'str', '', 'Debug modes.', hfSrc),
  f('dataloader_drop_last', 'bool', 'False', 'Drop the last incomplete batch.', hfSrc),
  f('eval_steps', 'float', undefined, 'Evaluate every N steps.', hfSrc),
  f('dataloader_num_workers', 'int', '0', 'Data loading workers.', hfSrc),
  f('dataloader_prefetch_factor', 'int', undefined, 'Batches prefetched per worker.', hfSrc),
  f('past_index', 'int', '-1', 'Past state index.', hfSrc),
  f('run_name', 'str', undefined, 'Run name for loggers.', hfSrc),
  f('disable_tqdm', 'bool', undefined, 'Disable progress bars.', hfSrc),
  f('remove_unused_columns', 'bool', 'True', 'Drop dataset columns the model forward does not take (MiniCPM-V needs false).', hfSrc),
  f('label_names', 'list', undefined, 'Keys of the labels in the batch.', hfSrc),
  f('load_best_model_at_end', 'bool', 'False', 'Load the best checkpoint at the end.', hfSrc),
  f('metric_for_best_model', 'str', undefined, 'Metric that picks the best checkpoint.', hfSrc),
  f('greater_is_better', 'bool', undefined, 'Whether a larger metric is better.', hfSrc),
  f('ignore_data_skip', 'bool', 'False', 'Do not skip seen batches when resuming.', hfSrc),
  f('fsdp', 'str', '', 'FSDP options.', hfSrc),
  f('fsdp_config', 'str', undefined, 'FSDP config file.', hfSrc),
  f('accelerator_config', 'str', undefined, 'Accelerate config.', hfSrc),
  f('deepspeed', 'str', undefined, 'DeepSpeed JSON config (relative to the launch folder).', hfSrc),
  f('label_smoothing_factor', 'float', '0.0', 'Label smoothing.', hfSrc),
  f('optim', 'str', 'adamw_torch', 'Optimizer; ignored when the DeepSpeed config has an "optimizer" section.', hfSrc, ['adamw_torch', 'adamw_torch_fused', 'adamw_8bit', 'paged_adamw_8bit', 'adafactor', 'sgd', 'lion_8bit']),
  f('optim_args', 'str', undefined, 'Optimizer arguments.', hfSrc),
  f('group_by_length', 'bool', 'False', 'Group samples of similar length.', hfSrc),
  f('length_column_name', 'str', 'length', 'Precomputed length column.', hfSrc),
  f('report_to', 'str', 'all', 'Loggers.', hfSrc, ['none', 'all', 'tensorboard', 'wandb', 'mlflow', 'swanlab', 'trackio']),
  f('ddp_find_unused_parameters', 'bool', undefined, 'DDP find_unused_parameters.', hfSrc),
  f('ddp_bucket_cap_mb', 'int', undefined, 'DDP bucket size.', hfSrc),
  f('ddp_broadcast_buffers', 'bool', undefined, 'DDP broadcast buffers.', hfSrc),
  f('ddp_timeout', 'int', '1800', 'Distributed timeout (s).', hfSrc),
  f('dataloader_pin_memory', 'bool', 'True', 'Pin host memory.', hfSrc),
  f('dataloader_persistent_workers', 'bool', 'False', 'Keep workers alive.', hfSrc),
  f('skip_memory_metrics', 'bool', 'True', 'Skip memory metrics.', hfSrc),
  f('push_to_hub', 'bool', 'False', 'Push to the Hub.', hfSrc),
  f('resume_from_checkpoint', 'str', undefined, 'Checkpoint to resume from (read by scripts).', hfSrc),
  f('hub_model_id', 'str', undefined, 'Hub repository.', hfSrc),
  f('hub_strategy', 'str', 'every_save', 'Hub push strategy.', hfSrc),
  f('hub_token', 'str', undefined, 'Hub token (prefer the environment).', hfSrc),
  f('hub_private_repo', 'bool', undefined, 'Private Hub repository.', hfSrc),
  f('gradient_checkpointing', 'bool', 'False', 'Recompute activations in backward: much less activation memory, ~30% slower.', hfSrc),
  f('gradient_checkpointing_kwargs', 'str', undefined, 'Arguments for gradient checkpointing.', hfSrc),
  f('include_for_metrics', 'list', undefined, 'Extra inputs for compute_metrics.', hfSrc),
  f('include_inputs_for_metrics', 'bool', 'False', 'Old name of include_for_metrics.', hfSrc),
  f('eval_do_concat_batches', 'bool', 'True', 'Concatenate eval batches.', hfSrc),
  f('auto_find_batch_size', 'bool', 'False', 'Halve the batch size on OOM.', hfSrc),
  f('full_determinism', 'bool', 'False', 'Deterministic algorithms.', hfSrc),
  f('torch_compile', 'bool', 'False', 'torch.compile the model.', hfSrc),
  f('torch_compile_backend', 'str', undefined, 'torch.compile backend.', hfSrc),
  f('torch_compile_mode', 'str', undefined, 'torch.compile mode.', hfSrc),
  f('include_tokens_per_second', 'bool', 'False', 'Log tokens per second.', hfSrc),
  f('include_num_input_tokens_seen', 'bool', 'False', 'Log input tokens seen.', hfSrc),
  f('neftune_noise_alpha', 'float', undefined, 'NEFTune noise.', hfSrc),
  f('optim_target_modules', 'list', undefined, 'Modules for GaLore-style optimizers.', hfSrc),
  f('batch_eval_metrics', 'bool', 'False', 'Compute metrics per batch.', hfSrc),
  f('eval_on_start', 'bool', 'False', 'Evaluate before training.', hfSrc),
  f('use_liger_kernel', 'bool', 'False', 'Liger kernels.', hfSrc),
  f('average_tokens_across_devices', 'bool', 'True', 'Average token counts across devices for the loss.', hfSrc),
  f('per_gpu_train_batch_size', 'int', undefined, 'Deprecated: use --per_device_train_batch_size.', hfSrc),
  f('per_gpu_eval_batch_size', 'int', undefined, 'Deprecated: use --per_device_eval_batch_size.', hfSrc),
  f('tpu_num_cores', 'int', undefined, 'TPU cores.', hfSrc),
  f('dataloader_persistent_workers', 'bool', 'False', 'Keep workers alive.', hfSrc),
  f('fsdp_min_num_params', 'int', '0', 'FSDP auto-wrap threshold.', hfSrc),
  f('fsdp_transformer_layer_cls_to_wrap', 'str', undefined, 'FSDP layer class.', hfSrc),
  f('mp_parameters', 'str', '', 'SageMaker model parallel.', hfSrc),
  f('ray_scope', 'str', 'last', 'Ray scope.', hfSrc),
  f('use_legacy_prediction_loop', 'bool', 'False', 'Legacy prediction loop.', hfSrc),
  f('torch_empty_cache_steps', 'int', undefined, 'Empty the CUDA cache every N steps.', hfSrc),
  f('restore_callback_states_from_checkpoint', 'bool', 'False', 'Restore callback states.', hfSrc),
];

export interface VersionChange {
  flag: string;
  /** First transformers version that rejects the flag. */
  removedIn: string;
  /** First version that warns (deprecation). */
  deprecatedIn?: string;
  replacement?: string;
  evidence: string;
}

/** TrainingArguments fields of transformers 5.17.0, read from the installed package (data/training-arguments-5.17.json). */
export const trainingArguments5: ReadonlyMap<string, FlagInfo> = new Map(
  trainingArguments517.fields.map((field) => {
    const type: FlagInfo['type'] = /bool/.test(field.type) ? 'bool' : /int/.test(field.type) ? 'int' : /float/.test(field.type) ? 'float' : /list/i.test(field.type) ? 'list' : 'str';
    const def = field.default === null || typeof field.default === 'object' ? undefined : String(field.default);
    return [field.name, f(field.name, type, def, field.help || 'TrainingArguments field.', `transformers ${trainingArguments517.transformers} TrainingArguments`)];
  }),
);

const replacements: Record<string, string> = {
  warmup_ratio: 'warmup_steps',
  no_cuda: 'use_cpu',
  per_gpu_train_batch_size: 'per_device_train_batch_size',
  per_gpu_eval_batch_size: 'per_device_eval_batch_size',
  include_inputs_for_metrics: 'include_for_metrics',
};

/**
 * Flags TrainingArguments stopped accepting. evaluation_strategy: deprecation warning text. Transformers 5: the
 * 4.x fields below that are not fields of TrainingArguments in 5.17.0 (checked on the installed package; the
 * fixture run confirms logging_dir and warmup_ratio fail with a TypeError).
 */
export const trainingArgumentChanges: readonly VersionChange[] = [
  {
    flag: 'evaluation_strategy',
    deprecatedIn: '4.41.0',
    removedIn: '4.46.0',
    replacement: 'eval_strategy',
    evidence: 'FutureWarning "`evaluation_strategy` is deprecated and will be removed in version 4.46" (MiniCPM-V #1045)',
  },
  ...trainingArgumentDocs
    .filter((info) => info.name !== 'evaluation_strategy' && !trainingArguments5.has(info.name))
    .map((info) => ({
      flag: info.name,
      removedIn: '5.0.0',
      replacement: replacements[info.name],
      evidence: `not a TrainingArguments field in transformers ${trainingArguments517.transformers}: "Some specified arguments are not used by the HfArgumentParser" / "TrainingArguments.__init__() got an unexpected keyword argument '${info.name}'"`,
    })),
];

export const trainingArgumentFlags: ReadonlyMap<string, FlagInfo> = new Map(trainingArgumentDocs.map((info) => [info.name, info]));

/** Compares dotted versions numerically ("4.46.0" > "4.9"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((x) => parseInt(x, 10) || 0);
  const pb = b.split(/[.+-]/).map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

export type ProgramKind = 'minicpmv' | 'qwen1' | 'qwen-sft' | 'hf' | 'unknown';

/** Flags a program accepts: its own dataclass fields plus TrainingArguments (4.x list, plus the 5.17 fields from 5.0 on). */
export function programFlagCatalog(kind: ProgramKind, transformersVersion?: string): ReadonlyMap<string, FlagInfo> {
  const own = kind === 'minicpmv' ? minicpmvFinetuneFlags : kind === 'qwen1' || kind === 'qwen-sft' ? qwenFinetuneFlags : [];
  const all = new Map(trainingArgumentFlags);
  if (transformersVersion && compareVersions(transformersVersion, '5.0.0') >= 0) for (const [name, info] of trainingArguments5) if (!all.has(name)) all.set(name, info);
  for (const info of own) all.set(info.name, info);
  return all;
}

export interface LauncherFlagInfo {
  name: string;
  doc: string;
}

export const launcherFlagDocs: Record<string, LauncherFlagInfo[]> = {
  torchrun: [
    { name: 'nproc_per_node', doc: 'Processes (GPUs) per node; at most the GPUs the node has.' },
    { name: 'nnodes', doc: 'Number of nodes (or MIN:MAX).' },
    { name: 'node_rank', doc: 'Rank of this node, 0..nnodes-1, unique per node.' },
    { name: 'master_addr', doc: 'Address of the rank-0 node.' },
    { name: 'master_port', doc: 'Free TCP port (1024–65535) on the rank-0 node, unique per concurrent job; default 29500.' },
    { name: 'standalone', doc: 'Single-node job with a local rendezvous on a free port.' },
    { name: 'rdzv_backend', doc: 'Rendezvous backend (c10d).' },
    { name: 'rdzv_endpoint', doc: 'Rendezvous host:port.' },
    { name: 'rdzv_id', doc: 'Rendezvous job id.' },
    { name: 'max_restarts', doc: 'Worker group restarts before failing.' },
  ],
  deepspeed: [
    { name: 'num_gpus', doc: 'GPUs per node.' },
    { name: 'num_nodes', doc: 'Number of nodes.' },
    { name: 'hostfile', doc: 'Hostfile with slots per host.' },
    { name: 'include', doc: 'Hosts/GPUs to use, e.g. localhost:0,1.' },
    { name: 'master_port', doc: 'Free TCP port (1024–65535) of the rank-0 process, unique per concurrent job; default 29500.' },
    { name: 'master_addr', doc: 'Address of the rank-0 node.' },
  ],
  accelerate: [
    { name: 'num_processes', doc: 'Total processes (GPUs) over all nodes.' },
    { name: 'num_machines', doc: 'Number of nodes.' },
    { name: 'multi_gpu', doc: 'Multi-GPU distributed launch.' },
    { name: 'config_file', doc: 'Accelerate config file.' },
    { name: 'mixed_precision', doc: 'no, fp16 or bf16.' },
    { name: 'main_process_port', doc: 'Free TCP port (1024–65535) of the rank-0 process, unique per concurrent job; default 29500.' },
    { name: 'use_deepspeed', doc: 'Use DeepSpeed.' },
    { name: 'deepspeed_config_file', doc: 'DeepSpeed JSON config.' },
    { name: 'zero_stage', doc: 'ZeRO stage.' },
  ],
};

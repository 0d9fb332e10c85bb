import { paramCounts, type ModelShape, type ParamCounts } from './models';
import { resolveZeroSettings, type ResolvedZeroSettings, type ZeroSettings } from './zero';

export type Method = 'full' | 'lora' | 'qlora';
export type Precision = 'bf16' | 'fp16' | 'fp32' | 'amp';
export type Optimizer = 'adamw' | 'adamw-8bit' | 'sgd';
export type Offload = 'none' | 'optimizer' | 'all';

export interface EstimateInput {
  model: ModelShape;
  method: Method;
  loraRank?: number;
  /** Module names LoRA wraps; default q/k/v/o. */
  loraTargets?: readonly string[];
  /**
   * bf16/fp16: weights loaded in half precision and trained in it (HF Trainer, MiniCPM-V finetune.py loads
   * torch_dtype=compute_dtype); with DeepSpeed, ZeRO keeps fp32 master weights and Adam states. amp: fp32 weights
   * with autocast. fp32: no mixed precision.
   */
  precision: Precision;
  optimizer?: Optimizer;
  /** DeepSpeed engine in use (--deepspeed); ZeRO stage 0-3. */
  deepspeed?: boolean;
  zeroStage?: 0 | 1 | 2 | 3;
  offload?: Offload;
  /** Bucket sizes and stage-3 limits from the DeepSpeed config (zeroSettingsFromDeepSpeed); DeepSpeed's defaults otherwise. */
  zero?: ZeroSettings;
  gpus?: number;
  microBatch?: number;
  /** Sequence length in tokens, image tokens included (model_max_length is the worst case). */
  seqLen: number;
  gradientCheckpointing?: boolean;
  /** Vision models: images per sample and slices per image (MiniCPM-V max_slice_nums + 1 overview). */
  imagesPerSample?: number;
  slicesPerImage?: number;
  tuneVision?: boolean;
  /** MiniCPM-V --tune_llm (full fine-tuning with tune_llm false trains only vision + resampler). */
  tuneLlm?: boolean;
}

export interface Breakdown {
  weights: number;
  gradients: number;
  optimizer: number;
  activations: number;
  /** CUDA context, allocator fragmentation, DeepSpeed buffers. */
  overhead: number;
}

export interface Estimate {
  /** Peak GPU memory per GPU as nvidia-smi would show it (bytes), allocator cache included. */
  peakBytesPerGpu: number;
  /**
   * What the job needs per GPU to run: like peakBytesPerGpu without the blocks the caching allocator merely keeps
   * (PyTorch releases those and retries before it reports out of memory). Fit checks compare this.
   */
  requiredBytesPerGpu: number;
  /** The part PyTorch's caching allocator accounts for (torch.cuda.max_memory_allocated). */
  allocatorPeakBytes: number;
  breakdown: Breakdown;
  trainableParams: number;
  totalParams: number;
  notes: string[];
}

const GiB = 1024 ** 3;
/** CUDA context + cuBLAS/NCCL workspaces outside the caching allocator (torch 2.x on A100/H100: ~0.5 GiB). */
const cudaContextBytes = 0.5 * GiB;
/** Caching-allocator fragmentation above max_memory_allocated. */
const fragmentation = 0.05;

function loraParamsPerLayer(m: ModelShape, rank: number, targets: readonly string[]): number {
  const h = m.hiddenSize;
  const kv = (h / m.numHeads) * m.numKvHeads;
  const shapes: Record<string, [number, number]> = {
    q_proj: [h, h], k_proj: [h, kv], v_proj: [h, kv], o_proj: [h, h],
    gate_proj: [h, m.intermediateSize], up_proj: [h, m.intermediateSize], down_proj: [m.intermediateSize, h],
    c_attn: [h, 3 * h], c_proj: [h, h], w1: [h, m.intermediateSize], w2: [h, m.intermediateSize],
  };
  let total = 0;
  for (const t of targets) {
    const s = shapes[t];
    if (s) total += rank * (s[0] + s[1]);
  }
  return total;
}

/** Estimates the peak GPU memory of one training configuration, per GPU. */
export function estimateMemory(input: EstimateInput): Estimate {
  const m = input.model;
  const p = paramCounts(m);
  const notes: string[] = [];
  const gpus = Math.max(1, input.gpus ?? 1);
  const batch = Math.max(1, input.microBatch ?? 1);
  const tokens = batch * input.seqLen;
  const stage = input.deepspeed ? (input.zeroStage ?? 0) : 0;
  const offload = input.deepspeed ? (input.offload ?? 'none') : 'none';
  const half = input.precision === 'bf16' || input.precision === 'fp16';
  const isVision = !!m.vision;
  const tuneVision = isVision && (input.tuneVision ?? true);
  const tuneLlm = input.tuneLlm ?? true;
  const quantized = input.method === 'qlora' || m.quantized !== undefined;
  const quantBytes = m.quantized === 'int8' ? 1.06 : 0.56; // 4-bit weights + absmax/scales

  // ----- which parameters train -----
  let loraParams = 0;
  let fullTrainable = 0;
  if (input.method === 'full') {
    if (tuneLlm) fullTrainable += p.embedding + p.lmHead + p.layerLinear + p.other;
    fullTrainable += p.projector;
    if (tuneVision) fullTrainable += p.vision;
  } else {
    const rank = input.loraRank ?? 64;
    loraParams = m.numLayers * loraParamsPerLayer(m, rank, input.loraTargets ?? ['q_proj', 'k_proj', 'v_proj', 'o_proj']);
    if (m.family === 'minicpmv') {
      // finetune.py: modules_to_save = ['embed_tokens', 'resampler'] (+ 'vpm' when tune_vision).
      fullTrainable += p.embedding + p.projector + (tuneVision ? p.vision : 0);
      notes.push('MiniCPM-V LoRA also trains embed_tokens and the resampler (modules_to_save).');
    } else if (tuneVision) {
      fullTrainable += p.projector;
    }
  }
  const trainable = fullTrainable + loraParams;

  // ----- weights -----
  const frozenHalf = p.total - fullTrainable;
  const llmLinear = p.layerLinear;
  let weights: number;
  const weightBytes = input.precision === 'fp32' || input.precision === 'amp' ? 4 : 2;
  if (quantized) {
    // Decoder linears in 4/8 bit; embeddings, norms, vision in 16 bit.
    weights = llmLinear * quantBytes + (p.total - llmLinear) * 2;
  } else {
    weights = fullTrainable * weightBytes + frozenHalf * (input.precision === 'fp32' || input.precision === 'amp' ? 4 : 2);
  }
  // LoRA adapters: PEFT keeps them in fp32 (autocast_adapter_dtype).
  weights += loraParams * 4;

  // ----- gradients and optimizer states -----
  const optBytesPerParam = (dtypeBytes: number) => (input.optimizer === 'adamw-8bit' ? 2 : input.optimizer === 'sgd' ? 0 : 2 * dtypeBytes);
  let gradients: number;
  let optimizer: number;
  /** ZeRO 1-3: the per-GPU terms of DeepSpeed's own allocations (zeroTerms); undefined without ZeRO. */
  let zero: ZeroTerms | undefined;
  if (stage === 0) {
    // fp32 copy of the gradients that DeepSpeed's mixed-precision optimizer steps on.
    let fp32Grads = 0;
    if (input.deepspeed && half) {
      // DeepSpeed mixed precision: 16-bit weights/grads on the GPU, fp32 master weights + fp32 Adam states in the optimizer.
      gradients = fullTrainable * 2 + loraParams * 4;
      optimizer = trainable * (4 + optBytesPerParam(4));
      fp32Grads = fullTrainable * 4;
    } else {
      gradients = fullTrainable * weightBytes + loraParams * 4;
      optimizer = fullTrainable * optBytesPerParam(weightBytes) + loraParams * optBytesPerParam(4);
    }
    gradients += fp32Grads;
  } else {
    // The largest trained tensor: the embedding table when it trains (full LLM, or MiniCPM-V LoRA's modules_to_save),
    // else an MLP matrix of the LLM or of the vision tower; LoRA matrices are small.
    const embeddingTrains = input.method === 'full' ? tuneLlm : m.family === 'minicpmv';
    const largestTrainable = embeddingTrains ? p.embedding : input.method === 'full' ? (tuneLlm ? m.hiddenSize * m.intermediateSize : tuneVision ? m.vision!.hiddenSize * m.vision!.intermediateSize : 0) : 0;
    zero = zeroTerms({
      stage, offload, gpus, half, weights, trainable, fullTrainable, loraParams, largestTrainable, params: p, model: m,
      settings: resolveZeroSettings(input.zero, stage),
      optimizerBytes: (half ? 4 : 0) + optBytesPerParam(4),
    });
    gradients = zero.residentGradients;
    optimizer = zero.optimizer;
    if (stage >= 3) weights = zero.weights;
    if (offload !== 'none') notes.push('Optimizer states and master weights offloaded to CPU RAM.');
    if (offload === 'all' && stage >= 3) notes.push('Parameters offloaded to CPU (ZeRO-3): GPU holds the layers in flight only.');
  }

  // ----- activations -----
  const h = m.hiddenSize;
  const perTokenLayer = 24 * h + 8 * m.intermediateSize; // bf16 tensors saved per token and layer (measured fit)
  const ckpt = input.gradientCheckpointing ?? false;
  const actScale = input.precision === 'fp32' ? 2 : 1;
  const trainsLlmPath = input.method !== 'full' || tuneLlm;
  let layerActs = 0;
  if (trainsLlmPath) {
    layerActs = ckpt ? tokens * m.numLayers * 2 * h + tokens * perTokenLayer : tokens * m.numLayers * perTokenLayer;
  }
  // Cross-entropy upcasts logits to fp32: log-softmax output + its gradient + the input gradient live together.
  // Qwen-1's remote code takes the loss of its 16-bit logits (a shifted contiguous copy of them); under DeepSpeed's
  // 16-bit engine nothing autocasts that to fp32: logits, the copy, the log-softmax output and its gradient, 2 bytes
  // each (with the Trainer's autocast, as without DeepSpeed, log-softmax runs in fp32 again).
  const halfLoss = m.halfPrecisionLoss === true && input.deepspeed === true && half;
  const logits = (halfLoss ? 8 : 12) * tokens * m.vocabSize;
  const visionActs = isVision
    ? visionActivationBytes(m.vision!, batch * (input.imagesPerSample ?? 1) * (input.slicesPerImage ?? 10), { trained: tuneVision, gradientCheckpointing: ckpt })
    : 0;
  const activations = (layerActs + visionActs) * actScale + logits;

  // ----- peak -----
  // Backward starts with all activations alive and no gradients; the optimizer step has all gradients and no
  // activations. The embedding backward allocates an fp32 buffer the size of the table at the end of backward.
  const embeddingBackward = fullTrainable >= p.embedding && (input.method === 'full' ? tuneLlm : m.family === 'minicpmv') ? p.embedding * 4 / (stage >= 2 ? gpus : 1) : 0;
  const transientGradients = zero ? zero.transientGradients : gradients;
  const backwardBuffers = zero ? zero.backwardBuffers : 0;
  // Backward holds the larger of the activations and the gradients autograd produces (they do not peak together).
  const backwardLive = Math.max(activations, transientGradients + embeddingBackward);
  const backwardPeak = weights + optimizer + (zero ? gradients : 0) + backwardLive + backwardBuffers;
  const stepPeak = zero ? weights + optimizer + gradients + zero.stepGradients : 0;
  const allocatorPeak = Math.max(backwardPeak, stepPeak);
  // The caching allocator keeps what backward freed (activations, buckets, gathered parameters) reserved. The step's
  // flat gradient copies are single allocations; when they are larger than the largest freed block (the fp32 logits)
  // they take new segments and nvidia-smi shows both. (PyTorch would release the cached blocks before running out of
  // memory, so this is what is seen, not what is required: allocatorPeakBytes is the requirement.)
  const freedAfterBackward = backwardLive + backwardBuffers;
  const largestFreedBlock = 4 * tokens * m.vocabSize;
  const heldByCache = zero && zero.stepGradients > 0 && (trainable / gpus) * 4 > largestFreedBlock ? freedAfterBackward : 0;
  const reservedPeak = Math.max(backwardPeak, stepPeak + heldByCache);
  const peak = reservedPeak * (1 + fragmentation) + cudaContextBytes;
  const stepWins = stepPeak > backwardPeak;
  const shownGradients = stepWins ? gradients + zero!.stepGradients : zero ? gradients + transientGradients : gradients;
  const shownActivations = stepWins ? 0 : Math.max(0, backwardLive - transientGradients);
  if (quantized && input.method === 'full') notes.push('Full fine-tuning of a quantized model is not possible (Q-PURE); estimate assumes LoRA-style frozen int weights.');
  const rounded = { weights: Math.round(weights), gradients: Math.round(shownGradients), optimizer: Math.round(optimizer), activations: Math.round(shownActivations) };
  return {
    peakBytesPerGpu: Math.round(peak),
    requiredBytesPerGpu: Math.round(allocatorPeak * (1 + fragmentation) + cudaContextBytes),
    allocatorPeakBytes: Math.round(allocatorPeak),
    breakdown: { ...rounded, overhead: Math.round(peak) - rounded.weights - rounded.gradients - rounded.optimizer - rounded.activations },
    trainableParams: trainable,
    totalParams: p.total,
    notes,
  };
}

interface ZeroTerms {
  /** Parameters resident on the GPU (stage 3: persistent tensors + this rank's partition). */
  weights: number;
  /** fp32 master partition + optimizer states on the GPU. */
  optimizer: number;
  /** Gradient buffers alive through backward and step (partitioned from stage 2). */
  residentGradients: number;
  /** Whole gradients produced by autograd before they reach a bucket, and reduce-scatter copies. */
  transientGradients: number;
  /** Backward-only buffers: the reduce (ipg) buckets, and for stage 3 the gathered parameters. */
  backwardBuffers: number;
  /** Flat gradient copies the optimizer step makes. */
  stepGradients: number;
}

/**
 * DeepSpeed ZeRO's per-GPU allocations (stage 1-3), from DeepSpeed's source:
 * - stage 1/2, deepspeed/runtime/zero/stage_1_and_2.py (DeepSpeedZeroOptimizer): backward() allocates the ipg buffer,
 *   reduce_bucket_size elements in the model's dtype, twice with overlap_comm (double buffering), when
 *   contiguous_gradients; stage 2 copies each reduced gradient into grads_in_partition (this rank's partition); step()
 *   flattens that partition (a 16-bit copy) and converts it .to(fp32) for the fp32 master partition
 *   (single_partition_of_fp32_groups). With offload_optimizer the reduced gradients go straight into a pinned CPU fp32
 *   buffer (async_inplace_copy_grad_to_fp32_buffer_from_gpu) and the step runs on the CPU.
 * - stage 3, deepspeed/runtime/zero/stage3.py (DeepSpeedZeroOptimizer_Stage3): one ipg bucket of reduce_bucket_size
 *   (__ipg_bucket_flat_buffer), 16-bit gradient partitions (__grad_partitions_flat_buffer) and fp32 partitions on
 *   the GPU unless offload_optimizer, 16-bit parameter partitions unless offload_param; tensors under
 *   stage3_param_persistence_threshold stay whole; __avg_scatter_grads → reduce_scatter_coalesced flattens the bucket
 *   into a padded copy; the step converts one sub-group's gradients to fp32 at a time (sub_group_size).
 *   Gathered parameters (partitioned_param_coordinator.py): the module in use, parameters kept because they are
 *   reused within stage3_max_reuse_distance (bounded by stage3_max_live_parameters), plus up to
 *   stage3_prefetch_bucket_size fetched ahead.
 * - allgather_bucket_size sizes nothing: DeepSpeed gathers into the flat 16-bit buffer with all_gather_into_tensor.
 */
function zeroTerms(a: {
  stage: number;
  offload: Offload;
  gpus: number;
  half: boolean;
  weights: number;
  trainable: number;
  fullTrainable: number;
  loraParams: number;
  largestTrainable: number;
  params: ParamCounts;
  model: ModelShape;
  settings: ResolvedZeroSettings;
  optimizerBytes: number;
}): ZeroTerms {
  const { stage, gpus: n, settings: z } = a;
  const offloadOptimizer = a.offload !== 'none';
  const gradBytes = a.half ? 2 : 4; // gradients are kept and reduced in the model's dtype
  const trainableGradBytes = a.fullTrainable * gradBytes + a.loraParams * 4;
  const optimizer = offloadOptimizer ? 0 : (a.trainable * a.optimizerBytes) / n;
  const residentGradients = offloadOptimizer ? 0 : stage === 1 ? trainableGradBytes : trainableGradBytes / n;
  let transientGradients = a.largestTrainable * gradBytes;
  let backwardBuffers = z.contiguousGradients ? z.reduceBucketSize * gradBytes * (stage < 3 && z.overlapComm ? 2 : 1) : 0;
  let weights = a.weights;
  let stepGradients = 0;
  if (stage < 3) {
    if (!offloadOptimizer) stepGradients = (a.trainable / n) * (gradBytes + (a.half ? 4 : 0));
  } else {
    transientGradients += Math.min(a.trainable, Math.max(z.reduceBucketSize, a.largestTrainable)) * gradBytes;
    // Bytes per model parameter as loaded (16-bit, or less for quantized checkpoints); LoRA adapters (fp32, small) are
    // counted whole on every GPU.
    const bytesPerParam = (a.weights - a.loraParams * 4) / a.params.total;
    // Norm weights (hidden-sized vectors) are the tensors under the persistence threshold.
    const persistent = z.paramPersistenceThreshold > a.model.hiddenSize ? a.params.other : 0;
    const partitioned = a.params.total - persistent;
    weights = persistent * bytesPerParam + a.loraParams * 4 + (a.offload === 'all' ? 0 : (partitioned * bytesPerParam) / n);
    const largestModule = Math.max(a.params.embedding, a.params.lmHead);
    const gathered = Math.min(partitioned, Math.max(largestModule, Math.min(z.maxLiveParameters, z.maxReuseDistance)) + z.prefetchBucketSize);
    backwardBuffers += gathered * bytesPerParam;
    if (!offloadOptimizer && a.half) stepGradients = Math.min(z.subGroupSize, a.trainable / n) * 4;
  }
  return { weights, optimizer, residentGradients, transientGradients, backwardBuffers, stepGradients };
}

export interface FitSuggestion {
  /** What to change, in the user's terms (flags, DeepSpeed config). */
  change: string;
  estimate: Estimate;
}

/**
 * Changes that bring the estimate under `gpuBytes`, in the order of MiniCPM-V's OOM FAQ (domain.md D.4b):
 * shorter model_max_length, smaller batch (more accumulation), fewer slices, tune_vision false, LoRA,
 * gradient checkpointing, ZeRO-2 + optimizer offload, ZeRO-3 + offload. Each is tried alone, then cumulatively.
 */
export function suggestFits(input: EstimateInput, gpuBytes: number): FitSuggestion[] {
  const steps: Array<{ change: string; apply(i: EstimateInput): EstimateInput | undefined }> = [
    { change: 'reduce --model_max_length to 1200', apply: (i) => (i.seqLen > 1200 ? { ...i, seqLen: 1200 } : undefined) },
    { change: 'lower --per_device_train_batch_size to 1 (raise --gradient_accumulation_steps)', apply: (i) => ((i.microBatch ?? 1) > 1 ? { ...i, microBatch: 1 } : undefined) },
    { change: 'reduce --max_slice_nums to 4', apply: (i) => (i.model.vision && (i.slicesPerImage ?? 10) > 5 ? { ...i, slicesPerImage: 5 } : undefined) },
    { change: '--tune_vision false', apply: (i) => (i.model.vision && (i.tuneVision ?? true) ? { ...i, tuneVision: false } : undefined) },
    { change: '--use_lora true (--tune_llm false)', apply: (i) => (i.method === 'full' ? { ...i, method: 'lora' } : undefined) },
    { change: '--gradient_checkpointing true', apply: (i) => (!i.gradientCheckpointing ? { ...i, gradientCheckpointing: true } : undefined) },
    {
      change: 'ZeRO-2 with "offload_optimizer": {"device": "cpu"}',
      apply: (i) => ((i.zeroStage ?? 0) < 2 || (i.offload ?? 'none') === 'none' ? { ...i, deepspeed: true, zeroStage: Math.max(2, i.zeroStage ?? 0) as 2 | 3, offload: 'optimizer' } : undefined),
    },
    { change: 'ZeRO-3 with optimizer and parameter offload to CPU', apply: (i) => ((i.zeroStage ?? 0) < 3 || i.offload !== 'all' ? { ...i, deepspeed: true, zeroStage: 3, offload: 'all' } : undefined) },
  ];
  const singles: FitSuggestion[] = [];
  for (const step of steps) {
    const next = step.apply(input);
    if (!next) continue;
    const estimate = estimateMemory(next);
    if (estimate.requiredBytesPerGpu <= gpuBytes) singles.push({ change: step.change, estimate });
  }
  if (singles.length) return singles;
  // Nothing fits alone: accumulate changes in FAQ order until it does.
  let current = input;
  const applied: string[] = [];
  for (const step of steps) {
    const next = step.apply(current);
    if (!next) continue;
    current = next;
    applied.push(step.change);
    const estimate = estimateMemory(current);
    if (estimate.requiredBytesPerGpu <= gpuBytes) return [{ change: applied.join(' + '), estimate }];
  }
  return [];
}

export function formatGiB(bytes: number): string {
  return `${(bytes / GiB).toFixed(1)} GiB`;
}

/**
 * Activation memory of the vision encoder (SigLIP-style: LayerNorm, attention, GELU MLP) for `slices` image slices.
 * Fitted to peaks measured on an H100 (bench/estimate/vision.json, SigLIP-400M shape, sdpa, bf16): a trained
 * layer keeps about 32·hidden bytes per patch token (its GELU MLP saves less than a SwiGLU decoder layer);
 * checkpointing keeps each layer's input (2·hidden) plus about two layers in flight during recomputation; a frozen
 * encoder keeps nothing for backward, but its forward peaks at about 105·hidden bytes per token (attention
 * workspace).
 */
export function visionActivationBytes(
  v: { hiddenSize: number; numLayers: number; patchesPerSlice: number },
  slices: number,
  options: { trained: boolean; gradientCheckpointing: boolean },
): number {
  const tokens = slices * v.patchesPerSlice;
  const perLayer = 32 * v.hiddenSize;
  if (!options.trained) return tokens * 105 * v.hiddenSize;
  if (options.gradientCheckpointing) return tokens * (v.numLayers * 2 * v.hiddenSize + 2 * perLayer);
  return tokens * v.numLayers * perLayer;
}

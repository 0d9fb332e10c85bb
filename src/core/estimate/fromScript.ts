import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LaunchAnalysis } from '../script/rules';
import { flagBool } from '../script/rules';
import { lastFlag } from '../script/shell';
import type { EstimateInput } from './estimate';
import { lookupModel, modelFromConfig, type ModelShape } from './models';
import { estimateSettingsFromDeepSpeed } from './zero';

const moduleNames = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'c_attn', 'c_proj', 'w1', 'w2'];

/** A model shape for a model id or local folder: its config.json when readable, else the built-in table. */
export function resolveModel(modelId: string, baseDir: string): ModelShape | undefined {
  const folder = path.resolve(baseDir, modelId);
  const configPath = modelId.endsWith('.json') ? folder : path.join(folder, 'config.json');
  if (existsSync(configPath)) {
    try {
      return modelFromConfig(JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>, modelId);
    } catch {
      // fall back to the table
    }
  }
  return lookupModel(modelId);
}

export interface ScriptEstimateInput {
  input?: EstimateInput;
  /** Why no estimate could be made (unknown model, model not given). */
  missing?: string;
}

/** Builds the estimate input from a launch command's flags and its DeepSpeed config. */
export function estimateInputFromLaunch(analysis: LaunchAnalysis, launchDir: string): ScriptEstimateInput {
  const flags = analysis.launch.programFlags;
  const get = (key: string) => lastFlag(flags, key);
  const modelId = analysis.model;
  if (!modelId) return { missing: 'the script passes no --model_name_or_path the workbench can resolve' };
  const model = resolveModel(modelId, launchDir);
  if (!model) return { missing: `no config.json for ${modelId} in the launch folder and it is not in the built-in model table` };
  const num = (key: string, fallback: number) => {
    const n = Number(get(key)?.value?.text);
    return Number.isFinite(n) && n > 0 ? n : fallback;
  };
  const useLora = flagBool(get('use_lora')) === true;
  const qLora = flagBool(get('q_lora')) === true;
  const targetsText = get('lora_target_modules')?.value?.text;
  const targets = targetsText ? moduleNames.filter((name) => targetsText.includes(name)) : undefined;
  const fp16 = flagBool(get('fp16')) === true;
  const bf16 = flagBool(get('bf16')) === true;
  const ds = analysis.deepspeed?.facts;
  const nproc = Number(lastFlag(analysis.launch.launcherFlags, 'nproc_per_node')?.value?.text ?? lastFlag(analysis.launch.launcherFlags, 'num_gpus')?.value?.text);
  const fromDs = ds ? estimateSettingsFromDeepSpeed(ds, model.hiddenSize) : undefined;
  const defaultLength = analysis.kind === 'minicpmv' ? 2048 : analysis.kind === 'qwen1' ? 8192 : 2048;
  return {
    input: {
      model,
      method: useLora ? (qLora || model.quantized ? 'qlora' : 'lora') : 'full',
      loraRank: num('lora_r', analysis.kind === 'minicpmv' || analysis.kind === 'qwen1' ? 64 : 8),
      loraTargets: targets?.length ? targets : undefined,
      precision: bf16 ? 'bf16' : fp16 ? 'fp16' : 'fp32',
      optimizer: /8bit/.test(get('optim')?.value?.text ?? '') && !ds?.optimizerType ? 'adamw-8bit' : 'adamw',
      deepspeed: !!ds,
      zeroStage: fromDs?.zeroStage ?? 0,
      offload: fromDs?.offload ?? 'none',
      zero: fromDs?.zero,
      gpus: Number.isFinite(nproc) && nproc > 0 ? nproc : 1,
      microBatch: num('per_device_train_batch_size', 8),
      seqLen: num('model_max_length', defaultLength),
      gradientCheckpointing: flagBool(get('gradient_checkpointing')) === true,
      slicesPerImage: num('max_slice_nums', 9) + 1,
      imagesPerSample: 1,
      tuneVision: model.vision ? flagBool(get('tune_vision')) !== false : false,
      tuneLlm: analysis.kind === 'minicpmv' ? flagBool(get('tune_llm')) !== false : true,
    },
  };
}

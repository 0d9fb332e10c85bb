import { estimateMemory, formatGiB, suggestFits, type EstimateInput, type Method, type Offload, type Precision } from '../../core/estimate/estimate';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { lintDeepSpeedConfig } from '../../core/deepspeed/config';
import { resolveModel } from '../../core/estimate/fromScript';
import { estimateSettingsFromDeepSpeed } from '../../core/estimate/zero';
import { parseCliArgs } from '../args';
import { ExitCode, UsageError } from '../exitCodes';
import type { Subcommand } from './types';

const usage = `Usage: ftw estimate --config <config.json|model dir|model id> --method full|lora|qlora [options]

Estimates the peak GPU memory per GPU of a fine-tuning configuration.
  --lora-r N              LoRA rank (default 64)
  --lora-targets a,b      LoRA target modules (default q_proj,k_proj,v_proj,o_proj)
  --seq N                 sequence length incl. image tokens (default 2048)
  --batch N               micro-batch per GPU (default 1)
  --grad-ckpt             gradient checkpointing
  --precision P           bf16 | fp16 | fp32 | amp (default bf16)
  --zero 0|1|2|3          DeepSpeed ZeRO stage (implies DeepSpeed)
  --offload none|optimizer|all   DeepSpeed CPU offload (default none)
  --deepspeed FILE        DeepSpeed JSON config: ZeRO stage, offload, bucket sizes and stage-3 limits
                          ("auto" filled as the HF Trainer does); --zero / --offload override it
  --gpus N                GPUs the job uses (ZeRO partitions over them; default 1)
  --no-tune-vision        vision models: freeze the vision encoder
  --slices N              vision models: slices per image (default 10)
  --gpu-memory GiB        say whether it fits, with suggestions when it does not
  --json                  print {"peak_bytes_per_gpu": n, "breakdown": {...}, ...}`;

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} needs a non-negative integer, got ${value}`);
  return n;
}

export const estimateCommand: Subcommand = {
  name: 'estimate',
  summary: 'estimate the peak GPU memory of a fine-tuning configuration',
  usage,
  async run(args, io) {
    const parsed = parseCliArgs(args, {
      config: { type: 'string' }, method: { type: 'string' }, 'lora-r': { type: 'string' }, 'lora-targets': { type: 'string' },
      seq: { type: 'string' }, batch: { type: 'string' }, 'grad-ckpt': { type: 'boolean' }, precision: { type: 'string' },
      zero: { type: 'string' }, offload: { type: 'string' }, gpus: { type: 'string' }, 'no-tune-vision': { type: 'boolean' },
      slices: { type: 'string' }, 'gpu-memory': { type: 'string' }, json: { type: 'boolean' }, deepspeed: { type: 'string' },
    }, { allowPositionals: false });
    const v = parsed.values;
    if (!v.config) throw new UsageError('--config is required (a config.json, a model folder, or a known model id)');
    const method = (v.method ?? 'full') as Method;
    if (!['full', 'lora', 'qlora'].includes(method)) throw new UsageError(`--method must be full, lora or qlora, got ${v.method}`);
    const precision = (v.precision ?? 'bf16') as Precision;
    if (!['bf16', 'fp16', 'fp32', 'amp'].includes(precision)) throw new UsageError(`--precision must be bf16, fp16, fp32 or amp`);
    const offload = (v.offload ?? 'none') as Offload;
    if (!['none', 'optimizer', 'all'].includes(offload)) throw new UsageError('--offload must be none, optimizer or all');
    const zero = v.zero === undefined ? undefined : positiveInt(v.zero, 'zero', 0);
    if (zero !== undefined && zero > 3) throw new UsageError('--zero must be 0, 1, 2 or 3');
    let model;
    try {
      model = resolveModel(v.config, io.cwd);
    } catch (error) {
      io.stderr(`ftw estimate: ${(error as Error).message}\n`);
      return ExitCode.UsageOrIo;
    }
    if (!model) {
      io.stderr(`ftw estimate: ${v.config} is neither a readable config.json / model folder nor a model in the built-in table\n`);
      return ExitCode.UsageOrIo;
    }
    let ds: ReturnType<typeof lintDeepSpeedConfig>['facts'];
    if (v.deepspeed !== undefined) {
      let text: string;
      try {
        text = await readFile(path.resolve(io.cwd, v.deepspeed), 'utf8');
      } catch (error) {
        io.stderr(`ftw estimate: cannot read ${v.deepspeed}: ${(error as Error).message}\n`);
        return ExitCode.UsageOrIo;
      }
      ds = lintDeepSpeedConfig(text).facts;
      if (!ds) {
        io.stderr(`ftw estimate: ${v.deepspeed} is not a valid DeepSpeed JSON config (ftw lint ${v.deepspeed} says why)\n`);
        return ExitCode.UsageOrIo;
      }
    }
    const fromDs = ds ? estimateSettingsFromDeepSpeed(ds, model.hiddenSize) : undefined;
    const offloadUsed = v.offload !== undefined ? offload : (fromDs?.offload ?? offload);
    const stage = zero ?? fromDs?.zeroStage ?? (offloadUsed !== 'none' ? 2 : 0);
    const input: EstimateInput = {
      model,
      method,
      loraRank: positiveInt(v['lora-r'], 'lora-r', 64),
      loraTargets: v['lora-targets']?.split(',').map((s) => s.trim()).filter(Boolean),
      precision,
      deepspeed: !!ds || zero !== undefined || offloadUsed !== 'none',
      zeroStage: stage as 0 | 1 | 2 | 3,
      offload: offloadUsed,
      zero: fromDs?.zero,
      gpus: positiveInt(v.gpus, 'gpus', 1) || 1,
      microBatch: positiveInt(v.batch, 'batch', 1) || 1,
      seqLen: positiveInt(v.seq, 'seq', 2048) || 2048,
      gradientCheckpointing: v['grad-ckpt'] ?? false,
      tuneVision: !v['no-tune-vision'],
      slicesPerImage: positiveInt(v.slices, 'slices', 10) || 10,
    };
    const estimate = estimateMemory(input);
    const gpuBytes = v['gpu-memory'] !== undefined ? Number(v['gpu-memory']) * 1024 ** 3 : undefined;
    if (gpuBytes !== undefined && !(gpuBytes > 0)) throw new UsageError('--gpu-memory needs a size in GiB');
    const suggestions = gpuBytes !== undefined && estimate.requiredBytesPerGpu > gpuBytes ? suggestFits(input, gpuBytes) : [];
    if (v.json) {
      io.stdout(
        `${JSON.stringify(
          {
            peak_bytes_per_gpu: estimate.peakBytesPerGpu,
            breakdown: estimate.breakdown,
            required_bytes_per_gpu: estimate.requiredBytesPerGpu,
            allocator_peak_bytes: estimate.allocatorPeakBytes,
            trainable_params: estimate.trainableParams,
            total_params: estimate.totalParams,
            ...(gpuBytes !== undefined ? { fits: estimate.requiredBytesPerGpu <= gpuBytes, suggestions: suggestions.map((s) => ({ change: s.change, peak_bytes_per_gpu: s.estimate.peakBytesPerGpu })) } : {}),
            notes: estimate.notes,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      const b = estimate.breakdown;
      io.stdout(`${model.id} ${method}: ≈ ${formatGiB(estimate.peakBytesPerGpu)} per GPU\n`);
      io.stdout(`  weights ${formatGiB(b.weights)}, gradients ${formatGiB(b.gradients)}, optimizer ${formatGiB(b.optimizer)}, activations ${formatGiB(b.activations)}, overhead ${formatGiB(b.overhead)}\n`);
      io.stdout(`  ${(estimate.trainableParams / 1e6).toFixed(1)}M of ${(estimate.totalParams / 1e6).toFixed(0)}M parameters train\n`);
      for (const note of estimate.notes) io.stdout(`  note: ${note}\n`);
      if (gpuBytes !== undefined) {
        if (estimate.requiredBytesPerGpu <= gpuBytes) io.stdout(`  fits in ${formatGiB(gpuBytes)}\n`);
        else {
          io.stdout(`  does not fit in ${formatGiB(gpuBytes)}${suggestions.length ? '; would fit with:' : ' even with ZeRO-3 offload'}\n`);
          for (const s of suggestions) io.stdout(`    - ${s.change} (≈ ${formatGiB(s.estimate.peakBytesPerGpu)})\n`);
        }
      }
    }
    return ExitCode.Clean;
  },
};

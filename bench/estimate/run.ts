// npm run bench:estimate — compares the memory estimate with peaks measured on a GPU (bench/estimate/measured.json,
// produced by bench/estimate/measure.py) and with the public tables of domain.md E. Prints per-case error.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { lintDeepSpeedConfig } from '../../src/core/deepspeed/config';
import { estimateMemory, visionActivationBytes, type EstimateInput } from '../../src/core/estimate/estimate';
import { estimateSettingsFromDeepSpeed } from '../../src/core/estimate/zero';
import { lookupModel, paramCounts } from '../../src/core/estimate/models';

interface MeasuredCase {
  model: string;
  method: 'full' | 'lora';
  lora_r?: number;
  lora_targets?: string[];
  precision: 'bf16' | 'amp-bf16' | 'fp32';
  set?: 'calibration' | 'validation';
  seq: number;
  batch: number;
  grad_ckpt: boolean;
  params?: number;
  peak_bytes?: number;
  error?: string;
}

const root = path.resolve(__dirname, '..', '..', '..');
const measured = JSON.parse(readFileSync(path.join(root, 'bench', 'estimate', 'measured.json'), 'utf8')) as { meta: Record<string, string>; cases: MeasuredCase[] };
const shapes: Record<string, string> = {
  'qwen2-0.5b': 'Qwen/Qwen2-0.5B',
  'qwen2-1.5b': 'Qwen/Qwen2-1.5B',
  'llama-1.1b': 'TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T',
  'qwen2.5-3b': 'Qwen/Qwen2.5-3B',
  'qwen2.5-7b': 'Qwen/Qwen2.5-7B',
  'openllama-3b': 'openlm-research/open_llama_3b',
};
const GiB = 1024 ** 3;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

console.log(`Measured on ${measured.meta.device} (torch ${measured.meta.torch}, transformers ${measured.meta.transformers}); compared: estimate.allocatorPeakBytes vs torch.cuda.max_memory_allocated()`);
console.log('case'.padEnd(58), 'measured'.padStart(10), 'estimate'.padStart(10), 'error'.padStart(8));
const errors: Record<string, number[]> = { calibration: [], validation: [] };
for (const c of measured.cases) {
  if (c.peak_bytes === undefined) {
    console.log(`${c.model} ${c.method}: not measured (${c.error})`);
    continue;
  }
  const model = lookupModel(shapes[c.model])!;
  const params = paramCounts(model).total;
  if (c.params && Math.abs(params - c.params) / c.params > 0.01) throw new Error(`${c.model}: table has ${params} parameters, the measured model ${c.params}`);
  const input: EstimateInput = {
    model,
    method: c.method,
    loraRank: c.lora_r,
    loraTargets: c.lora_targets,
    precision: c.precision === 'amp-bf16' ? 'amp' : c.precision,
    optimizer: 'adamw',
    seqLen: c.seq,
    microBatch: c.batch,
    gradientCheckpointing: c.grad_ckpt,
  };
  const estimate = estimateMemory(input).allocatorPeakBytes;
  const error = (estimate - c.peak_bytes) / c.peak_bytes;
  errors[c.set ?? 'calibration'].push(error);
  const name = `${c.set === 'validation' ? '[held-out] ' : ''}${c.model} ${c.method}${c.lora_r ? ` r${c.lora_r}x${c.lora_targets?.length}` : ''} ${c.precision} seq${c.seq} b${c.batch}${c.grad_ckpt ? ' ckpt' : ''}`;
  console.log(name.padEnd(58), `${(c.peak_bytes / GiB).toFixed(2)}G`.padStart(10), `${(estimate / GiB).toFixed(2)}G`.padStart(10), pct(error).padStart(8));
}
function summary(label: string, list: number[]): void {
  const abs = list.map(Math.abs).sort((x, y) => x - y);
  if (!abs.length) return;
  const median = abs.length % 2 ? abs[(abs.length - 1) / 2] : (abs[abs.length / 2 - 1] + abs[abs.length / 2]) / 2;
  const worst = list.reduce((w, e) => (Math.abs(e) > Math.abs(w) ? e : w), 0);
  console.log(`${label}: ${list.length} cases, median |error| ${(median * 100).toFixed(1)}%, worst ${pct(worst)}, within ±20%: ${abs.filter((e) => e <= 0.2).length}/${abs.length}`);
}
// The vision encoder alone (bench/estimate/measure_vision.py): weights, AdamW states and gradients in bf16 as the
// script trains it, plus the activation term the estimator uses for MiniCPM-V's vpm.
const vision = JSON.parse(readFileSync(path.join(root, 'bench', 'estimate', 'vision.json'), 'utf8')) as {
  device: string;
  cases: { slices: number; grad_ckpt?: boolean; frozen?: boolean; params: number; peak_bytes: number }[];
};
const siglip = { hiddenSize: 1152, numLayers: 27, patchesPerSlice: 1024 };
const visionErrors: number[] = [];
console.log(`\nVision encoder alone (SigLIP-400M shape, ${vision.device}):`);
for (const c of vision.cases) {
  const trained = !c.frozen;
  const states = trained ? c.params * 2 * 2 : 0; // AdamW exp_avg + exp_avg_sq in the parameters' bf16
  const grads = trained ? c.params * 2 : 0;
  const acts = visionActivationBytes(siglip, c.slices, { trained, gradientCheckpointing: c.grad_ckpt === true });
  const estimate = c.params * 2 + states + Math.max(acts, grads);
  const error = (estimate - c.peak_bytes) / c.peak_bytes;
  visionErrors.push(error);
  const name = `siglip-400m ${trained ? 'trained' : 'frozen'} ${c.slices} slices${c.grad_ckpt ? ' ckpt' : ''}`;
  console.log(name.padEnd(58), `${(c.peak_bytes / GiB).toFixed(2)}G`.padStart(10), `${(estimate / GiB).toFixed(2)}G`.padStart(10), pct(error).padStart(8));
}

console.log('');
summary('vision encoder (constants fitted to these 4)', visionErrors);
summary('calibration (constants fitted to these)', errors.calibration);
summary('held-out validation', errors.validation);
summary('all', [...errors.calibration, ...errors.validation]);

// Public tables (domain.md E), bench/estimate/public.json: reported numbers are what nvidia-smi showed (CUDA context
// and allocator cache included), so they are compared with peakBytesPerGpu. Setups differ from ours (A100, older
// PyTorch/DeepSpeed, flash-attention 2 for Qwen, real images for MiniCPM-V). DeepSpeed settings come from the real
// configs in bench/estimate/configs/ through the same path a script's --deepspeed takes (estimateSettingsFromDeepSpeed).
interface PublicRow {
  table: string;
  model: string;
  method: 'full' | 'lora' | 'qlora';
  gpus: number;
  seq: number;
  batch: number;
  grad_ckpt: boolean;
  precision: 'bf16' | 'fp16';
  deepspeed_config: string | null;
  reported_gib?: number;
  reported_gb?: number;
  reported?: string;
  gpu_gib?: number;
}
const publicTable = JSON.parse(readFileSync(path.join(root, 'bench', 'estimate', 'public.json'), 'utf8')) as { source: string; rows: PublicRow[] };
function deepSpeedFor(name: string, hiddenSize: number) {
  const offload = name.endsWith('+offload');
  const file = path.join(root, 'bench', 'estimate', 'configs', name.replace(/\+offload$/, ''));
  const config = JSON.parse(readFileSync(file, 'utf8')) as { zero_optimization: Record<string, unknown> };
  // E.1: "offloading optimizer as well as parameters memory to cpu".
  if (offload) Object.assign(config.zero_optimization, { offload_optimizer: { device: 'cpu', pin_memory: true }, offload_param: { device: 'cpu', pin_memory: true } });
  return estimateSettingsFromDeepSpeed(lintDeepSpeedConfig(JSON.stringify(config)).facts!, hiddenSize);
}
console.log('\nPublic tables (bench/estimate/public.json: domain.md E, not measured by us), estimate.peakBytesPerGpu vs reported:');
const publicErrors: number[] = [];
const showBreakdown = process.argv.includes('--breakdown');
for (const row of publicTable.rows) {
  const model = lookupModel(row.model)!;
  const ds = row.deepspeed_config ? deepSpeedFor(row.deepspeed_config, model.hiddenSize) : undefined;
  const input: EstimateInput = {
    model,
    method: row.method,
    loraRank: 64,
    loraTargets: row.model.startsWith('Qwen/Qwen-') ? ['c_attn', 'c_proj', 'w1', 'w2'] : undefined,
    precision: row.precision,
    seqLen: row.seq,
    microBatch: row.batch,
    gradientCheckpointing: row.grad_ckpt,
    deepspeed: !!ds,
    zeroStage: ds?.zeroStage ?? 0,
    offload: ds?.offload ?? 'none',
    zero: ds?.zero,
    gpus: row.gpus,
    tuneVision: model.vision ? true : undefined,
    tuneLlm: row.method === 'full',
  };
  const e = estimateMemory(input);
  const name = `${row.table}: ${row.model.split('/')[1]} ${row.method} seq${row.seq} ${row.gpus} GPU${row.gpus > 1 ? 's' : ''}`;
  if (row.reported !== undefined) {
    const over = e.peakBytesPerGpu > (row.gpu_gib ?? 80) * GiB;
    console.log(name.padEnd(72), row.reported.padStart(14), `${(e.peakBytesPerGpu / GiB).toFixed(2)}G`.padStart(10), (over ? `> ${row.gpu_gib} GiB, agrees` : `< ${row.gpu_gib} GiB, DISAGREES`).padStart(8));
    continue;
  }
  const reported = row.reported_gib !== undefined ? row.reported_gib * GiB : row.reported_gb! * 1e9;
  const error = (e.peakBytesPerGpu - reported) / reported;
  publicErrors.push(error);
  console.log(name.padEnd(72), `${(reported / GiB).toFixed(2)}G`.padStart(14), `${(e.peakBytesPerGpu / GiB).toFixed(2)}G`.padStart(10), pct(error).padStart(8));
  if (showBreakdown) console.log('   ', Object.entries(e.breakdown).map(([k, v]) => `${k} ${(v / GiB).toFixed(2)}`).join(', '));
}
console.log('');
summary('public tables (domain.md E; not fitted)', publicErrors);
for (const table of [...new Set(publicTable.rows.map((r) => r.table))]) {
  const errs = publicTable.rows.flatMap((r) => (r.table === table && r.reported === undefined ? [publicErrors[publicTable.rows.filter((x) => x.reported === undefined).indexOf(r)]] : []));
  summary(`  ${table}`, errs);
}

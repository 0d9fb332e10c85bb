import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../../src/cli/main';
import { estimateMemory, suggestFits, type EstimateInput } from '../../../src/core/estimate/estimate';
import { estimateInputFromLaunch } from '../../../src/core/estimate/fromScript';
import { lookupModel, modelFromConfig, paramCounts } from '../../../src/core/estimate/models';
import { lintShellScript } from '../../../src/core/script/rules';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const GiB = 1024 ** 3;

interface MeasuredCase {
  model: string; method: 'full' | 'lora'; lora_r?: number; lora_targets?: string[]; precision: string;
  seq: number; batch: number; grad_ckpt: boolean; params?: number; peak_bytes?: number;
}

describe('memory estimate', () => {
  it('counts parameters of known shapes like the measured random-init models', () => {
    const measured = JSON.parse(readFileSync(path.join(root, 'bench', 'estimate', 'measured.json'), 'utf8')) as { cases: MeasuredCase[] };
    const ids: Record<string, string> = { 'qwen2-0.5b': 'Qwen/Qwen2-0.5B', 'qwen2-1.5b': 'Qwen/Qwen2-1.5B', 'qwen2.5-3b': 'Qwen/Qwen2.5-3B', 'qwen2.5-7b': 'Qwen/Qwen2.5-7B' };
    for (const c of measured.cases.filter((x) => ids[x.model] && x.params)) {
      const counted = paramCounts(lookupModel(ids[c.model])!).total;
      assert.ok(Math.abs(counted - c.params!) / c.params! < 0.001, `${c.model}: ${counted} vs ${c.params}`);
    }
  });

  it('stays within ±20% of every measured peak (calibration and held-out cases)', () => {
    const measured = JSON.parse(readFileSync(path.join(root, 'bench', 'estimate', 'measured.json'), 'utf8')) as { cases: MeasuredCase[] };
    const ids: Record<string, string> = { 'qwen2-0.5b': 'Qwen/Qwen2-0.5B', 'qwen2-1.5b': 'Qwen/Qwen2-1.5B', 'llama-1.1b': 'TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T', 'qwen2.5-3b': 'Qwen/Qwen2.5-3B', 'qwen2.5-7b': 'Qwen/Qwen2.5-7B', 'openllama-3b': 'openlm-research/open_llama_3b' };
    let checked = 0;
    for (const c of measured.cases) {
      if (!c.peak_bytes) continue;
      const e = estimateMemory({ model: lookupModel(ids[c.model])!, method: c.method, loraRank: c.lora_r, loraTargets: c.lora_targets, precision: c.precision === 'amp-bf16' ? 'amp' : (c.precision as 'bf16'), seqLen: c.seq, microBatch: c.batch, gradientCheckpointing: c.grad_ckpt });
      const error = (e.allocatorPeakBytes - c.peak_bytes) / c.peak_bytes;
      assert.ok(Math.abs(error) <= 0.2, `${c.model} ${c.method} seq${c.seq}: ${(error * 100).toFixed(1)}%`);
      checked++;
    }
    assert.ok(checked >= 30);
  });

  it('breakdown adds up; ZeRO, offload, LoRA and checkpointing lower the peak in the expected places', () => {
    const model = lookupModel('Qwen/Qwen2.5-7B-Instruct')!;
    const base: EstimateInput = { model, method: 'full', precision: 'bf16', seqLen: 2048, deepspeed: true, zeroStage: 0, gpus: 8 };
    const e0 = estimateMemory(base);
    const b = e0.breakdown;
    assert.equal(b.weights + b.gradients + b.optimizer + b.activations + b.overhead, e0.peakBytesPerGpu);
    const e2 = estimateMemory({ ...base, zeroStage: 2 });
    assert.ok(e2.breakdown.optimizer < e0.breakdown.optimizer / 7 && e2.breakdown.gradients < e0.breakdown.gradients / 7);
    assert.equal(e2.breakdown.weights, e0.breakdown.weights);
    const e3 = estimateMemory({ ...base, zeroStage: 3 });
    assert.ok(e3.breakdown.weights < e0.breakdown.weights / 7);
    assert.equal(estimateMemory({ ...base, zeroStage: 2, offload: 'optimizer' }).breakdown.optimizer, 0);
    const lora = estimateMemory({ ...base, method: 'lora', loraRank: 16 });
    assert.ok(lora.trainableParams < 0.01 * e0.trainableParams && lora.peakBytesPerGpu < e0.peakBytesPerGpu / 3);
    const long = { ...base, method: 'lora' as const, seqLen: 8192 };
    assert.ok(estimateMemory({ ...long, gradientCheckpointing: true }).breakdown.activations < estimateMemory(long).breakdown.activations / 2);
    assert.ok(estimateMemory({ ...base, method: 'qlora' }).breakdown.weights < e0.breakdown.weights / 2.5);
  });

  it('vision models: image slices and tune_vision change activations; MiniCPM-V LoRA trains embed_tokens + resampler', () => {
    const model = lookupModel('openbmb/MiniCPM-V-2_6')!;
    assert.ok(Math.abs(paramCounts(model).total / 1e9 - 8.1) < 0.2);
    const input: EstimateInput = { model, method: 'lora', precision: 'bf16', seqLen: 2048, gradientCheckpointing: true, tuneVision: true };
    const frozen = estimateMemory({ ...input, tuneVision: false });
    const tuned = estimateMemory(input);
    assert.ok(tuned.trainableParams - frozen.trainableParams > 3e8, 'vpm joins modules_to_save');
    assert.ok(frozen.trainableParams > paramCounts(model).embedding);
    assert.ok(estimateMemory({ ...input, slicesPerImage: 2 }).breakdown.activations < tuned.breakdown.activations);
    assert.equal(lookupModel('openbmb/MiniCPM-V-2_6-int4')?.quantized, 'int4');
  });

  it('reads shapes from config.json, including nested text_config and Qwen-1 intermediate sizes', () => {
    const m = modelFromConfig({ model_type: 'qwen2_vl', text_config: { hidden_size: 1536, num_hidden_layers: 28, vocab_size: 151936, intermediate_size: 8960, num_attention_heads: 12, num_key_value_heads: 2, tie_word_embeddings: true }, vision_config: { hidden_size: 1280, depth: 32, patch_size: 14, spatial_merge_size: 2, image_size: 448 } });
    assert.equal(m.hiddenSize, 1536);
    assert.equal(m.vision?.tokensPerSlice, 256);
    assert.equal(modelFromConfig({ model_type: 'qwen', hidden_size: 4096, num_hidden_layers: 32, vocab_size: 151936, intermediate_size: 22016 }).intermediateSize, 11008);
    assert.throws(() => modelFromConfig({ model_type: 'x' }), /hidden_size/);
  });

  it('suggests changes in the FAQ order that make a configuration fit', () => {
    const model = lookupModel('openbmb/MiniCPM-V-2_6')!;
    const input: EstimateInput = { model, method: 'full', precision: 'bf16', seqLen: 2048, gradientCheckpointing: true, deepspeed: true, zeroStage: 2, gpus: 2 };
    const gpu = 40 * GiB;
    assert.ok(estimateMemory(input).peakBytesPerGpu > gpu);
    const fits = suggestFits(input, gpu);
    assert.ok(fits.length > 0);
    for (const s of fits) assert.ok(s.estimate.peakBytesPerGpu <= gpu);
    const order = ['model_max_length', 'batch', 'max_slice', 'tune_vision', 'use_lora', 'gradient_checkpointing', 'ZeRO-2', 'ZeRO-3'];
    const ranks = fits.map((s) => order.findIndex((k) => s.change.includes(k)));
    assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b));
  });

  it('builds the estimate input from the example script and its DeepSpeed config', async () => {
    const example = path.join(root, 'examples', 'minicpm-v-lora');
    const result = await lintShellScript(readFileSync(path.join(example, 'finetune_lora.sh'), 'utf8'), { launchDir: example });
    const { input } = estimateInputFromLaunch(result.launches[0], example);
    assert.ok(input);
    assert.equal(input.model.id, 'openbmb/MiniCPM-V-2_6');
    assert.deepEqual([input.method, input.precision, input.zeroStage, input.gpus, input.seqLen, input.microBatch, input.gradientCheckpointing, input.tuneVision, input.slicesPerImage], ['lora', 'fp16', 2, 8, 2048, 1, true, true, 10]);
    assert.deepEqual(input.loraTargets, ['q_proj', 'k_proj', 'v_proj', 'o_proj']);
  });

  it('ftw estimate prints JSON with peak_bytes_per_gpu and a breakdown, and rejects bad usage', async () => {
    let out = '';
    let err = '';
    const io = { stdout: (t: string) => (out += t), stderr: (t: string) => (err += t), cwd: root };
    assert.equal(await runCli(['estimate', '--config', 'Qwen/Qwen2-0.5B', '--method', 'lora', '--lora-r', '16', '--seq', '2048', '--grad-ckpt', '--json'], io), 0);
    const json = JSON.parse(out) as { peak_bytes_per_gpu: number; breakdown: Record<string, number> };
    assert.deepEqual(Object.keys(json.breakdown), ['weights', 'gradients', 'optimizer', 'activations', 'overhead']);
    assert.ok(json.peak_bytes_per_gpu > 4 * GiB && json.peak_bytes_per_gpu < 7 * GiB);
    assert.equal(await runCli(['estimate', '--config', 'no/such-model', '--method', 'lora'], io), 2);
    assert.match(err, /built-in table/);
    assert.equal(await runCli(['estimate', '--config', 'Qwen/Qwen2-0.5B', '--method', 'dora'], io), 2);
  });
});

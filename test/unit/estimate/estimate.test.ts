import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../../src/cli/main';
import { estimateMemory, suggestFits, type EstimateInput } from '../../../src/core/estimate/estimate';
import { estimateInputFromLaunch } from '../../../src/core/estimate/fromScript';
import { lookupModel, modelFromConfig, paramCounts } from '../../../src/core/estimate/models';
import { zeroSettingsFromDeepSpeed } from '../../../src/core/estimate/zero';
import { lintDeepSpeedConfig } from '../../../src/core/deepspeed/config';
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
    // ZeRO-2's shown gradients include the step's flat 16-bit + fp32 copies of this rank's partition (8 bytes/param/GPU).
    assert.ok(e2.breakdown.optimizer < e0.breakdown.optimizer / 7 && e2.breakdown.gradients < e0.breakdown.gradients / 5);
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

  it('Qwen-1 (loss of 16-bit logits, no upcast) under DeepSpeed fp16: 8 instead of 12 bytes per token and vocabulary entry; unchanged with autocast or for other models', () => {
    const qwen1 = lookupModel('Qwen/Qwen-7B-Chat-Int4')!;
    assert.equal(qwen1.halfPrecisionLoss, true);
    assert.equal(modelFromConfig({ model_type: 'qwen', hidden_size: 4096, num_hidden_layers: 32, vocab_size: 151936, intermediate_size: 22016 }).halfPrecisionLoss, true);
    assert.equal(lookupModel('Qwen/Qwen2.5-7B')!.halfPrecisionLoss, undefined);
    const base: EstimateInput = { model: qwen1, method: 'qlora', loraRank: 64, seqLen: 8192, microBatch: 1, precision: 'fp16', gradientCheckpointing: true, gpus: 1 };
    const tokensTimesVocab = 8192 * qwen1.vocabSize;
    const withDeepSpeed = estimateMemory({ ...base, deepspeed: true, zeroStage: 2 });
    const withoutDeepSpeed = estimateMemory(base);
    // The logits term is the largest activation here; the other terms are the same with and without the flag.
    const asUpcast = estimateMemory({ ...base, deepspeed: true, zeroStage: 2, model: { ...qwen1, halfPrecisionLoss: false } });
    assert.equal(asUpcast.breakdown.activations - withDeepSpeed.breakdown.activations, 4 * tokensTimesVocab);
    assert.equal(estimateMemory({ ...base, model: { ...qwen1, halfPrecisionLoss: false } }).allocatorPeakBytes, withoutDeepSpeed.allocatorPeakBytes, 'autocast (no DeepSpeed): log-softmax in fp32 as before');
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
    // ds_config_zero2.json: reduce_bucket_size 2e8, overlap_comm and contiguous_gradients true.
    assert.equal(input.zero?.reduceBucketSize, 2e8);
    assert.equal(input.zero?.overlapComm, true);
    assert.equal(input.zero?.contiguousGradients, true);
  });

  it('reads ZeRO settings from a DeepSpeed config and fills "auto" as the HF Trainer does (hidden², 0.9·hidden², 10·hidden)', () => {
    const zero3 = readFileSync(path.join(root, 'bench', 'estimate', 'configs', 'minicpmv_ds_config_zero3.json'), 'utf8');
    const z3 = zeroSettingsFromDeepSpeed(lintDeepSpeedConfig(zero3).facts!, 4096);
    assert.deepEqual(
      [z3.reduceBucketSize, z3.prefetchBucketSize, z3.paramPersistenceThreshold, z3.maxLiveParameters, z3.maxReuseDistance, z3.subGroupSize, z3.overlapComm],
      [4096 ** 2, Math.floor(0.9 * 4096 ** 2), 40960, 1e9, 1e9, 1e9, true],
    );
    const z2 = zeroSettingsFromDeepSpeed(lintDeepSpeedConfig('{"zero_optimization": {"stage": 2, "reduce_bucket_size": "auto", "stage3_prefetch_bucket_size": "auto"}}').facts!, 1024);
    assert.equal(z2.reduceBucketSize, 1024 ** 2);
    assert.equal(z2.prefetchBucketSize, undefined, 'HF fills the stage-3 keys only for stage 3');
    assert.equal(zeroSettingsFromDeepSpeed(lintDeepSpeedConfig('{"zero_optimization": {"stage": 2}}').facts!, 1024).reduceBucketSize, undefined, 'absent: DeepSpeed default');
  });

  it('ZeRO-1/2 bucket sizes change the peak by the ipg buffers DeepSpeed allocates (×2 with overlap_comm)', () => {
    // LoRA: the backward pass is the peak, where the ipg buffers live.
    const base: EstimateInput = { model: lookupModel('Qwen/Qwen2.5-7B')!, method: 'lora', loraRank: 16, precision: 'bf16', seqLen: 2048, gradientCheckpointing: true, deepspeed: true, zeroStage: 2, gpus: 4 };
    const at = (zero: EstimateInput['zero']) => estimateMemory({ ...base, zero }).allocatorPeakBytes;
    assert.equal(at({ reduceBucketSize: 5e8, overlapComm: true }) - at({ reduceBucketSize: 2e8, overlapComm: true }), 3e8 * 2 * 2);
    assert.equal(at({ reduceBucketSize: 5e8, overlapComm: false }) - at({ reduceBucketSize: 2e8, overlapComm: false }), 3e8 * 2);
    assert.equal(at({ reduceBucketSize: 5e8, overlapComm: true }) - at({ reduceBucketSize: 5e8, overlapComm: true, contiguousGradients: false }), 5e8 * 2 * 2);
    assert.equal(at(undefined), at({ reduceBucketSize: 5e8, overlapComm: false }), "DeepSpeed's defaults: 5e8, overlap_comm off below stage 3");
    assert.equal(at({ allgatherBucketSize: 5e8 }), at({ allgatherBucketSize: 2e8 }), 'all_gather_into_tensor needs no bucket');
  });

  it('ZeRO-1/2 step: the flat 16-bit copy and its fp32 conversion of the gradient partition (6 bytes/param/GPU)', () => {
    const model = lookupModel('Qwen/Qwen2.5-7B')!;
    const input: EstimateInput = { model, method: 'full', precision: 'bf16', seqLen: 512, gradientCheckpointing: true, deepspeed: true, zeroStage: 2, gpus: 2 };
    const e = estimateMemory(input);
    const trainable = e.trainableParams;
    // Step peak: 16-bit weights + 12 bytes of master and Adam + 2 bytes of gradient partition + 6 bytes of step copies.
    assert.equal(e.allocatorPeakBytes, Math.round(paramCounts(model).total * 2 + (trainable / 2) * (12 + 2 + 6)));
    assert.equal(estimateMemory({ ...input, offload: 'optimizer' }).breakdown.optimizer, 0);
    assert.ok(estimateMemory({ ...input, offload: 'optimizer' }).allocatorPeakBytes < paramCounts(model).total * 2 + 4 * GiB, 'offload: the step runs on the CPU');
  });

  it('ZeRO-1/2 full fine-tuning: the nvidia-smi peak keeps blocks freed by backward cached; fit checks use what is required', () => {
    const input: EstimateInput = { model: lookupModel('openbmb/MiniCPM-Llama3-V-2_5')!, method: 'full', precision: 'bf16', seqLen: 2048, gradientCheckpointing: true, deepspeed: true, zeroStage: 2, gpus: 4, zero: { reduceBucketSize: 2e8, overlapComm: true } };
    const e = estimateMemory(input);
    assert.equal(e.requiredBytesPerGpu, Math.round(e.allocatorPeakBytes * 1.05 + 0.5 * GiB));
    // The step's fp32 gradient partition (4 bytes × 8.5e9 / 4) is larger than any freed block, so both show.
    assert.ok(e.peakBytesPerGpu - e.requiredBytesPerGpu > 4 * GiB, `${e.peakBytesPerGpu - e.requiredBytesPerGpu}`);
    const lora = estimateMemory({ ...input, method: 'lora', gpus: 2 });
    assert.ok(lora.peakBytesPerGpu > lora.requiredBytesPerGpu, 'LoRA here still trains ~1e9 parameters (embed_tokens, vpm, resampler)');
    const small = estimateMemory({ ...input, model: lookupModel('Qwen/Qwen2.5-7B')!, method: 'lora', loraRank: 16 });
    assert.equal(small.peakBytesPerGpu, small.requiredBytesPerGpu, 'small step copies reuse cached blocks');
  });

  it('ftw estimate --gpu-memory between what is required and the nvidia-smi peak: fits', async () => {
    const input: EstimateInput = { model: lookupModel('openbmb/MiniCPM-Llama3-V-2_5')!, method: 'full', precision: 'bf16', seqLen: 2048, gradientCheckpointing: true, deepspeed: true, zeroStage: 2, gpus: 4, zero: { reduceBucketSize: 2e8, overlapComm: true } };
    const e = estimateMemory(input);
    let out = '';
    const io = { stdout: (t: string) => (out += t), stderr: () => undefined, cwd: root };
    const run = async (gib: number) => {
      out = '';
      const args = ['estimate', '--config', 'openbmb/MiniCPM-Llama3-V-2_5', '--method', 'full', '--grad-ckpt', '--gpus', '4', '--deepspeed', 'bench/estimate/configs/minicpmv_ds_config_zero2.json', '--gpu-memory', String(gib), '--json'];
      assert.equal(await runCli(args, io), 0);
      return JSON.parse(out) as { fits: boolean; peak_bytes_per_gpu: number; required_bytes_per_gpu: number };
    };
    const between = await run((e.peakBytesPerGpu + e.requiredBytesPerGpu) / 2 / GiB);
    assert.deepEqual([between.peak_bytes_per_gpu, between.required_bytes_per_gpu, between.fits], [e.peakBytesPerGpu, e.requiredBytesPerGpu, true]);
    assert.equal((await run(e.requiredBytesPerGpu / GiB - 1)).fits, false);
  });

  it('ZeRO-3: gathered parameters follow max_live / max_reuse / prefetch; persistence threshold and offload_param set resident weights', () => {
    const model = lookupModel('Qwen/Qwen2.5-7B')!;
    const p = paramCounts(model);
    const base: EstimateInput = { model, method: 'lora', loraRank: 16, precision: 'bf16', seqLen: 2048, gradientCheckpointing: true, deepspeed: true, zeroStage: 3, offload: 'all', gpus: 8 };
    const at = (zero: EstimateInput['zero']) => estimateMemory({ ...base, zero }).allocatorPeakBytes;
    const z = { reduceBucketSize: 4e6, prefetchBucketSize: 1e7, maxLiveParameters: 1e9, maxReuseDistance: 1e9, paramPersistenceThreshold: 1e5 };
    assert.equal(at({ ...z, maxLiveParameters: 2e9, maxReuseDistance: 2e9 }) - at(z), 1e9 * 2);
    assert.equal(at({ ...z, prefetchBucketSize: 1e8 }) - at(z), 9e7 * 2);
    // Without reuse, the largest module (the embedding table) plus the prefetch is what stays gathered.
    assert.equal(at({ ...z, maxReuseDistance: 0 }) - at(z), (p.embedding - 1e9) * 2);
    assert.equal(at({ ...z, reduceBucketSize: 5e7 }) - at(z), (5e7 - 4e6) * 2, 'one ipg bucket in stage 3');
    const resident = (o: EstimateInput['offload'], threshold: number) => estimateMemory({ ...base, offload: o, zero: { ...z, paramPersistenceThreshold: threshold } }).breakdown.weights;
    const lora = estimateMemory(base).trainableParams * 4; // adapters, fp32, whole on every GPU
    assert.equal(resident('all', 1e5), Math.round(p.other * 2 + lora), 'offload_param: the persistent norm weights stay');
    assert.equal(resident('all', 100), Math.round(lora));
    assert.equal(resident('optimizer', 1e5), Math.round(p.other * 2 + lora + ((p.total - p.other) * 2) / 8), "offload_optimizer only: this rank's partition too");
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
    // --deepspeed: stage, overlap_comm and the 2e8 buckets of MiniCPM-V's ds_config_zero2.json, vs DeepSpeed's defaults.
    const peak = async (...extra: string[]) => {
      out = '';
      assert.equal(await runCli(['estimate', '--config', 'Qwen/Qwen2.5-7B', '--method', 'lora', '--lora-r', '16', '--grad-ckpt', '--gpus', '4', '--json', ...extra], io), 0);
      return (JSON.parse(out) as { allocator_peak_bytes: number }).allocator_peak_bytes;
    };
    assert.equal((await peak('--zero', '2')) - (await peak('--deepspeed', 'bench/estimate/configs/minicpmv_ds_config_zero2.json')), 5e8 * 2 - 2 * 2e8 * 2);
    assert.equal(await runCli(['estimate', '--config', 'Qwen/Qwen2.5-7B', '--method', 'lora', '--deepspeed', 'no/such.json'], io), 2);
  });
});

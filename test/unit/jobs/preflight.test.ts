import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseGpuProbe } from '../../../src/core/jobs/gpuProbe';
import { chosenGpus, formatPreflight, runPreflight } from '../../../src/core/jobs/preflight';
import { realFixturesDir, repoRoot } from '../../harness/shared';

const h100Probe = parseGpuProbe(`${readFileSync(path.join(realFixturesDir, 'nvidia-smi', 'nvidia-smi-query.csv'), 'utf8')}@@ftw-status 0\n@@ftw-transformers\n4.51.2\n`);
const example = path.join(repoRoot, 'examples', 'minicpm-v-lora');

function workspace(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-preflight-'));
  cpSync(example, dir, { recursive: true });
  return dir;
}

describe('preflight', () => {
  it('on the example workspace with the probed H100: script findings, dataset details at their lines, estimate, blocked', async () => {
    const ws = workspace();
    const script = path.join(ws, 'finetune_lora.sh');
    const result = await runPreflight({ scriptPath: script, gpus: h100Probe.gpus, transformersVersion: h100Probe.transformersVersion, gpuSource: 'probe of local' });
    assert.equal(result.verdict, 'blocked');
    assert.equal(result.gpu?.name, 'NVIDIA H100 80GB HBM3');
    const rules = result.findings.filter((f) => f.file === script).map((f) => `${f.rule}@${f.range.start.line + 1}`);
    // GPUS_PER_NODE=8 on a one-GPU target, broken samples in both datasets, the wrong LLM_TYPE.
    for (const expected of ['SCRIPT-GPUS@4', 'SCRIPT-DATASET@14', 'SCRIPT-DATASET@15', 'SCRIPT-LLMTYPE@16', 'SCRIPT-FP16-NAN@37']) assert.ok(rules.includes(expected), `${expected} in ${rules.join(' ')}`);
    const gpus = result.findings.find((f) => f.rule === 'SCRIPT-GPUS')!;
    assert.match(gpus.message, /8 processes per node, but the target has 1 GPU\(s\) \(probe of local\)/);
    const dataDetail = result.findings.find((f) => f.file === path.join(ws, 'data', 'train.json'));
    assert.equal(dataDetail?.rule, 'DS-IMG-FILE');
    assert.equal(dataDetail?.range.start.line, 3);
    assert.equal(result.estimates.length, 1);
    const [estimate] = result.estimates;
    assert.equal(estimate.range.start.line, 26, 'the torchrun line');
    assert.ok(estimate.peakBytesPerGpu! > 10 * 1024 ** 3, String(estimate.peakBytesPerGpu));
    assert.equal(estimate.availableBytesPerGpu, 81076 * 1024 ** 2, 'free memory of the probed GPU');
    assert.equal(estimate.availableKind, 'free');
    assert.equal(estimate.fits, true);
    assert.equal(result.errorCount, result.findings.filter((f) => f.file === script && f.severity === 'error').length);
    const text = formatPreflight(result, ws).join('\n');
    assert.match(text, /^finetune_lora\.sh:4:\d+ error SCRIPT-GPUS/m);
    assert.match(text, /^data\/train\.json:4:\d+ error DS-IMG-FILE/m);
    assert.match(text, /memory estimate ≈ [\d.]+ GiB per GPU of 79\.2 GiB free — fits/);
    assert.match(text, /preflight: blocked \(\d+ error\(s\)/);
  });

  it('uses the gpu.default facts when nothing was probed, and a too-small GPU is a blocking memory finding with a fix', async () => {
    const ws = workspace();
    const result = await runPreflight({ scriptPath: path.join(ws, 'finetune_lora.sh'), fallbackGpu: { name: 'NVIDIA GeForce RTX 3060', memoryGiB: 8, computeCapability: '8.6', count: 8 } });
    assert.equal(result.gpuSource, 'gpu.default setting');
    assert.ok(!result.findings.some((f) => f.rule === 'SCRIPT-GPUS'), '8 GPUs: GPUS_PER_NODE=8 is fine');
    const memory = result.findings.find((f) => f.rule === 'PREFLIGHT-MEMORY');
    assert.equal(memory?.severity, 'error');
    assert.match(memory!.message, /8\.0 GiB in total: expect "CUDA out of memory"\. Would fit with: /);
    assert.equal(result.estimates[0].fits, false);
    assert.equal(result.estimates[0].availableKind, 'total');
  });

  it('GPU rules for the chosen GPUs: bf16 and flash-attention before compute capability 8.0; a clean script on an H100 is ok', async () => {
    const dir = workspace();
    // The real H100 row with a V100's name and capability: the driver output format is the fixture's, only the card differs.
    const v100 = parseGpuProbe(
      `0, GPU-0, Tesla V100-SXM2-32GB, 32768, 10, 32758, 0, 30, 7.0\n1, GPU-1, Tesla V100-SXM2-32GB, 32768, 10, 32758, 0, 30, 7.0\n@@ftw-status 0\n@@ftw-transformers\n4.51.2\n`,
    );
    writeFileSync(
      path.join(dir, 'qwen.sh'),
      '#!/bin/bash\nGPUS_PER_NODE=2\ntorchrun --nproc_per_node $GPUS_PER_NODE finetune.py \\\n  --model_name_or_path Qwen/Qwen2-VL-2B-Instruct \\\n  --bf16 true \\\n  --attn_implementation flash_attention_2 \\\n  --output_dir out\n',
    );
    writeFileSync(path.join(dir, 'finetune.py'), 'print(1)\n');
    const onV100 = await runPreflight({ scriptPath: path.join(dir, 'qwen.sh'), gpus: chosenGpus(v100.gpus, [1]), transformersVersion: v100.transformersVersion });
    const byRule = new Map(onV100.findings.map((f) => [f.rule, f]));
    assert.equal(byRule.get('SCRIPT-PRECISION')?.severity, 'error');
    assert.equal(byRule.get('SCRIPT-PRECISION')?.range.start.line, 4);
    assert.ok(byRule.has('SCRIPT-FLASHATTN'));
    assert.match(byRule.get('SCRIPT-GPUS')?.message ?? '', /2 processes per node, but the target has 1 GPU/);
    assert.equal(onV100.verdict, 'blocked');
    const onH100 = await runPreflight({ scriptPath: path.join(dir, 'qwen.sh'), gpus: [{ ...h100Probe.gpus[0] }, { ...h100Probe.gpus[0], index: 1 }], transformersVersion: '4.51.2' });
    assert.deepEqual(onH100.findings.filter((f) => f.severity === 'error'), []);
    assert.notEqual(onH100.verdict, 'blocked');
  });

  it('an unreadable script blocks with a clear message', async () => {
    const result = await runPreflight({ scriptPath: path.join(os.tmpdir(), 'no-such-dir-ftw', 'x.sh') });
    assert.equal(result.verdict, 'blocked');
    assert.match(result.findings[0].message, /cannot read the script/);
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { capabilityAtLeast, capabilityFromName, gpuFactsFrom, parseGpuQueryCsv } from '../../../src/core/gpu/nvidiaSmi';

const real = path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'fixtures', 'real', 'nvidia-smi');

describe('nvidia-smi parsing (real outputs)', () => {
  it('parses the noheader,nounits query of the H100 machine', () => {
    const gpus = parseGpuQueryCsv(readFileSync(path.join(real, 'nvidia-smi-query.csv'), 'utf8'));
    assert.equal(gpus.length, 1);
    assert.equal(gpus[0].name, 'NVIDIA H100 80GB HBM3');
    assert.equal(gpus[0].memoryTotalMiB, 81559);
    assert.equal(gpus[0].memoryFreeMiB, 81076);
    assert.equal(gpus[0].computeCapability, '9.0');
    const facts = gpuFactsFrom(gpus)!;
    assert.equal(facts.count, 1);
    assert.equal(facts.memoryGiB, 79.6);
    assert.ok(capabilityAtLeast(facts, 8, 0));
  });

  it('parses the CSV with a header and units, taking columns from the header', () => {
    const gpus = parseGpuQueryCsv(readFileSync(path.join(real, 'nvidia-smi-query-header.csv'), 'utf8'));
    assert.deepEqual(gpus.map((g) => [g.index, g.name, g.memoryTotalMiB, g.memoryUsedMiB]), [[0, 'NVIDIA H100 80GB HBM3', 81559, 4]]);
    assert.equal(gpuFactsFrom(gpus)?.computeCapability, '9.0', 'capability from the product name when not queried');
  });

  it('reads several GPUs, pre-Ampere capabilities, and ignores empty output', () => {
    const text = '0, GPU-a, Tesla V100-SXM2-32GB, 32768, 0, 32768, 0, 30, 7.0\n1, GPU-b, Tesla V100-SXM2-32GB, 32768, 0, 32768, 0, 31, 7.0\n';
    const facts = gpuFactsFrom(parseGpuQueryCsv(text))!;
    assert.equal(facts.count, 2);
    assert.equal(capabilityAtLeast(facts, 8, 0), false);
    assert.deepEqual(parseGpuQueryCsv(readFileSync(path.join(real, 'nvidia-smi-apps.csv'), 'utf8')), []);
    assert.equal(capabilityFromName('Tesla T4'), '7.5');
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { lintDatasetFile, type DatasetLintResult } from '../../src/core/dataset/lint';
import { lintDatasetFileParallel } from '../../src/core/dataset/parallel';
import { sharedDir } from '../harness/shared';

const root = path.resolve(__dirname, '..', '..', '..');
const workerScript = path.join(root, 'dist', 'workers', 'datasetCheck.js');
const generator = path.join(sharedDir, 'bench', 'gen-dataset.mjs');

/** A faulty generated dataset (1 500 samples, 5% injected faults), with half of its images present. */
function generated(extra: string[] = []): { file: string; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-par-'));
  const file = path.join(dir, 'data.json');
  const run = spawnSync(process.execPath, [generator, '--samples', '1500', '--out', file, '--seed', '7', '--faults', '0.05', '--truth', path.join(dir, 't.jsonl'), ...extra]);
  assert.equal(run.status, 0, String(run.stderr));
  mkdirSync(path.join(dir, 'images'));
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);
  for (let n = 0; n < 1500; n += 2) for (const s of ['', '_a', '_b']) writeFileSync(path.join(dir, 'images', `${n}${s}.jpg`), jpeg);
  writeFileSync(path.join(dir, 'images', '1.jpg'), 'not an image');
  return { file, dir };
}

function summary(r: DatasetLintResult) {
  return { format: r.format, detected: r.detected, container: r.container, samples: r.samples, findings: r.findings };
}

describe('dataset lint on two threads', () => {
  for (const pretty of [true, false]) {
    it(`finds exactly what the one-thread lint finds (${pretty ? 'pretty' : 'compact'}), whichever thread parses`, async () => {
      const { file } = generated(pretty ? ['--pretty'] : []);
      const serial = await lintDatasetFile(file);
      // The check can fail: there are findings of many rules, media ones included.
      const rules = new Set(serial.findings.map((f) => f.rule));
      for (const rule of ['DS-IMG-FILE', 'DS-DUP-ID', 'DS-ROLE-VALUES', 'DS-SCHEMA']) assert.ok(rules.has(rule), `${rule} in ${[...rules].join(', ')}`);
      for (const share of ['always', 'never', 'auto'] as const) {
        const parallel = await lintDatasetFileParallel(file, workerScript, {}, { chunkBytes: 64 * 1024, share });
        assert.deepEqual(summary(parallel), summary(serial), `share=${share}`);
      }
    });
  }

  it('keeps structure problems, pseudo-JSON, other formats and options the same', async () => {
    const { file, dir } = generated(['--pretty']);
    const text = readFileSync(file, 'utf8');
    // A missing comma between two samples, a README-style sample and a truncated end.
    const broken = text.replace('},\n{', '}\n{').replace('"id": "40"', "'id': '40'").slice(0, -40);
    const brokenFile = path.join(dir, 'broken.json');
    writeFileSync(brokenFile, broken);
    const jsonl = path.join(dir, 'data.jsonl');
    writeFileSync(jsonl, `${JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: '' }] })}\n`.repeat(300));
    for (const [target, options] of [
      [brokenFile, {}],
      [file, { modelMaxLength: 50 }],
      [file, { checkMediaFiles: false }],
      [file, { format: 'qwenvl' }],
      [jsonl, {}],
    ] as const) {
      const serial = await lintDatasetFile(target, options);
      const parallel = await lintDatasetFileParallel(target, workerScript, options, { chunkBytes: 32 * 1024, share: 'always' });
      assert.deepEqual(summary(parallel), summary(serial), `${path.basename(target)} ${JSON.stringify(options)}`);
      assert.ok(serial.findings.length > 0);
    }
  });
});

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CurvesReaderClient } from '../../../src/features/curves/readerClient';

const root = path.resolve(__dirname, '..', '..', '..', '..');

describe('curves reader worker (dist/workers/curvesReader.js)', () => {
  const warnings: string[] = [];
  const client = new CurvesReaderClient(path.join(root, 'dist', 'workers', 'curvesReader.js'), (m) => warnings.push(m), () => {});
  after(() => client.dispose());

  it('sends every point first, then only what was appended, then everything again after a reset', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-worker-'));
    const log = path.join(dir, 'trainer_log.jsonl');
    writeFileSync(log, '{"current_steps": 5, "loss": 2.0, "lr": 1e-4}\n{"current_steps": 10, "loss": 1.8, "lr": 1e-4}\n');
    const first = await client.refresh(dir, false);
    assert.equal(first.full, true);
    assert.equal(first.points, 4);
    const loss = first.chunks.find((c) => c.tag === 'train/loss')!;
    assert.deepEqual(Array.from(loss.steps), [5, 10]);
    const idle = await client.refresh(dir, false);
    assert.equal(idle.chunks.length, 0);
    appendFileSync(log, '{"current_steps": 15, "loss": 1.7, "lr": 9e-5}\n');
    const next = await client.refresh(dir, false);
    assert.equal(next.full, false);
    const appended = next.chunks.find((c) => c.tag === 'train/loss')!;
    // The last point the panel has is sent again (a repeated step may have replaced it), then the new one.
    assert.equal(appended.start, 1);
    assert.deepEqual(Array.from(appended.steps), [10, 15]);
    const again = await client.refresh(dir, true);
    assert.equal(again.full, true);
    assert.equal(again.points, 6);
    const csv = await client.exportCsv([dir], 0, 'loss');
    assert.equal(csv.trim().split('\n').length, 4);
  });

  it('reads the example run with its resume-free 264 points and reports damaged lines as warnings', async () => {
    const update = await client.refresh(path.join(root, 'examples/minicpm-v-lora/output/lora_run'), false);
    assert.equal(update.points, 264);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-worker-'));
    writeFileSync(path.join(dir, 'trainer_log.jsonl'), '{"current_steps": 5, "loss": 2.0}\nnot json\n');
    await client.refresh(dir, false);
    assert.ok(warnings.some((w) => /line 2 is not valid JSON/.test(w)), warnings.join('\n'));
  });
});

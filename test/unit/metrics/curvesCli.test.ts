import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../../src/cli/main';
import { smoothDebiasedEma } from '../../../src/core/metrics/smoothing';
import { realFixturesDir } from '../../harness/shared';
import { bufferIo } from '../../harness/cliIo';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const example = 'examples/minicpm-v-lora/output/lora_run';

describe('ftw curves', () => {
  it('prints the example run as CSV, tag-filtered and smoothed', async () => {
    const io = bufferIo(root);
    assert.equal(await runCli(['curves', example, '--csv', '--tag', '^train/loss$', '--smooth', '0.6'], io), 0, io.err);
    const lines = io.out.trim().split('\n');
    assert.equal(lines[0], 'run,tag,step,epoch,wall_time,value,smoothed');
    assert.equal(lines.length, 61);
    const rows = lines.slice(1).map((l) => l.split(','));
    assert.ok(rows.every((r) => r[0] === 'lora_run' && r[1] === 'train/loss'));
    assert.equal(rows[0][2], '5');
    assert.equal(rows[0][3], '0.02');
    const values = rows.map((r) => Number(r[5]));
    const smoothed = smoothDebiasedEma(values, 0.6);
    rows.forEach((r, i) => assert.ok(Math.abs(Number(r[6]) - smoothed[i]) < 1e-12));
  });

  it('prints JSON with the resume of the resumed run', async () => {
    const io = bufferIo(root);
    assert.equal(await runCli(['curves', path.join(realFixturesDir, 'hf-trainer-5.17-resumed'), '--json', '--tag', 'loss'], io), 0, io.err);
    const json = JSON.parse(io.out);
    assert.deepEqual(json.runs[0].resumes.map((r: { step: number }) => r.step), [485]);
    assert.deepEqual(json.runs[0].series.map((s: { tag: string }) => s.tag), ['eval/loss', 'train/loss']);
    assert.equal(json.runs[0].series[1].points.length, 240);
  });

  it('rejects bad usage with exit 2', async () => {
    for (const args of [['curves'], ['curves', example], ['curves', example, '--csv', '--json'], ['curves', example, '--csv', '--smooth', '1'], ['curves', example, '--csv', '--tag', '(']]) {
      const io = bufferIo(root);
      assert.equal(await runCli(args, io), 2, args.join(' '));
      assert.match(io.err, /Usage: ftw curves/);
    }
  });

  it('exits 2 naming a folder without metrics', async () => {
    const io = bufferIo(root);
    const empty = mkdtempSync(path.join(os.tmpdir(), 'ftw-empty-'));
    assert.equal(await runCli(['curves', empty, '--csv'], io), 2);
    assert.match(io.err, /no metrics files found/);
  });
});

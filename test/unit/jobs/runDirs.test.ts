import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { metricDirsOf } from '../../../src/core/jobs/runDirs';
import { RunReader } from '../../../src/core/metrics/run';
import { realFixturesDir } from '../../harness/shared';

const root = path.resolve(__dirname, '..', '..', '..', '..');

describe('metricDirsOf: where a job writes its metrics', () => {
  it('reads --output_dir of the example script (multi-line torchrun call), relative to the job cwd', () => {
    const script = readFileSync(path.join(root, 'examples', 'minicpm-v-lora', 'finetune_lora.sh'), 'utf8');
    const dirs = metricDirsOf({ script, command: "'bash' 'finetune_lora.sh'", cwd: '/ws' });
    assert.equal(dirs.output_dir, '/ws/output/output__lora');
    // The example's deliberate mismatch: its events go to a sibling of the output folder.
    assert.equal(dirs.logging_dir, '/ws/output/output_lora');
  });

  it('takes --flag=value and --flag value, quoted values, and lets the command line win over the script', () => {
    const script = 'torchrun train.py \\\n  --output_dir "out dir/a" \\\n  --logging_dir=\'logs/x\'\n';
    assert.deepEqual(metricDirsOf({ script, cwd: '/w' }), { output_dir: '/w/out dir/a', logging_dir: '/w/logs/x' });
    assert.equal(metricDirsOf({ script, command: "bash run.sh --output_dir=/abs/o", cwd: '/w' }).output_dir, '/abs/o');
  });

  it('expands simple variables of the script and leaves out what only a shell could know', () => {
    const script = 'OUT=runs/lora\nexport BASE="/data"\npython t.py --output_dir $OUT --logging_dir ${BASE}/tb\n';
    assert.deepEqual(metricDirsOf({ script, cwd: '/w' }), { output_dir: '/w/runs/lora', logging_dir: '/data/tb' });
    assert.deepEqual(metricDirsOf({ script: 'python t.py --output_dir $(date +%s) --logging_dir $UNSET', cwd: '/w' }), {});
  });

  it('ignores commented-out flags and resolves against the script folder after cd "$(dirname "$0")"', () => {
    const script = '#!/bin/bash\ncd "$(dirname "$0")"\n# --output_dir old\npython t.py --output_dir out\n';
    assert.deepEqual(metricDirsOf({ script, cwd: '/ws', scriptDir: '/ws/jobs' }), { output_dir: '/ws/jobs/out' });
    assert.deepEqual(metricDirsOf({ script, cwd: '/r', posix: true }), { output_dir: '/r/out' });
  });
});

describe('RunReader extra files: a job log outside the run folder', () => {
  it('reads a file named `log` given as extra alongside the folder, and takes the display name', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-extra-'));
    const jobDir = path.join(dir, 'job');
    mkdirSync(jobDir);
    copyFileSync(path.join(realFixturesDir, 'hf-trainer-5.17', 'torchrun-lora.stdout.txt'), path.join(jobDir, 'log'));
    const reader = new RunReader(path.join(dir, 'output-not-yet-written'), { extra: [path.join(jobDir, 'log')], name: 'train.sh · 1' });
    await reader.refresh();
    const snapshot = reader.snapshot();
    assert.equal(snapshot.name, 'train.sh · 1');
    const loss = snapshot.series.find((s) => s.tag === 'train/loss');
    assert.ok(loss && loss.steps.length > 10, `train/loss from the log (tags: ${snapshot.series.map((s) => s.tag).join(', ')})`);
    assert.deepEqual(snapshot.files.map((f) => [path.basename(f.path), f.kind]), [['log', 'log']]);
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import path from 'node:path';
import fc from 'fast-check';
import { repoRoot } from '../../jobs/workspace';
import { formatProgress, parseClock, parseLogDict, ProgressTracker } from '../../../src/core/jobs/progress';

const fixtures = '/work/shared/fixtures/real/hf-trainer-5.17';
const stderr = readFileSync(`${fixtures}/torchrun-lora.stderr.txt`, 'utf8');
const stdout = readFileSync(`${fixtures}/torchrun-lora.stdout.txt`, 'utf8');
// tqdm redraws with carriage returns; the capture stored them as line breaks. Both forms are fed.
const asTerminal = stderr.replace(/\n/g, '\r');

describe('progress parsing on the real transformers 5.17 run', () => {
  it('ends at step 300/300 whatever the chunking, ignoring the nested eval bar', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 50 }), (sizes) => {
        for (const text of [stderr, asTerminal]) {
          const tracker = new ProgressTracker();
          let at = 0;
          let i = 0;
          const steps: number[] = [];
          while (at < text.length) {
            tracker.push(text.slice(at, at + sizes[i++ % sizes.length]));
            at += sizes[(i - 1) % sizes.length];
            if (tracker.progress.step !== undefined) steps.push(tracker.progress.step);
          }
          tracker.push('\n');
          assert.equal(tracker.progress.step, 300);
          assert.equal(tracker.progress.total, 300);
          // Never the eval bar's k/25 once the training bar is known.
          assert.ok(steps.every((s, k) => k === 0 || s >= steps[k - 1] || s === 0), `steps went backwards: ${steps.join(',')}`);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('reads ETA and elapsed time mid-run', () => {
    const tracker = new ProgressTracker();
    tracker.push(' 17%|█▋        | 51/300 [00:03<00:24,  9.97it/s]\r');
    assert.deepEqual([tracker.progress.step, tracker.progress.total, tracker.progress.elapsedS, tracker.progress.etaS], [51, 300, 3, 24]);
    assert.equal(formatProgress(tracker.progress), 'step 51/300, ETA 0:24');
  });

  it('reads the Trainer log dicts (string values in transformers 5, numbers and nan in 4)', () => {
    const tracker = new ProgressTracker();
    tracker.push(stdout);
    assert.equal(typeof tracker.progress.lastMetrics?.loss, 'number');
    assert.equal(typeof tracker.progress.summary?.train_runtime, 'number');
    assert.equal(typeof tracker.progress.lastEval?.eval_loss, 'number');
    assert.deepEqual(parseLogDict("{'loss': '5.56', 'grad_norm': '0.1598', 'learning_rate': '0.0005333', 'epoch': '0.02'}"), { loss: 5.56, grad_norm: 0.1598, learning_rate: 0.0005333, epoch: 0.02 });
    const v4 = parseLogDict("{'loss': 1.0778, 'grad_norm': nan, 'learning_rate': 1e-06, 'epoch': 0.5}");
    assert.equal(v4?.loss, 1.0778);
    assert.ok(Number.isNaN(v4?.grad_norm));
    assert.equal(parseLogDict('not a dict'), undefined);
  });

  it('parses clocks', () => {
    assert.equal(parseClock('04:32'), 272);
    assert.equal(parseClock('1:02:03'), 3723);
    assert.equal(parseClock('?'), undefined);
  });
});

describe('progress on the acceptance run streamed from an H100 (torchrun LoRA, transformers 5.17, carriage returns kept)', () => {
  it('ends at 60/60 with the last loss dict and the summary', () => {
    const text = readFileSync(path.join(repoRoot, 'test/jobs/fixtures/h100-lora-streamed.log'), 'utf8');
    const tracker = new ProgressTracker();
    for (let at = 0; at < text.length; at += 97) tracker.push(text.slice(at, at + 97));
    assert.deepEqual([tracker.progress.step, tracker.progress.total], [60, 60]);
    assert.equal(tracker.progress.lastMetrics?.loss, 7.653);
    assert.equal(tracker.progress.summary?.train_loss, 7.66);
    assert.equal(tracker.progress.lastEval?.eval_loss, 7.642);
  });
});

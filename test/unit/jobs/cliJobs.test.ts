import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../../src/cli/main';
import type { JobRecord } from '../../../src/core/jobs/job';
import { processesInGroup, replayWorkspace } from '../../jobs/workspace';
import { bufferIo } from '../../harness/cliIo';

process.env.FTW_STATE_DIR = mkdtempSync(path.join(os.tmpdir(), 'ftw-cli-state-'));
process.env.FTW_REMOTE_ROOT = mkdtempSync(path.join(os.tmpdir(), 'ftw-cli-root-'));
process.env.FTW_CANCEL_GRACE_MS = '1000';

describe('ftw run / jobs / logs / cancel on the local target', () => {
  it('runs a script to completion, streaming its log, and exits 0', async () => {
    const ws = replayWorkspace();
    const io = bufferIo(ws);
    assert.equal(await runCli(['run', 'replay-trainer.sh', '--target', 'local', '--gpus', '1', '--env', 'RUN_NAME=a b', '--', '--delay', '0'], io), 0, io.err);
    assert.match(io.out, /CUDA_VISIBLE_DEVICES=1/);
    assert.match(io.out, /\{'train_runtime'/);
    assert.match(io.err, /succeeded \(exit 0\), step 300\/300/);
  });

  it('reports a failure with its cause and exits 1', async () => {
    const io = bufferIo(replayWorkspace());
    assert.equal(await runCli(['run', 'replay-trainer.sh', '--', '--delay', '0', '--fail', 'data-flood'], io), 1);
    assert.match(io.err, /failed \(exit 1\)/);
    assert.match(io.err, /cause: The dataset loader failed on most samples/);
  });

  it('detaches, lists, prints logs and cancels by id', async () => {
    const ws = replayWorkspace();
    const io = bufferIo(ws);
    assert.equal(await runCli(['run', 'replay-trainer.sh', '--detach', '--', '--delay', '0.3'], io), 0, io.err);
    const id = io.out.trim();
    const list = bufferIo(ws);
    assert.equal(await runCli(['jobs', '--json'], list), 0);
    const job = (JSON.parse(list.out) as JobRecord[]).find((j) => j.id === id);
    assert.equal(job?.state, 'running');
    const logs = bufferIo(ws);
    assert.equal(await runCli(['logs', id.slice(-4)], logs), 0);
    assert.match(logs.out, /replay: CUDA_VISIBLE_DEVICES=<unset>/);
    const cancel = bufferIo(ws);
    assert.equal(await runCli(['cancel', id], cancel), 0, cancel.err);
    assert.match(cancel.out, /cancelled/);
    assert.deepEqual(processesInGroup(job?.pid ?? -1), []);
    const human = bufferIo(ws);
    await runCli(['jobs'], human);
    assert.match(human.out, new RegExp(`${id}\\s+cancelled`));
  });

  it('refuses a script whose preflight finds errors (exit 1, findings with file:line), runs it with --force, skips it with --no-preflight', async () => {
    const ws = replayWorkspace();
    // The launch never executes (if false), so with --force the job itself succeeds; the preflight still sees it.
    writeFileSync(
      path.join(ws, 'bad-launch.sh'),
      '#!/bin/bash\necho "bad-launch started"\nif false; then\n  torchrun --nproc_per_node 2 finetune.py \\\n    --model_name_or_path Qwen/Qwen2-VL-2B-Instruct \\\n    --bf16 true \\\n    --data_path data/missing.json \\\n    --output_dir out\nfi\n',
    );
    writeFileSync(path.join(ws, 'v100.csv'), '0, GPU-a, Tesla V100-SXM2-32GB, 32768, 10, 32758, 0, 30, 7.0\n');
    const refused = bufferIo(ws);
    assert.equal(await runCli(['run', 'bad-launch.sh', '--nvidia-smi', 'v100.csv'], refused), 1, refused.err);
    assert.match(refused.err, /^bad-launch\.sh:7:\d+ error SCRIPT-FILE-MISSING dataset data\/missing\.json not found/m);
    assert.match(refused.err, /^bad-launch\.sh:6:\d+ error SCRIPT-PRECISION --bf16 needs an Ampere/m);
    assert.match(refused.err, /^bad-launch\.sh:4:\d+ error SCRIPT-GPUS .*2 processes per node, but the target has 1 GPU\(s\) \(v100\.csv\)/m);
    assert.match(refused.err, /not launching/);
    assert.doesNotMatch(refused.err, /queued/);
    const forced = bufferIo(ws);
    assert.equal(await runCli(['run', 'bad-launch.sh', '--nvidia-smi', 'v100.csv', '--force'], forced), 0, forced.err);
    assert.match(forced.err, /launching anyway \(--force\)/);
    assert.match(forced.out, /bad-launch started/);
    assert.match(forced.err, /succeeded \(exit 0\)/);
    const skipped = bufferIo(ws);
    assert.equal(await runCli(['run', 'bad-launch.sh', '--no-preflight'], skipped), 0, skipped.err);
    assert.doesNotMatch(skipped.err, /preflight/);
    // A clean script passes the preflight with the local probe (no nvidia-smi here: GPU checks are skipped, said so).
    const clean = bufferIo(ws);
    assert.equal(await runCli(['run', 'replay-trainer.sh', '--', '--delay', '0'], clean), 0, clean.err);
    assert.match(clean.err, /preflight: ok/);
  });

  it('rejects bad usage with exit 2', async () => {
    const io = bufferIo(os.tmpdir());
    assert.equal(await runCli(['run', 'x.sh', '--target', '-oProxyCommand=x'], io), 2);
    assert.equal(await runCli(['run', 'x.sh', '--gpus', 'a'], io), 2);
    assert.equal(await runCli(['logs', 'nope'], io), 2);
  });
});

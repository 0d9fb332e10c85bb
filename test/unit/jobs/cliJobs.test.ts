import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../../src/cli/main';
import type { CliIo } from '../../../src/cli/io';
import type { JobRecord } from '../../../src/core/jobs/job';
import { processesInGroup, replayWorkspace } from '../../jobs/workspace';

function bufferIo(cwd: string): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', cwd, stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

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

  it('rejects bad usage with exit 2', async () => {
    const io = bufferIo(os.tmpdir());
    assert.equal(await runCli(['run', 'x.sh', '--target', '-oProxyCommand=x'], io), 2);
    assert.equal(await runCli(['run', 'x.sh', '--gpus', 'a'], io), 2);
    assert.equal(await runCli(['logs', 'nope'], io), 2);
  });
});

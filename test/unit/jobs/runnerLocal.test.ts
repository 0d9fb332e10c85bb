import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { JobRecord } from '../../../src/core/jobs/job';
import { JobRegistry } from '../../../src/core/jobs/registry';
import { JobRunner } from '../../../src/core/jobs/runner';
import { processesInGroup, replayWorkspace, sleep } from '../../jobs/workspace';

function makeRunner(state = mkdtempSync(path.join(os.tmpdir(), 'ftw-state-')), remoteRoot = mkdtempSync(path.join(os.tmpdir(), 'ftw-root-'))) {
  return { runner: new JobRunner({ registry: new JobRegistry(state), remoteRoot, cancelGraceMs: 1500, maxConcurrentPerTarget: 1 }), state, remoteRoot };
}

const replay = (...args: string[]) => ['bash', 'replay-trainer.sh', ...args];

describe('local jobs with real processes (replaying the real transformers 5.17 run)', () => {
  it('launches detached, streams the whole log, parses progress and settles as succeeded', async () => {
    const { runner } = makeRunner();
    const ws = replayWorkspace();
    const job = runner.submit({ target: 'local', argv: replay('--delay', '0.002'), localDir: ws, gpus: [0, 1] });
    let text = '';
    const done = await runner.follow(job.id, (t) => (text += t));
    assert.equal(done.state, 'succeeded', done.message);
    assert.equal(done.exitCode, 0);
    assert.equal(done.progress?.step, 300);
    assert.equal(done.progress?.total, 300);
    assert.match(text, /CUDA_VISIBLE_DEVICES=0,1 MASTER_PORT=\d+/);
    assert.equal(text, await runner.readLog(job.id), 'the streamed text equals the log file');
    assert.ok(existsSync(path.join(done.jobDir ?? '', 'exit_code')));
    assert.ok(!existsSync(path.join(done.jobDir ?? '', 'env')), 'the env file is removed once read');
    await runner.dispose();
  });

  it('fails with the detected cause (CUDA OOM) and the exit code', async () => {
    const { runner } = makeRunner();
    const job = runner.submit({ target: 'local', argv: replay('--delay', '0', '--fail', 'oom', '--fail-after', '30'), localDir: replayWorkspace() });
    const done = await runner.waitFor(job.id);
    assert.equal(done.state, 'failed');
    assert.equal(done.exitCode, 1);
    assert.equal(done.cause?.kind, 'cuda-oom');
    await runner.dispose();
  });

  it('cancels by process group: SIGINT first, nothing left behind (ps)', async () => {
    const { runner } = makeRunner();
    const job = runner.submit({ target: 'local', argv: replay('--delay', '0.5'), localDir: replayWorkspace() });
    const running = await runner.waitFor(job.id, (j) => j.state === 'running');
    await sleep(300);
    assert.ok(processesInGroup(running.pid ?? -1).length >= 2, 'wrapper and replay run in their own group');
    const cancelled = await runner.cancel(job.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.exitCode, 130, 'the job ended on SIGINT (128 + 2), recorded by the wrapper');
    assert.deepEqual(processesInGroup(running.pid ?? -1), []);
    await runner.dispose();
  });

  it('escalates to SIGKILL when the job ignores SIGINT and SIGTERM', async () => {
    const { runner } = makeRunner();
    const job = runner.submit({ target: 'local', argv: ['bash', '-c', "trap '' INT TERM; echo stubborn; while :; do sleep 0.1; done"], localDir: replayWorkspace() });
    const running = await runner.waitFor(job.id, (j) => j.state === 'running');
    await sleep(200);
    const cancelled = await runner.cancel(job.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.exitCode, 137);
    assert.deepEqual(processesInGroup(running.pid ?? -1), []);
    await runner.dispose();
  });

  it('runs a FIFO queue with a concurrency limit of one per target', async () => {
    const { runner } = makeRunner();
    const ws = replayWorkspace();
    const jobs: JobRecord[] = [1, 2, 3].map((n) => runner.submit({ target: 'local', argv: ['bash', '-c', `echo job ${n}; sleep 0.3`], localDir: ws }));
    assert.deepEqual(jobs.map((j) => runner.registry.get(j.id)?.state), ['queued', 'queued', 'queued'].map((s, i) => (i === 0 ? runner.registry.get(jobs[0].id)?.state : s)));
    const finished = await Promise.all(jobs.map((j) => runner.waitFor(j.id)));
    for (let i = 1; i < finished.length; i++) {
      assert.ok((finished[i].startedAt ?? 0) >= (finished[i - 1].endedAt ?? Infinity), `job ${i + 1} started after job ${i} ended`);
    }
    assert.deepEqual(finished.map((j) => j.state), ['succeeded', 'succeeded', 'succeeded']);
    assert.notEqual(finished[0].masterPort, undefined);
    await runner.dispose();
  });

  it('re-attaches after a reload: a running job is followed to its end, a finished one settles from its exit-code file', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'ftw-state-'));
    const first = makeRunner(state);
    const ws = replayWorkspace();
    const slow = first.runner.submit({ target: 'local', argv: replay('--delay', '0.01'), localDir: ws });
    await first.runner.waitFor(slow.id, (j) => j.state === 'running');
    const quickRunner = new JobRunner({ registry: first.runner.registry, remoteRoot: first.remoteRoot, maxConcurrentPerTarget: 2 });
    const quick = quickRunner.submit({ target: 'local', argv: ['bash', '-c', 'exit 3'], localDir: ws });
    await quickRunner.waitFor(quick.id, (j) => j.state === 'running');
    // The "window reload": both runners go away while the jobs run on.
    await quickRunner.dispose();
    await first.runner.dispose();
    assert.equal(new JobRegistry(state).get(quick.id)?.state, 'running');
    await sleep(300);
    const second = new JobRunner({ registry: new JobRegistry(state), remoteRoot: first.remoteRoot });
    second.reattach();
    const [a, b] = await Promise.all([second.waitFor(slow.id), second.waitFor(quick.id)]);
    assert.equal(a.state, 'succeeded');
    assert.equal(a.progress?.step, 300);
    assert.deepEqual([b.state, b.exitCode], ['failed', 3]);
    await second.dispose();
  });

  it('quotes hostile folder names and arguments: nothing is executed, the values arrive intact', async () => {
    const { runner } = makeRunner(undefined, mkdtempSync(path.join(os.tmpdir(), "ftw root $(touch pwned) 'q' ")));
    const ws = replayWorkspace("work space `touch pwned2` $(touch pwned3) \"x\" 'y'\nz ✓");
    const arg = "$(touch pwned4); `id` 'a' \"b\"\n数据";
    const job = runner.submit({ target: 'local', argv: ['bash', '-c', 'printf "<%s>" "$1"; pwd', 'ftw', arg], localDir: ws });
    let text = '';
    const done = await runner.follow(job.id, (t) => (text += t));
    assert.equal(done.state, 'succeeded', done.message);
    assert.ok(text.startsWith(`<${arg}>`), text);
    assert.ok(text.includes(ws));
    for (const dir of [ws, path.dirname(ws), process.cwd(), done.jobDir ?? '']) {
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('pwned')), []);
    }
    await runner.dispose();
  });

  it('passes secrets through the environment only: masked in the log, absent from ps and from the registry', async () => {
    const { runner, state } = makeRunner();
    const token = 'hf_SuperSecretTokenValue1234567890';
    const job = runner.submit({ target: 'local', argv: replay('--delay', '0.2', '--print-env', 'HF_TOKEN'), localDir: replayWorkspace(), env: { HF_TOKEN: token, OTHER: 'visible' } });
    const running = await runner.waitFor(job.id, (j) => j.state === 'running');
    await sleep(300);
    assert.ok(!execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).includes(token), 'the token is on no command line');
    let text = '';
    const follow = runner.follow(job.id, (t) => (text += t));
    await sleep(500);
    await runner.cancel(job.id);
    await follow;
    assert.match(text, /env HF_TOKEN=••••••/);
    assert.ok(!text.includes(token));
    assert.ok(!execFileSync('cat', [path.join(state, 'jobs.json')], { encoding: 'utf8' }).includes(token));
    assert.deepEqual(runner.registry.get(job.id)?.request.secretNames, ['HF_TOKEN']);
    assert.ok(running.jobDir && !existsSync(path.join(running.jobDir, 'env')));
    await runner.dispose();
  });

  it('reports a missing working directory as a failed job, not a crash', async () => {
    const { runner } = makeRunner();
    const job = runner.submit({ target: 'local', argv: ['true'], localDir: '/nonexistent/ftw-test' });
    const done = await runner.waitFor(job.id);
    assert.deepEqual([done.state, done.exitCode], ['failed', 127]);
    assert.match(await runner.readLog(job.id), /cannot enter the working directory/);
    await runner.dispose();
  });
});

describe('queue: GPU selection', () => {
  it('holds a job whose GPUs a running job uses, and lets later jobs wait behind it (FIFO)', async () => {
    const { runner } = makeRunner();
    const r = runner;
    const ws = replayWorkspace();
    const limitTwo = new JobRunner({ registry: r.registry, remoteRoot: mkdtempSync(path.join(os.tmpdir(), 'ftw-root-')), maxConcurrentPerTarget: 2 });
    const a = limitTwo.submit({ target: 'local', argv: ['bash', '-c', 'sleep 0.6'], localDir: ws, gpus: [0] });
    const b = limitTwo.submit({ target: 'local', argv: ['bash', '-c', 'echo "b sees $CUDA_VISIBLE_DEVICES"'], localDir: ws, gpus: [0, 1] });
    const c = limitTwo.submit({ target: 'local', argv: ['bash', '-c', 'true'], localDir: ws, gpus: [1] });
    const [da, db, dc] = await Promise.all([a, b, c].map((j) => limitTwo.waitFor(j.id)));
    assert.ok((db.startedAt ?? 0) >= (da.endedAt ?? Infinity), 'b shares GPU 0 with a, so it waits for a');
    assert.ok((dc.startedAt ?? 0) >= (db.startedAt ?? Infinity), 'c queued after b starts after it (first come, first served)');
    assert.match(await limitTwo.readLog(b.id), /b sees 0,1/);
    assert.notEqual(da.masterPort, db.masterPort);
    await limitTwo.dispose();
    await runner.dispose();
  });
});

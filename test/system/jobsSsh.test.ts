import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobRegistry } from '../../src/core/jobs/registry';
import { JobRunner } from '../../src/core/jobs/runner';
import { HostKeyError, resolveSshHost, SshTransport } from '../../src/core/jobs/transport';
import { processesInGroup, replayWorkspace, sleep } from '../jobs/workspace';
import { startSshServer, type SshServer } from './daemons';

let server: SshServer;
const remoteRoot = mkdtempSync(path.join(os.tmpdir(), 'ftw-remote-root-'));

function makeRunner(state = mkdtempSync(path.join(os.tmpdir(), 'ftw-ssh-state-'))): JobRunner {
  return new JobRunner({
    registry: new JobRegistry(state),
    remoteRoot,
    ssh: { configFile: server.configFile, controlDir: server.controlDir },
    cancelGraceMs: 1500,
    maxConcurrentPerTarget: 4,
    syncExclude: ['output/'],
  });
}

describe('jobs over a real OpenSSH server on 127.0.0.1', () => {
  before(async () => {
    server = await startSshServer();
  });
  after(() => server?.stop());

  it('resolves the host with ssh -G from the private config', async () => {
    const resolved = await resolveSshHost('ftw-test', server.configFile);
    assert.deepEqual([resolved.hostname, resolved.port], ['127.0.0.1', server.port]);
  });

  it('syncs a workspace with a hostile name (honouring .gitignore and excludes), launches, streams, parses progress, succeeds', async () => {
    const runner = makeRunner();
    const ws = replayWorkspace("my 'ws' $(touch pwned) `x` ✓");
    writeFileSync(path.join(ws, '.gitignore'), 'ignored.txt\n');
    writeFileSync(path.join(ws, 'ignored.txt'), 'not synced');
    mkdirSync(path.join(ws, 'output'));
    writeFileSync(path.join(ws, 'output', 'big.bin'), 'not synced');
    const job = runner.submit({ target: 'ftw-test', argv: ['bash', 'replay-trainer.sh', '--delay', '0.002'], localDir: ws, gpus: [3] });
    let text = '';
    const done = await runner.follow(job.id, (t) => (text += t));
    assert.equal(done.state, 'succeeded', done.message);
    assert.equal(done.progress?.step, 300);
    assert.match(text, /CUDA_VISIBLE_DEVICES=3/);
    assert.equal(text, readFileSync(path.join(done.jobDir ?? '', 'log'), 'utf8'));
    const synced = done.remoteCwd ?? '';
    assert.ok(existsSync(path.join(synced, 'replay-trainer.sh')));
    assert.ok(!existsSync(path.join(synced, 'ignored.txt')), '.gitignore honoured');
    assert.ok(!existsSync(path.join(synced, 'output')), 'exclude list honoured');
    for (const dir of [ws, synced, path.dirname(ws)]) assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('pwned')), []);
    await runner.dispose();
  });

  it('fails with the detected cause', async () => {
    const runner = makeRunner();
    const job = runner.submit({ target: 'ftw-test', argv: ['bash', 'replay-trainer.sh', '--delay', '0', '--fail', 'port'], localDir: replayWorkspace() });
    const done = await runner.waitFor(job.id);
    assert.deepEqual([done.state, done.exitCode, done.cause?.kind], ['failed', 1, 'port-in-use']);
    await runner.dispose();
  });

  it('cancels over ssh: no process of the job is left (ps)', async () => {
    const runner = makeRunner();
    const job = runner.submit({ target: 'ftw-test', argv: ['bash', 'replay-trainer.sh', '--delay', '0.5'], localDir: replayWorkspace() });
    const running = await runner.waitFor(job.id, (j) => j.state === 'running');
    await sleep(500);
    assert.ok(processesInGroup(running.pid ?? -1).length > 0);
    const done = await runner.cancel(job.id);
    assert.equal(done.state, 'cancelled');
    assert.deepEqual(processesInGroup(running.pid ?? -1), []);
    await runner.dispose();
  });

  it('keeps the job running when the connection is killed, and resumes the log without gaps or duplicates', async () => {
    const runner = makeRunner();
    const job = runner.submit({ target: 'ftw-test', argv: ['bash', 'replay-trainer.sh', '--delay', '0.03'], localDir: replayWorkspace() });
    const running = await runner.waitFor(job.id, (j) => j.state === 'running');
    let text = '';
    const follow = runner.follow(job.id, (t) => (text += t));
    const deadline = Date.now() + 20_000;
    while (!/ 50\/300/.test(text) && Date.now() < deadline) await sleep(50);
    const before = text.length;
    assert.ok(server.dropConnections() > 0, 'there was a connection to drop');
    await sleep(300);
    assert.ok(processesInGroup(running.pid ?? -1).length > 0, 'the job survived the dropped connection');
    const done = await follow;
    assert.equal(done.state, 'succeeded', done.message);
    assert.ok(text.length > before, 'the log went on after the reconnect');
    assert.equal(text, readFileSync(path.join(done.jobDir ?? '', 'log'), 'utf8'), 'streamed text equals the log: no gap, no duplicate');
    await runner.dispose();
  });

  it('re-attaches after a restart of the client', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'ftw-ssh-state-'));
    const first = makeRunner(state);
    const job = first.submit({ target: 'ftw-test', argv: ['bash', 'replay-trainer.sh', '--delay', '0.01', '--fail', 'missing', '--fail-after', '80'], localDir: replayWorkspace() });
    await first.waitFor(job.id, (j) => j.state === 'running');
    await first.dispose(true);
    const second = makeRunner(state);
    second.reattach();
    const done = await second.waitFor(job.id);
    assert.deepEqual([done.state, done.cause?.kind], ['failed', 'missing-file']);
    await second.dispose();
  });

  it('refuses an unknown host key with instructions, and never connects', async () => {
    // Its own socket folder: ftw-unknown names the same server, and a master opened for ftw-test would be reused.
    const controlDir = mkdtempSync('/tmp/ftw-cm-');
    const transport = new SshTransport('ftw-unknown', { configFile: server.configFile, controlDir });
    await assert.rejects(transport.exec('echo hi'), (error: Error) => error instanceof HostKeyError && /not known yet/.test(error.message) && /ssh ftw-unknown/.test(error.message));
    const runner = new JobRunner({ registry: new JobRegistry(mkdtempSync(path.join(os.tmpdir(), 'ftw-ssh-state-'))), remoteRoot, ssh: { configFile: server.configFile, controlDir } });
    const job = runner.submit({ target: 'ftw-unknown', argv: ['true'], localDir: replayWorkspace(), sync: false });
    const done = await runner.waitFor(job.id);
    assert.equal(done.state, 'failed');
    assert.match(done.message ?? '', /host key of ftw-unknown is not known yet/);
    await runner.dispose();
  });

  it('probes GPUs over ssh (this machine has none: a clear message) and reads $HOME', async () => {
    const runner = makeRunner();
    const probe = await runner.probeGpus('ftw-test');
    if (probe.gpus.length === 0) assert.match(probe.error ?? '', /nvidia-smi/);
    await runner.dispose();
  });

  it('measures launch → first log line and log → view latency on a warm connection (printed, not asserted)', async () => {
    const runner = makeRunner();
    const ws = replayWorkspace();
    // Warm the shared connection, as the extension does when it lists the target.
    await runner.transport('ftw-test').exec('true');
    const withSync: number[] = [];
    const withoutSync: number[] = [];
    const lag: number[] = [];
    for (let i = 0; i < 6; i++) {
      const sync = i < 3;
      const t0 = Date.now();
      const job = runner.submit({ target: 'ftw-test', argv: ['bash', '-c', 'for i in $(seq 20); do echo "stamp $(date +%s%3N)"; sleep 0.05; done'], localDir: ws, sync });
      let first = 0;
      const done = await runner.follow(job.id, (text) => {
        const now = Date.now();
        if (!first) first = now;
        for (const m of text.matchAll(/stamp (\d+)/g)) lag.push(now - Number(m[1]));
      });
      assert.equal(done.state, 'succeeded', done.message);
      (sync ? withSync : withoutSync).push(first - t0);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(
      `MEASURE ssh loopback, warm connection: launch→first log line ms with rsync ${JSON.stringify(withSync)} (median ${median(withSync)}), ` +
        `without sync ${JSON.stringify(withoutSync)} (median ${median(withoutSync)}); log→view lag ms median ${median(lag)}, max ${Math.max(...lag)} over ${lag.length} lines`,
    );
    assert.equal(lag.length, 120);
    await runner.dispose();
  });
});

describe('ftw CLI against the real sshd', () => {
  let cliServer: SshServer;
  before(async () => {
    cliServer = await startSshServer();
  });
  after(() => cliServer?.stop());

  it('ftw run --target <ssh host> syncs, streams and exits 0; ftw jobs lists it; an unknown host key exits 1 with instructions', async () => {
    const { runCli } = await import('../../src/cli/main');
    process.env.FTW_STATE_DIR = mkdtempSync(path.join(os.tmpdir(), 'ftw-cli-ssh-state-'));
    process.env.FTW_REMOTE_ROOT = mkdtempSync(path.join(os.tmpdir(), 'ftw-cli-ssh-root-'));
    process.env.FTW_SSH_CONFIG = cliServer.configFile;
    process.env.FTW_SSH_CONTROL_DIR = cliServer.controlDir;
    const ws = replayWorkspace('cli ws');
    const io = { out: '', err: '', cwd: ws, stdout: (s: string) => void (io.out += s), stderr: (s: string) => void (io.err += s) };
    assert.equal(await runCli(['run', 'replay-trainer.sh', '--target', 'ftw-test', '--gpus', '0', '--', '--delay', '0'], io), 0, io.err);
    assert.match(io.out, /CUDA_VISIBLE_DEVICES=0/);
    assert.match(io.err, /succeeded \(exit 0\), step 300\/300/);
    const list = { ...io, out: '' };
    list.stdout = (s: string) => void (list.out += s);
    assert.equal(await runCli(['jobs'], list), 0);
    assert.match(list.out, /succeeded\s+ftw-test/);
    // ftw-unknown is the same server under another name: ssh would reuse ftw-test's shared connection (same %C),
    // so the check runs with its own socket folder, as for a host never connected to.
    process.env.FTW_SSH_CONTROL_DIR = mkdtempSync('/tmp/ftw-cm-');
    const bad = { out: '', err: '', cwd: ws, stdout: (s: string) => void (bad.out += s), stderr: (s: string) => void (bad.err += s) };
    assert.equal(await runCli(['run', 'replay-trainer.sh', '--target', 'ftw-unknown', '--no-sync'], bad), 1);
    assert.match(bad.err, /host key of ftw-unknown is not known yet.*ssh ftw-unknown/s);
  });

  it('ftw run --target <ssh host> refuses a script whose preflight finds errors (exit 1) and runs it with --force', async () => {
    const { runCli } = await import('../../src/cli/main');
    process.env.FTW_STATE_DIR = mkdtempSync(path.join(os.tmpdir(), 'ftw-cli-ssh-state-'));
    process.env.FTW_REMOTE_ROOT = mkdtempSync(path.join(os.tmpdir(), 'ftw-cli-ssh-root-'));
    process.env.FTW_SSH_CONFIG = cliServer.configFile;
    process.env.FTW_SSH_CONTROL_DIR = cliServer.controlDir;
    const ws = replayWorkspace('preflight ws');
    // The torchrun line never runs (if false): with --force the job succeeds, but the preflight lints it.
    writeFileSync(
      path.join(ws, 'train.sh'),
      '#!/bin/bash\necho "train.sh on $(hostname)"\nif false; then\n  torchrun --nproc_per_node 1 finetune.py --model_name_or_path Qwen/Qwen2-VL-2B-Instruct --data_path data/missing.json --output_dir out\nfi\n',
    );
    const io = { out: '', err: '', cwd: ws, stdout: (s: string) => void (io.out += s), stderr: (s: string) => void (io.err += s) };
    assert.equal(await runCli(['run', 'train.sh', '--target', 'ftw-test'], io), 1, io.err);
    // The probe ran on the target over ssh (no nvidia-smi there: said so, GPU checks skipped).
    assert.match(io.err, /GPU probe of ftw-test: nvidia-smi is not installed on the target; GPU checks skipped/);
    assert.match(io.err, /^train\.sh:4:\d+ error SCRIPT-FILE-MISSING dataset data\/missing\.json not found/m);
    assert.match(io.err, /not launching/);
    const forced = { out: '', err: '', cwd: ws, stdout: (s: string) => void (forced.out += s), stderr: (s: string) => void (forced.err += s) };
    assert.equal(await runCli(['run', 'train.sh', '--target', 'ftw-test', '--force'], forced), 0, forced.err);
    assert.match(forced.out, /train\.sh on /);
    assert.match(forced.err, /launching anyway \(--force\)[\s\S]*succeeded \(exit 0\)/);
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobRegistry } from '../../src/core/jobs/registry';
import { JobRunner } from '../../src/core/jobs/runner';
import { replayWorkspace, sleep } from '../jobs/workspace';
import { startSlurm, startSshServer, type SlurmCluster, type SshServer } from './daemons';

let slurm: SlurmCluster;
let server: SshServer;
const remoteRoot = mkdtempSync(path.join(os.tmpdir(), 'ftw-slurm-root-'));

function makeRunner(): JobRunner {
  return new JobRunner({
    registry: new JobRegistry(mkdtempSync(path.join(os.tmpdir(), 'ftw-slurm-state-'))),
    remoteRoot,
    localEnv: slurm.env,
    ssh: { configFile: server.configFile, controlDir: server.controlDir },
    cancelGraceMs: 1500,
    maxConcurrentPerTarget: 4,
  });
}

function squeueIds(): string[] {
  return (spawnSync('squeue', ['-h', '-o', '%i'], { env: slurm.env, encoding: 'utf8' }).stdout ?? '').split('\n').filter(Boolean);
}

describe('jobs on a real single-node Slurm (munge, slurmctld, slurmd)', () => {
  before(async () => {
    slurm = await startSlurm();
    // The login node over ssh gets SLURM_CONF through SetEnv/AcceptEnv, as a site profile would set it.
    server = await startSshServer({ setEnv: { SLURM_CONF: slurm.conf } });
  });
  after(() => {
    server?.stop();
    slurm?.stop();
  });

  it('submits with sbatch, follows the log, reads the state and succeeds', async () => {
    const runner = makeRunner();
    const job = runner.submit({ target: 'slurm:local', argv: ['bash', 'replay-trainer.sh', '--delay', '0.002'], localDir: replayWorkspace(), slurm: { nodes: 1, time: '10:00' } });
    let text = '';
    const done = await runner.follow(job.id, (t) => (text += t));
    assert.equal(done.state, 'succeeded', `${done.message}\n${text.slice(-500)}`);
    assert.match(done.slurmJobId ?? '', /^\d+$/);
    assert.equal(done.progress?.step, 300);
    assert.equal(text, readFileSync(path.join(done.jobDir ?? '', 'log'), 'utf8'));
    assert.match(text, /MASTER_PORT=\d+/);
    await runner.dispose();
  });

  it('reports a failed batch job with its exit code and cause', async () => {
    const runner = makeRunner();
    const job = runner.submit({ target: 'slurm:local', argv: ['bash', 'replay-trainer.sh', '--delay', '0', '--fail', 'oom'], localDir: replayWorkspace() });
    const done = await runner.waitFor(job.id);
    assert.deepEqual([done.state, done.exitCode, done.cause?.kind], ['failed', 1, 'cuda-oom']);
    await runner.dispose();
  });

  it('cancels with scancel: the job leaves the queue and its processes end', async () => {
    const runner = makeRunner();
    const job = runner.submit({ target: 'slurm:local', argv: ['bash', 'replay-trainer.sh', '--delay', '0.5'], localDir: replayWorkspace() });
    const running = await runner.waitFor(job.id, (j) => j.state === 'running');
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !/\d/.test(readFileSync(path.join(running.jobDir ?? '', 'log'), { encoding: 'utf8', flag: 'a+' }))) await sleep(200);
    assert.ok(squeueIds().includes(running.slurmJobId ?? ''));
    const done = await runner.cancel(job.id);
    assert.equal(done.state, 'cancelled');
    assert.ok(!squeueIds().includes(running.slurmJobId ?? ''));
    const left = spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(running.jobDir ?? '\0'));
    assert.deepEqual(left, []);
    await runner.dispose();
  });

  it('submits through an ssh login node (slurm:<host>)', async () => {
    const runner = makeRunner();
    const job = runner.submit({ target: 'slurm:ftw-test', argv: ['bash', 'replay-trainer.sh', '--delay', '0'], localDir: replayWorkspace() });
    const done = await runner.waitFor(job.id);
    assert.equal(done.state, 'succeeded', done.message);
    assert.match(done.slurmJobId ?? '', /^\d+$/);
    await runner.dispose();
  });
});

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Real daemons for the launcher's system tests: an OpenSSH server on 127.0.0.1 with throwaway keys, and a
 * single-node Slurm (munge, slurmctld, slurmd). Each throws with the daemon's own log when it cannot start,
 * so a test fails with the reason instead of being skipped.
 */

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitFor(what: string, check: () => boolean, timeoutMs: number, log: () => string): void {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return;
    sleepSync(100);
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms.\n${log()}`);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function stopByPidFile(file: string): void {
  const pid = readPid(file);
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

export interface SshServer {
  readonly dir: string;
  readonly port: number;
  /** A private ssh_config: host `ftw-test` (known host key) and `ftw-unknown` (empty known_hosts). */
  readonly configFile: string;
  /** A short folder for ControlMaster sockets. */
  readonly controlDir: string;
  readonly pid: number;
  /** Kills the server side of every open connection (simulates a dropped network), leaving the listener. */
  dropConnections(): number;
  stop(): void;
}

export async function startSshServer(options: { setEnv?: Record<string, string> } = {}): Promise<SshServer> {
  for (const binary of ['/usr/sbin/sshd', '/usr/bin/ssh', '/usr/bin/ssh-keygen', '/usr/bin/rsync']) {
    if (!existsSync(binary)) throw new Error(`${binary} is missing: run scripts/install-system-deps.sh (openssh-server, openssh-client, rsync)`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-sshd-'));
  const port = await freePort();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'user_key')]);
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'user_key.pub')));
  chmodSync(path.join(dir, 'authorized_keys'), 0o600);
  const hostPub = readFileSync(path.join(dir, 'host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`);
  writeFileSync(path.join(dir, 'empty_known_hosts'), '');
  writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_key`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'AcceptEnv SLURM_CONF',
      'MaxSessions 50',
      'MaxStartups 50',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const user = os.userInfo().username;
  const hostBlock = (name: string, knownHosts: string) =>
    [
      `Host ${name}`,
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      `  User ${user}`,
      `  IdentityFile ${dir}/user_key`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      ...Object.entries(options.setEnv ?? {}).map(([k, v]) => `  SetEnv ${k}=${v}`),
    ].join('\n');
  const configFile = path.join(dir, 'ssh_config');
  writeFileSync(configFile, `${hostBlock('ftw-test', `${dir}/known_hosts`)}\n\n${hostBlock('ftw-unknown', `${dir}/empty_known_hosts`)}\n`);
  mkdirSync('/run/sshd', { recursive: true });
  const started = spawnSync('/usr/sbin/sshd', ['-f', path.join(dir, 'sshd_config'), '-E', path.join(dir, 'sshd.log')], { encoding: 'utf8' });
  const log = () => `sshd exit ${started.status}: ${started.stderr}\n${existsSync(path.join(dir, 'sshd.log')) ? readFileSync(path.join(dir, 'sshd.log'), 'utf8') : ''}`;
  if (started.status !== 0) throw new Error(`sshd could not start.\n${log()}`);
  waitFor('sshd', () => readPid(path.join(dir, 'sshd.pid')) !== undefined, 5000, log);
  const pid = readPid(path.join(dir, 'sshd.pid')) ?? 0;
  const controlDir = mkdtempSync('/tmp/ftw-cm-');
  const ssh: SshServer = {
    dir,
    port,
    configFile,
    controlDir,
    pid,
    dropConnections() {
      // ps exits 1 when the server has no connection process.
      const children = (spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout ?? '')
        .split('\n')
        .map((l) => Number(l.trim()))
        .filter((n) => n > 0);
      for (const child of children) {
        try {
          process.kill(child, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      return children.length;
    },
    stop() {
      // The test's own ControlMaster clients end when their server side goes.
      this.dropConnections();
      stopByPidFile(path.join(dir, 'sshd.pid'));
    },
  };
  return ssh;
}

export interface SlurmCluster {
  readonly dir: string;
  readonly conf: string;
  /** Environment for local sbatch/squeue/scancel. */
  readonly env: NodeJS.ProcessEnv;
  stop(): void;
}

function mungeWorks(): boolean {
  const encoded = spawnSync('munge', ['-n'], { encoding: 'utf8' });
  if (encoded.status !== 0) return false;
  return spawnSync('unmunge', [], { input: encoded.stdout, encoding: 'utf8' }).status === 0;
}

export async function startSlurm(): Promise<SlurmCluster> {
  for (const binary of ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/bin/sbatch', '/usr/sbin/munged']) {
    if (!existsSync(binary)) throw new Error(`${binary} is missing: run scripts/install-system-deps.sh (slurmctld, slurmd, slurm-client, munge)`);
  }
  let startedMunge = false;
  if (!mungeWorks()) {
    if (!existsSync('/etc/munge/munge.key')) {
      execFileSync('bash', ['-c', 'dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none && chmod 400 /etc/munge/munge.key']);
    }
    execFileSync('bash', ['-c', 'mkdir -p /run/munge /var/log/munge /var/lib/munge && chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge']);
    const munged = spawnSync('runuser', ['-u', 'munge', '--', 'munged'], { encoding: 'utf8' });
    if (munged.status !== 0) throw new Error(`munged could not start: ${munged.stderr}`);
    startedMunge = true;
    waitFor('munge', mungeWorks, 5000, () => (existsSync('/var/log/munge/munged.log') ? readFileSync('/var/log/munge/munged.log', 'utf8').slice(-2000) : ''));
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-slurm-'));
  const host = os.hostname();
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=ftwtest',
      `SlurmctldHost=${host}`,
      'AuthType=auth/munge',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SlurmUser=root',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'MpiDefault=none',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmdSpoolDir=${dir}/spool`,
      `StateSaveLocation=${dir}/state`,
      `SlurmctldLogFile=${dir}/slurmctld.log`,
      `SlurmdLogFile=${dir}/slurmd.log`,
      'ReturnToService=2',
      'KillWait=2',
      'MinJobAge=300',
      `NodeName=${host} CPUs=${os.cpus().length} RealMemory=1000 State=UNKNOWN`,
      `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  mkdirSync(path.join(dir, 'spool'));
  mkdirSync(path.join(dir, 'state'));
  const env = { ...process.env, SLURM_CONF: conf };
  const log = () =>
    ['slurmctld.log', 'slurmd.log']
      .map((f) => path.join(dir, f))
      .filter(existsSync)
      .map((f) => `--- ${f}\n${readFileSync(f, 'utf8').slice(-3000)}`)
      .join('\n');
  for (const daemon of ['slurmctld', 'slurmd']) {
    const result = spawnSync(`/usr/sbin/${daemon}`, ['-f', conf], { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${daemon} could not start (exit ${result.status}): ${result.stderr}\n${log()}`);
  }
  const cluster: SlurmCluster = {
    dir,
    conf,
    env,
    stop() {
      stopByPidFile(path.join(dir, 'slurmd.pid'));
      stopByPidFile(path.join(dir, 'slurmctld.pid'));
      if (startedMunge) stopByPidFile('/run/munge/munged.pid');
    },
  };
  try {
    waitFor('the Slurm node', () => /idle/.test(spawnSync('sinfo', ['-h', '-o', '%t'], { env, encoding: 'utf8' }).stdout ?? ''), 30_000, log);
  } catch (error) {
    cluster.stop();
    throw error;
  }
  return cluster;
}

import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import { detectFailureCause } from './failureCause';
import { gpuProbeScript, parseGpuProbe, type GpuProbe } from './gpuProbe';
import { isFinal, newJobId, type JobRecord, type JobState, type LaunchRequest } from './job';
import { pickFreePort } from './ports';
import type { JobRegistry } from './registry';
import {
  cancelScript,
  followScript,
  homeScript,
  launchScript,
  readLogScript,
  slurmCancelScript,
  slurmFollowScript,
  slurmStatusScript,
  slurmSubmitScript,
  statusScript,
  wrapperScript,
} from './scripts';
import { envFileText, SecretMasker, wellKnownSecretNames } from './secrets';
import { isValidEnvName, shellCommand } from './shellQuote';
import { ProgressTracker } from './progress';
import { rsyncToTarget } from './sync';
import { parseTarget, sshHostOf, transportFor, type SshOptions, type StreamHandle, type Transport } from './transport';

export interface RunnerOptions {
  readonly registry: JobRegistry;
  /** Folder on every target for job folders and synced workspaces; `~/` is the remote home. */
  readonly remoteRoot?: string | (() => string);
  readonly ssh?: SshOptions;
  readonly logger?: Logger;
  readonly maxConcurrentPerTarget?: number | ((target: string) => number);
  /** Wait between SIGINT, SIGTERM and SIGKILL when cancelling. */
  readonly cancelGraceMs?: number;
  /** rsync exclude patterns (besides .gitignore), fixed or per workspace folder. */
  readonly syncExclude?: readonly string[] | ((localDir: string) => readonly string[]);
  /** Environment of local commands (tests point SLURM_CONF at their cluster). */
  readonly localEnv?: NodeJS.ProcessEnv;
  /** Looks up a secret by name when its value is not in memory (after a reload: the extension's SecretStorage). */
  readonly secretLookup?: (name: string) => Promise<string | undefined>;
  /** Python on targets, for the transformers version in the probe. */
  readonly python?: string;
}

const tailBytes = 64 * 1024;

/** Length of the longest prefix of `data` that ends on a UTF-8 character boundary. */
export function completeUtf8Length(data: Buffer): number {
  const n = data.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const byte = data[n - back];
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

interface Status {
  final: boolean;
  state: JobState;
  exitCode?: number;
  size: number;
  tail: string;
  slurmState?: string;
}

/** Streams one running job's log: progress, subscribers, reconnects; settles the job when it ends. */
class Monitor {
  offset = 0;
  private carry = Buffer.alloc(0);
  private readonly tracker = new ProgressTracker();
  readonly subscribers = new Set<(text: string) => void>();
  private handle: StreamHandle | undefined;
  private stopped = false;
  readonly done: Promise<void>;
  private lastEmit = 0;
  private emitTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly runner: JobRunner,
    private readonly job: JobRecord,
    private readonly transport: Transport,
    readonly masker: SecretMasker,
    /** The stream that launched the job and already follows its log from byte 0 (saves a round trip). */
    private initial?: { handle: StreamHandle; received: Buffer[] },
  ) {
    this.done = this.run().catch((error) => this.runner.log.error(`monitor of job ${job.id}: ${(error as Error).message}`));
  }

  /** Byte offset up to which text has been handed to subscribers. */
  get emittedOffset(): number {
    return this.offset - this.carry.length - this.masker.pendingBytes;
  }

  stop(): void {
    this.stopped = true;
    this.handle?.stop();
  }

  onBytes(chunk: Buffer): void {
    this.offset += chunk.length;
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const complete = completeUtf8Length(data);
    this.carry = Buffer.from(data.subarray(complete));
    const text = this.masker.push(data.subarray(0, complete).toString('utf8'));
    if (text) this.deliver(text);
  }

  private deliver(text: string): void {
    for (const subscriber of this.subscribers) subscriber(text);
    if (this.tracker.push(text)) {
      this.job.progress = { ...this.tracker.progress };
      this.scheduleEmit();
    }
  }

  private scheduleEmit(): void {
    const now = Date.now();
    if (now - this.lastEmit > 300) {
      this.lastEmit = now;
      this.runner.changed(this.job);
    } else if (!this.emitTimer) {
      this.emitTimer = setTimeout(() => {
        this.emitTimer = undefined;
        this.lastEmit = Date.now();
        this.runner.changed(this.job);
      }, 300);
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    let first = true;
    if (this.initial) {
      first = false;
      this.handle = this.initial.handle;
      for (const chunk of this.initial.received) this.onBytes(chunk);
      this.initial.received.length = 0;
      this.initial = undefined;
      await this.handle.done.catch(() => 255);
      this.handle = undefined;
    }
    while (!this.stopped) {
      let status: Status | undefined;
      try {
        status = await this.runner.status(this.job, this.transport);
      } catch (error) {
        failures++;
        this.runner.log.warn(`job ${this.job.id}: cannot reach ${this.transport.label} (${(error as Error).message}); retrying`);
        await sleep(Math.min(500 * 2 ** failures, 10_000));
        continue; // the while condition ends the loop if stop() was called meanwhile
      }
      if (this.stopped) break;
      if (first) {
        // Re-attached to a job with a long log: progress only needs the recent part.
        this.offset = Math.max(0, status.size - 1024 * 1024);
        first = false;
      }
      if (status.final) {
        await this.catchUp();
        this.finish();
        this.runner.settle(this.job, status);
        return;
      }
      failures = 0;
      const script = this.job.slurmJobId
        ? slurmFollowScript({ logPath: `${this.job.jobDir}/log`, offset: this.offset, slurmJobId: this.job.slurmJobId })
        : followScript({ logPath: `${this.job.jobDir}/log`, offset: this.offset, pid: this.job.pid ?? 0 });
      this.handle = this.transport.stream(script, (chunk) => this.onBytes(chunk));
      const code = await this.handle.done.catch(() => 255);
      this.handle = undefined;
      if (code !== 0 && !this.stopped) await sleep(300);
    }
    if (this.emitTimer) clearTimeout(this.emitTimer);
  }

  private async catchUp(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const rest = await this.transport.exec(readLogScript({ logPath: `${this.job.jobDir}/log`, from: this.offset }));
        if (rest.stdout.length) this.onBytes(rest.stdout);
        return;
      } catch {
        await sleep(500 * (attempt + 1));
      }
    }
  }

  private finish(): void {
    if (this.carry.length) {
      const text = this.masker.push(this.carry.toString('utf8'));
      this.carry = Buffer.alloc(0);
      if (text) this.deliver(text);
    }
    const rest = this.masker.flush();
    if (rest) this.deliver(rest);
    if (this.emitTimer) clearTimeout(this.emitTimer);
    this.job.progress = { ...this.tracker.progress };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Launches, follows, cancels and settles jobs on local, ssh and Slurm targets. One instance per client
 * (extension host or CLI process); the registry is its memory across restarts.
 */
export class JobRunner {
  readonly log: Logger;
  private readonly transports = new Map<string, Transport>();
  private readonly homes = new Map<string, string>();
  private readonly monitors = new Map<string, Monitor>();
  private readonly secretValues = new Map<string, Record<string, string>>();
  private readonly starting = new Set<string>();
  private readonly listeners = new Set<(job: JobRecord) => void>();
  private disposed = false;

  constructor(private readonly options: RunnerOptions) {
    this.log = options.logger ?? silentLogger;
  }

  get registry(): JobRegistry {
    return this.options.registry;
  }

  onDidChange(listener: (job: JobRecord) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Persists the job and tells listeners. */
  changed(job: JobRecord): void {
    if (this.disposed) return;
    this.registry.put(job);
    for (const listener of this.listeners) listener(job);
  }

  transport(target: string): Transport {
    let transport = this.transports.get(target);
    if (!transport) {
      transport = transportFor(parseTarget(target), this.options.ssh, this.options.localEnv);
      this.transports.set(target, transport);
    }
    return transport;
  }

  private limit(target: string): number {
    const option = this.options.maxConcurrentPerTarget ?? 1;
    return Math.max(1, typeof option === 'function' ? option(target) : option);
  }

  /** Queues a job; it starts when its target has a free slot and its GPUs are not used by a running job. */
  submit(request: LaunchRequest): JobRecord {
    parseTarget(request.target);
    if (request.argv.length === 0) throw new Error('Nothing to run: the command is empty');
    const secrets = request.secrets ?? {};
    for (const name of [...Object.keys(request.env ?? {}), ...Object.keys(secrets)]) {
      if (!isValidEnvName(name)) throw new Error(`'${name}' is not a valid environment variable name`);
    }
    const { secrets: _omit, ...persisted } = request;
    // Well-known token names given as plain env are moved to the secrets, so they are masked and not persisted.
    const env = { ...(persisted.env ?? {}) };
    for (const name of wellKnownSecretNames) {
      if (env[name] !== undefined) {
        secrets[name] = env[name];
        delete env[name];
      }
    }
    const job: JobRecord = {
      id: newJobId(),
      request: { ...persisted, env, secretNames: Object.keys(secrets) },
      state: 'queued',
      createdAt: Date.now(),
    };
    this.secretValues.set(job.id, secrets);
    this.changed(job);
    this.pump();
    return job;
  }

  /** Starts queued jobs, first come first served per target (a job that cannot start blocks later ones there). */
  pump(): void {
    if (this.disposed) return;
    const blocked = new Set<string>();
    const all = this.registry.all();
    for (const job of all.filter((j) => j.state === 'queued')) {
      const target = job.request.target;
      if (this.starting.has(job.id) || blocked.has(target)) continue;
      const active = this.registry.all().filter((j) => j.request.target === target && (j.state === 'running' || this.starting.has(j.id)));
      const gpus = job.request.gpus;
      const clash = gpus !== undefined && active.some((a) => a.request.gpus === undefined || a.request.gpus.some((g) => gpus.includes(g)));
      if (active.length >= this.limit(target) || (active.length > 0 && clash)) {
        blocked.add(target);
        continue;
      }
      this.starting.add(job.id);
      void this.start(job).finally(() => {
        this.starting.delete(job.id);
        this.pump();
      });
    }
  }

  /** The absolute remote root on a target (`~` expanded there). */
  async remoteRoot(target: string): Promise<string> {
    const option = this.options.remoteRoot;
    const root = (typeof option === 'function' ? option() : option) || '~/.finetune-workbench';
    if (!root.startsWith('~')) return root.replace(/\/+$/, '');
    let home = this.homes.get(target);
    if (home === undefined) {
      const result = await this.transport(target).exec(homeScript, { timeoutMs: 30_000 });
      home = result.stdout.toString('utf8').trim();
      if (result.code !== 0 || !home.startsWith('/')) throw new Error(`Cannot read $HOME on ${target}: ${result.stderr.trim()}`);
      this.homes.set(target, home);
    }
    return `${home}${root.slice(1)}`.replace(/\/+$/, '');
  }

  private async secretsFor(job: JobRecord): Promise<Record<string, string>> {
    const known = this.secretValues.get(job.id) ?? {};
    for (const name of job.request.secretNames) {
      if (known[name] === undefined && this.options.secretLookup) {
        const value = await this.options.secretLookup(name);
        if (value !== undefined) known[name] = value;
      }
    }
    this.secretValues.set(job.id, known);
    return known;
  }

  private maskerFor(job: JobRecord): SecretMasker {
    return new SecretMasker(Object.values(this.secretValues.get(job.id) ?? {}));
  }

  private async start(job: JobRecord): Promise<void> {
    const request = job.request;
    try {
      const spec = parseTarget(request.target);
      const transport = this.transport(request.target);
      const root = await this.remoteRoot(request.target);
      const jobDir = `${root}/jobs/${job.id}`;
      let cwd: string;
      if (sshHostOf(spec) !== undefined && transport.rsync) {
        const base = path.basename(request.localDir).replace(/[^A-Za-z0-9_.-]/g, '_') || 'workspace';
        const workspace = `${root}/workspaces/${base}-${createHash('sha256').update(request.localDir).digest('hex').slice(0, 8)}`;
        if (request.sync !== false) {
          await rsyncToTarget({ localDir: request.localDir, remoteDir: workspace, sshShell: transport.rsync.shell, host: transport.rsync.host, exclude: typeof this.options.syncExclude === 'function' ? this.options.syncExclude(request.localDir) : (this.options.syncExclude ?? []) });
        }
        cwd = path.posix.join(workspace, request.relativeCwd ?? '');
      } else {
        cwd = path.join(request.localDir, request.relativeCwd ?? '');
      }
      const env: Record<string, string> = { ...(request.env ?? {}) };
      if (request.gpus) env.CUDA_VISIBLE_DEVICES = request.gpus.join(',');
      // Python block-buffers stdout into a file; the Trainer's log dicts would only appear at exit.
      if (env.PYTHONUNBUFFERED === undefined) env.PYTHONUNBUFFERED = '1';
      // Ports given to this client's other live jobs on the target; the target's listening ports are checked there.
      const taken = new Set<number>();
      for (const other of this.registry.all()) if (other.id !== job.id && other.request.target === request.target && !isFinal(other.state) && other.masterPort) taken.add(other.masterPort);
      const secrets = await this.secretsFor(job);
      const command = shellCommand(request.argv);
      job.jobDir = jobDir;
      job.remoteCwd = cwd;
      job.command = command;
      if (env.MASTER_PORT !== undefined) job.masterPort = Number(env.MASTER_PORT);
      if (spec.kind === 'slurm') {
        // The job runs on a compute node this client cannot inspect; any port no other job of ours uses.
        if (env.MASTER_PORT === undefined) env.MASTER_PORT = String(pickFreePort(taken));
        job.masterPort = Number(env.MASTER_PORT);
        const envFile = envFileText({ ...env, ...secrets });
        const s = request.slurm ?? {};
        const args = [`--job-name=ftw-${job.id}`, `--output=${jobDir}/log`, `--chdir=${cwd}`];
        if (s.nodes) args.push(`--nodes=${s.nodes}`);
        if (s.gpusPerNode) args.push(`--gpus-per-node=${s.gpusPerNode}`);
        if (s.partition) args.push(`--partition=${s.partition}`);
        if (s.time) args.push(`--time=${s.time}`);
        if (s.account) args.push(`--account=${s.account}`);
        const wrapper = wrapperScript({ jobDir, cwd, command, slurm: true });
        const result = await transport.exec(slurmSubmitScript({ jobDir, wrapper, sbatchArgs: args }), { stdin: envFile, timeoutMs: 60_000 });
        const id = /^(\d+)/.exec(result.stdout.toString('utf8').trim())?.[1];
        if (result.code !== 0 || !id) throw new Error(`sbatch failed on ${request.target}: ${result.stderr.trim() || result.stdout.toString('utf8').trim()}`);
        job.slurmJobId = id;
      } else {
        const wrapper = wrapperScript({ jobDir, cwd, command });
        const envFile = envFileText({ ...env, ...secrets });
        const launched = await this.launchAndFollow(transport, job, launchScript({ jobDir, wrapper, pickPort: env.MASTER_PORT === undefined, takenPorts: [...taken] }), envFile);
        job.pid = launched.pid;
        if (launched.port !== undefined) job.masterPort = launched.port;
        job.state = 'running';
        job.startedAt = Date.now();
        this.changed(job);
        this.log.info(`job ${job.id} started on ${request.target} (pid ${job.pid}, MASTER_PORT ${job.masterPort}): ${command}`);
        this.ensureMonitor(job, launched);
        if (job.cancelRequested) void this.cancel(job.id);
        return;
      }
      job.state = 'running';
      job.startedAt = Date.now();
      this.changed(job);
      this.log.info(`job ${job.id} started on ${request.target}: ${command}`);
      if (job.cancelRequested) void this.cancel(job.id);
      this.ensureMonitor(job);
    } catch (error) {
      job.state = 'failed';
      job.message = (error as Error).message;
      job.endedAt = Date.now();
      this.changed(job);
      this.log.error(`job ${job.id} could not start: ${job.message}`);
    }
  }

  /**
   * Runs the launch script as a stream: its header says the MASTER_PORT and pid, then it turns into the log
   * follower, so launch and the first log line cost one round trip.
   */
  private launchAndFollow(transport: Transport, job: JobRecord, script: string, envFile: string): Promise<{ pid: number; port?: number; handle: StreamHandle; received: Buffer[]; setForward: (fn: (chunk: Buffer) => void) => void }> {
    return new Promise((resolve, reject) => {
      let header = Buffer.alloc(0);
      let started = false;
      const received: Buffer[] = [];
      let port: number | undefined;
      let forward: ((chunk: Buffer) => void) | undefined;
      const handle = transport.stream(
        script,
        (chunk) => {
          if (started) {
            if (forward) forward(chunk);
            else received.push(chunk);
            return;
          }
          header = Buffer.concat([header, chunk]);
          for (;;) {
            const nl = header.indexOf(10);
            if (nl < 0) return;
            const line = header.subarray(0, nl).toString('utf8');
            header = header.subarray(nl + 1);
            const portMatch = /^ftw-port (\d+)$/.exec(line);
            if (portMatch) port = Number(portMatch[1]);
            const pidMatch = /^ftw-pid (\d+)$/.exec(line);
            if (pidMatch) {
              started = true;
              if (header.length) received.push(Buffer.from(header));
              resolve({ pid: Number(pidMatch[1]), port, handle, received, setForward: (fn) => (forward = fn) });
              return;
            }
          }
        },
        { stdin: envFile },
      );
      void handle.done.then(
        (code) => {
          if (!started) reject(new Error(`Launch failed on ${job.request.target} (exit ${code}): ${handle.stderr().trim() || 'no pid printed'}`));
        },
        (error: Error) => reject(error),
      );
    });
  }

  private ensureMonitor(job: JobRecord, initial?: { handle: StreamHandle; received: Buffer[]; setForward: (fn: (chunk: Buffer) => void) => void }): Monitor {
    let monitor = this.monitors.get(job.id);
    if (!monitor) {
      monitor = new Monitor(this, job, this.transport(job.request.target), this.maskerFor(job), initial);
      if (initial) {
        // From now on the launch stream's chunks go straight to the monitor.
        const m = monitor;
        initial.setForward((chunk) => m.onBytes(chunk));
      }
      this.monitors.set(job.id, monitor);
      const m = monitor;
      void monitor.done.finally(() => {
        if (this.monitors.get(job.id) === m) this.monitors.delete(job.id);
      });
    }
    return monitor;
  }

  /** Reads the job's state on its target. */
  async status(job: JobRecord, transport = this.transport(job.request.target)): Promise<Status> {
    if (!job.jobDir) throw new Error(`Job ${job.id} has not started`);
    const script = job.slurmJobId
      ? slurmStatusScript({ jobDir: job.jobDir, slurmJobId: job.slurmJobId, tailBytes })
      : statusScript({ jobDir: job.jobDir, pgid: job.pid, tailBytes });
    const result = await transport.exec(script, { timeoutMs: 30_000 });
    const text = result.stdout.toString('utf8');
    const split = text.indexOf('@@ftw-log\n');
    if (result.code !== 0 || split < 0) throw new Error(`status of job ${job.id} failed (exit ${result.code}): ${result.stderr.trim()}`);
    const head = text.slice(0, split);
    const tail = this.maskerFor(job).maskAll(text.slice(split + '@@ftw-log\n'.length));
    const size = Number(/^size (\d+)/m.exec(head)?.[1] ?? 0);
    const exitMatch = /^exit (-?\d+)/m.exec(head);
    const exitCode = exitMatch ? Number(exitMatch[1]) : undefined;
    const cancelled = job.cancelRequested === true;
    const fromExit = (code: number): Status => ({ final: true, state: code === 0 ? 'succeeded' : cancelled ? 'cancelled' : 'failed', exitCode: code, size, tail });
    if (job.slurmJobId) {
      const queueState = /^squeue (\S*)/m.exec(head)?.[1] ?? '';
      if (queueState && !/^(COMPLETED|CANCELLED|FAILED|TIMEOUT)/.test(queueState)) return { final: false, state: 'running', size, tail, slurmState: queueState };
      if (exitCode !== undefined) return fromExit(exitCode);
      const slurmState = /JobState=(\S+)/.exec(head)?.[1];
      if (slurmState === 'COMPLETED') return { final: true, state: 'succeeded', exitCode: 0, size, tail, slurmState };
      if (slurmState === 'CANCELLED' || (cancelled && !slurmState)) return { final: true, state: 'cancelled', size, tail, slurmState };
      if (slurmState) return { final: true, state: 'failed', size, tail, slurmState };
      return { final: true, state: 'lost', size, tail };
    }
    if (exitCode !== undefined) return fromExit(exitCode);
    if (/^running/m.test(head)) return { final: false, state: 'running', size, tail };
    return { final: true, state: cancelled ? 'cancelled' : 'lost', size, tail };
  }

  /** Records the final state of a job. */
  settle(job: JobRecord, status: Status): void {
    job.state = status.state;
    job.exitCode = status.exitCode;
    job.endedAt = job.endedAt ?? Date.now();
    if (status.state === 'failed') job.cause = detectFailureCause(status.tail);
    if (status.state === 'lost') job.message = 'The job is gone from its target without an exit code (killed, the machine rebooted, or its folder was removed).';
    if (status.slurmState && status.state !== 'succeeded') job.message = `Slurm state ${status.slurmState}`;
    this.changed(job);
    this.log.info(`job ${job.id} ${job.state}${job.exitCode !== undefined ? ` (exit ${job.exitCode})` : ''}${job.cause ? `: ${job.cause.summary}` : ''}`);
    this.pump();
  }

  /** Reads the job's state once: settles it if it ended, otherwise updates its progress from the log tail. */
  async refresh(id: string): Promise<JobRecord> {
    const job = this.registry.get(id);
    if (!job || isFinal(job.state) || !job.jobDir || this.monitors.has(job.id)) return job as JobRecord;
    const status = await this.status(job);
    if (status.final) {
      this.settle(job, status);
    } else {
      const tracker = new ProgressTracker();
      tracker.push(status.tail);
      if (tracker.progress.step !== undefined || tracker.progress.lastMetrics) job.progress = { ...job.progress, ...tracker.progress };
      job.message = status.slurmState ? `Slurm state ${status.slurmState}` : job.message;
      this.changed(job);
    }
    return job;
  }

  /**
   * After a reload or restart: follows every job the registry says is running (settling those that ended
   * meanwhile from their exit-code files) and starts queued ones.
   */
  reattach(): void {
    for (const job of this.registry.all()) if (job.state === 'running') this.ensureMonitor(job);
    this.pump();
  }

  /** Resolves when the job reaches a final state. */
  waitFor(id: string, until: (job: JobRecord) => boolean = (j) => isFinal(j.state)): Promise<JobRecord> {
    const job = this.registry.get(id);
    if (!job) return Promise.reject(new Error(`No job ${id}`));
    if (until(job)) return Promise.resolve(job);
    return new Promise((resolve) => {
      const subscription = this.onDidChange((changed) => {
        if (changed.id === job.id && until(changed)) {
          subscription.dispose();
          resolve(changed);
        }
      });
    });
  }

  /**
   * Hands the job's log to onText from the beginning, then live until the job ends (without gaps or
   * duplicates across reconnects), with secrets masked. Resolves with the settled job.
   */
  async follow(id: string, onText: (text: string) => void, options: { signal?: AbortSignal; fromStart?: boolean } = {}): Promise<JobRecord> {
    let job = this.registry.get(id);
    if (!job) throw new Error(`No job ${id}`);
    if (job.state === 'queued') job = await this.waitFor(job.id, (j) => j.state !== 'queued');
    if (!job.jobDir) return job;
    await this.secretsFor(job);
    if (isFinal(job.state)) {
      const all = await this.transport(job.request.target).exec(readLogScript({ logPath: `${job.jobDir}/log`, from: 0 }));
      onText(this.maskerFor(job).maskAll(all.stdout.toString('utf8')));
      return job;
    }
    const monitor = this.ensureMonitor(job);
    const buffered: string[] = [];
    let live = false;
    const subscriber = (text: string) => (live ? onText(text) : buffered.push(text));
    monitor.subscribers.add(subscriber);
    try {
      const upTo = monitor.emittedOffset;
      if (options.fromStart !== false && upTo > 0) {
        const history = await this.transport(job.request.target).exec(readLogScript({ logPath: `${job.jobDir}/log`, from: 0, to: upTo }));
        onText(monitor.masker.maskAll(history.stdout.toString('utf8')));
      }
      for (const text of buffered) onText(text);
      live = true;
      await new Promise<void>((resolve) => {
        options.signal?.addEventListener('abort', () => resolve(), { once: true });
        void monitor.done.then(() => resolve());
      });
    } finally {
      monitor.subscribers.delete(subscriber);
    }
    return this.registry.get(job.id) ?? job;
  }

  /** Cancels a job: a queued one leaves the queue; a running one gets SIGINT, SIGTERM, SIGKILL (Slurm: scancel). */
  async cancel(id: string): Promise<JobRecord> {
    const job = this.registry.get(id);
    if (!job) throw new Error(`No job ${id}`);
    if (isFinal(job.state)) return job;
    job.cancelRequested = true;
    if (job.state === 'queued' && !this.starting.has(job.id)) {
      job.state = 'cancelled';
      job.endedAt = Date.now();
      this.changed(job);
      this.pump();
      return job;
    }
    this.changed(job);
    if (!job.jobDir) return job; // still starting: start() cancels it once it has a pid
    const transport = this.transport(job.request.target);
    const grace = this.options.cancelGraceMs ?? 10_000;
    const script = job.slurmJobId ? slurmCancelScript({ slurmJobId: job.slurmJobId, graceMs: grace }) : cancelScript({ jobDir: job.jobDir, pgid: job.pid ?? 0, graceMs: grace });
    const result = await transport.exec(script, { timeoutMs: grace * 3 + 30_000 });
    const said = result.stdout.toString('utf8').trim();
    if (/not-ours/.test(said)) throw new Error(`Process group ${job.pid} on ${job.request.target} no longer belongs to job ${job.id}; nothing was signalled.`);
    if (/still-alive/.test(said)) throw new Error(`Some processes of job ${job.id} survived SIGKILL (uninterruptible I/O?); check with ps on ${job.request.target}.`);
    const monitor = this.monitors.get(job.id);
    if (monitor) await monitor.done;
    else this.settle(job, await this.status(job, transport));
    return this.registry.get(job.id) ?? job;
  }

  /** Reads the whole log (masked). */
  async readLog(id: string): Promise<string> {
    const job = this.registry.get(id);
    if (!job?.jobDir) return '';
    await this.secretsFor(job);
    const result = await this.transport(job.request.target).exec(readLogScript({ logPath: `${job.jobDir}/log`, from: 0 }));
    return this.maskerFor(job).maskAll(result.stdout.toString('utf8'));
  }

  async probeGpus(target: string): Promise<GpuProbe> {
    const result = await this.transport(target).exec(gpuProbeScript(this.options.python ?? 'python3'), { timeoutMs: 60_000 });
    return parseGpuProbe(result.stdout.toString('utf8'));
  }

  /** Stops following (jobs keep running on their targets). closeConnections also ends the shared ssh connections. */
  async dispose(closeConnections = false): Promise<void> {
    this.disposed = true;
    for (const monitor of this.monitors.values()) monitor.stop();
    await Promise.all([...this.monitors.values()].map((m) => m.done));
    if (closeConnections) await Promise.all([...this.transports.values()].map((t) => t.dispose()));
  }
}

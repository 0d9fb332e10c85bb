import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { quoteShellArg } from './shellQuote';

/** Where a job runs. Parsed from `local`, `<ssh-host>`, `user@host[:port]`, `slurm:<login-host>` or `slurm:local`. */
export type TargetSpec =
  | { readonly kind: 'local' }
  | { readonly kind: 'ssh'; readonly host: string }
  | { readonly kind: 'slurm'; readonly host: string | 'local' };

export function parseTarget(text: string): TargetSpec {
  const value = text.trim();
  if (value === '' ) throw new Error('The target is empty: use local, an SSH host, user@host[:port] or slurm:<login-host>');
  if (value === 'local') return { kind: 'local' };
  if (value.startsWith('slurm:')) {
    const host = value.slice('slurm:'.length);
    if (host === '') throw new Error(`Target '${text}' names no login host: use slurm:<login-host> or slurm:local`);
    validateHost(host, text);
    return { kind: 'slurm', host };
  }
  validateHost(value, text);
  return { kind: 'ssh', host: value };
}

function validateHost(host: string, original: string): void {
  // A host that starts with '-' would be read by ssh as an option; whitespace and control characters are never valid.
  if (host.startsWith('-') || /\s/.test(host) || [...host].some((c) => c.charCodeAt(0) < 0x20)) throw new Error(`Target '${original}' is not a valid host name`);
}

export function targetLabel(spec: TargetSpec): string {
  return spec.kind === 'local' ? 'local' : spec.kind === 'ssh' ? spec.host : `slurm:${spec.host}`;
}

/** The ssh host of a target, or undefined when commands run on this machine. */
export function sshHostOf(spec: TargetSpec): string | undefined {
  if (spec.kind === 'ssh') return spec.host;
  if (spec.kind === 'slurm' && spec.host !== 'local') return spec.host;
  return undefined;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface StreamHandle {
  /** Resolves with the exit code of the stream command (255 for a dropped ssh connection). */
  readonly done: Promise<number>;
  stop(): void;
  /** The last few KB the command wrote to stderr. */
  stderr(): string;
}

export interface StreamOptions {
  readonly stdin?: string | Buffer;
}

/**
 * Runs bash scripts on a target. Scripts are passed to `bash -c` as one quoted argument, so the login shell
 * of the remote user only ever sees `bash -c '<script>'`.
 */
export interface Transport {
  readonly label: string;
  exec(script: string, options?: { stdin?: string | Buffer; timeoutMs?: number }): Promise<ExecResult>;
  stream(script: string, onData: (chunk: Buffer) => void, options?: StreamOptions): StreamHandle;
  /** For rsync: the remote shell command (`-e`) and the `host:` prefix, or undefined for a local target. */
  readonly rsync?: { readonly shell: string; readonly host: string };
  dispose(): Promise<void>;
}

/** Raised when ssh refuses the host key; the message tells the user how to accept it. */
export class HostKeyError extends Error {
  constructor(
    readonly host: string,
    readonly changed: boolean,
    detail: string,
  ) {
    super(
      changed
        ? `The host key of ${host} has CHANGED since it was accepted. This can be a man-in-the-middle attack or a reinstalled server. ` +
            `Check with the server's administrator, then remove the old key with \`ssh-keygen -R ${host}\` and connect once with \`ssh ${host}\`. (${detail})`
        : `The host key of ${host} is not known yet, and Finetune Workbench never turns host-key checking off. ` +
            `Connect once in a terminal with \`ssh ${host}\`, compare the fingerprint with the one your administrator gave you, and answer yes; ` +
            `then launch again. (${detail})`,
    );
    this.name = 'HostKeyError';
  }
}

/** ssh could not connect (exit 255) for a reason other than the host key. */
export class ConnectionError extends Error {
  constructor(
    readonly host: string,
    detail: string,
  ) {
    super(`Cannot connect to ${host}: ${detail}`);
    this.name = 'ConnectionError';
  }
}

function collect(child: ChildProcess, stdin: string | Buffer | undefined, timeoutMs: number | undefined): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin?.on('error', () => undefined); // the command may exit before reading stdin
    child.stdin?.end(stdin ?? '');
  });
}

function streamChild(child: ChildProcess, onData: (chunk: Buffer) => void, options: StreamOptions = {}): StreamHandle {
  let stderr = '';
  child.stdout?.on('data', onData);
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4096)));
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(options.stdin ?? '');
  const done = new Promise<number>((resolve) => {
    child.on('error', () => resolve(255));
    child.on('close', (code) => resolve(code ?? 255));
  });
  return { done, stop: () => child.kill('SIGTERM'), stderr: () => stderr };
}

export class LocalTransport implements Transport {
  readonly label = 'local';
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  exec(script: string, options: { stdin?: string | Buffer; timeoutMs?: number } = {}): Promise<ExecResult> {
    return collect(spawn('bash', ['-c', script], { env: this.env, stdio: 'pipe' }), options.stdin, options.timeoutMs);
  }

  stream(script: string, onData: (chunk: Buffer) => void, options?: StreamOptions): StreamHandle {
    return streamChild(spawn('bash', ['-c', script], { env: this.env, stdio: 'pipe' }), onData, options);
  }

  async dispose(): Promise<void> {}
}

export interface SshOptions {
  /** An ssh_config file instead of ~/.ssh/config (`ssh -F`); tests use a private one. */
  readonly configFile?: string;
  /** Folder for the ControlMaster sockets (short path: unix sockets are limited to ~100 bytes). */
  readonly controlDir?: string;
  /** Seconds the shared connection stays open after the last command. */
  readonly controlPersistS?: number;
  readonly connectTimeoutS?: number;
}

export function defaultControlDir(): string {
  const base = process.env.XDG_RUNTIME_DIR && existsDir(process.env.XDG_RUNTIME_DIR) ? process.env.XDG_RUNTIME_DIR : os.tmpdir();
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return path.join(base, `ftw-ssh-${uid}`);
}

function existsDir(p: string): boolean {
  try {
    mkdirSync(p, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * The system `ssh`, so the user's keys, agent, ProxyJump and ~/.ssh/config work as in a terminal. One
 * multiplexed connection per host (ControlMaster=auto + ControlPersist). BatchMode stops ssh from prompting
 * (a prompt nobody can answer would hang); StrictHostKeyChecking is left at the user's setting.
 */
export class SshTransport implements Transport {
  readonly rsync: { shell: string; host: string };
  private readonly baseArgs: string[];

  constructor(
    readonly host: string,
    options: SshOptions = {},
  ) {
    const controlDir = options.controlDir ?? defaultControlDir();
    mkdirSync(controlDir, { recursive: true, mode: 0o700 });
    this.baseArgs = [
      ...(options.configFile ? ['-F', options.configFile] : []),
      '-o', 'BatchMode=yes',
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${path.join(controlDir, '%C')}`,
      '-o', `ControlPersist=${options.controlPersistS ?? 600}`,
      '-o', `ConnectTimeout=${options.connectTimeoutS ?? 15}`,
      '-o', 'ServerAliveInterval=15',
      '-o', 'ServerAliveCountMax=3',
    ];
    // rsync splits -e on spaces and honours single quotes (not backslashes), so each argument is single-quoted.
    this.rsync = { shell: ['ssh', ...this.baseArgs].map((a) => (/^[A-Za-z0-9_=%/.:-]+$/.test(a) ? a : `'${a}'`)).join(' '), host };
  }

  get label(): string {
    return this.host;
  }

  /** ssh arguments for running `script` with bash on the host. */
  sshArgs(script: string): string[] {
    return [...this.baseArgs, '--', this.host, `bash -c ${quoteShellArg(script)}`];
  }

  async exec(script: string, options: { stdin?: string | Buffer; timeoutMs?: number } = {}): Promise<ExecResult> {
    const result = await collect(spawn('ssh', this.sshArgs(script), { stdio: 'pipe' }), options.stdin, options.timeoutMs);
    if (result.code === 255) this.throwIfConnectionFailed(result.stderr);
    return result;
  }

  stream(script: string, onData: (chunk: Buffer) => void, options?: StreamOptions): StreamHandle {
    const handle = streamChild(spawn('ssh', this.sshArgs(script), { stdio: 'pipe' }), onData, options);
    return {
      stop: handle.stop,
      stderr: handle.stderr,
      done: handle.done.then((code) => {
        if (code === 255 && /Host key verification failed|HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known/i.test(handle.stderr())) {
          this.throwIfConnectionFailed(handle.stderr());
        }
        return code;
      }),
    };
  }

  private throwIfConnectionFailed(stderr: string): void {
    const detail = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' ');
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) throw new HostKeyError(this.host, true, detail);
    if (/Host key verification failed|No \S+ host key is known/i.test(stderr)) throw new HostKeyError(this.host, false, detail);
    if (/^(ssh|ssh_exchange_identification|kex_exchange_identification|Connection|Permission denied|Could not resolve)/im.test(stderr) || stderr.includes('ssh:')) {
      throw new ConnectionError(this.host, detail || 'ssh exited with 255');
    }
  }

  /** Closes the shared connection (the master process) if one is open. */
  async dispose(): Promise<void> {
    await collect(spawn('ssh', [...this.baseArgs, '-O', 'exit', '--', this.host], { stdio: 'pipe' }), undefined, 5000).catch(() => undefined);
  }
}

/** The settings `ssh -G` resolves for a host: the user's config, Include files and defaults applied. */
export interface ResolvedSshHost {
  readonly hostname: string;
  readonly user: string;
  readonly port: number;
  readonly proxyJump?: string;
  readonly identityFiles: string[];
  readonly raw: ReadonlyMap<string, string[]>;
}

export function parseSshG(output: string): ResolvedSshHost {
  const raw = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const key = m[1].toLowerCase();
    raw.set(key, [...(raw.get(key) ?? []), m[2]]);
  }
  const first = (k: string) => raw.get(k)?.[0];
  const hostname = first('hostname');
  if (!hostname) throw new Error('ssh -G printed no hostname');
  const proxy = first('proxyjump');
  return {
    hostname,
    user: first('user') ?? '',
    port: Number(first('port') ?? 22),
    proxyJump: proxy && proxy !== 'none' ? proxy : undefined,
    identityFiles: raw.get('identityfile') ?? [],
    raw,
  };
}

/** Resolves a host the way `ssh` would (`ssh -G`), without connecting. */
export async function resolveSshHost(host: string, configFile?: string): Promise<ResolvedSshHost> {
  const result = await collect(spawn('ssh', [...(configFile ? ['-F', configFile] : []), '-G', '--', host], { stdio: 'pipe' }), undefined, 10_000);
  if (result.code !== 0) throw new Error(`ssh -G ${host} failed: ${result.stderr.trim()}`);
  return parseSshG(result.stdout.toString('utf8'));
}

/** Host aliases named in one ssh_config text (Host lines without wildcards); ssh -G resolves Include files. */
export function sshConfigHosts(configText: string): string[] {
  const hosts: string[] = [];
  for (const line of configText.split('\n')) {
    const m = /^\s*Host\s+(.+)$/i.exec(line);
    if (!m) continue;
    for (const name of m[1].trim().split(/\s+/)) if (!/[*?!]/.test(name) && !hosts.includes(name)) hosts.push(name);
  }
  return hosts;
}

export function transportFor(spec: TargetSpec, ssh: SshOptions = {}, env?: NodeJS.ProcessEnv): Transport {
  const host = sshHostOf(spec);
  return host ? new SshTransport(host, ssh) : new LocalTransport(env);
}

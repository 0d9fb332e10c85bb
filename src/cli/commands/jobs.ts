import os from 'node:os';
import path from 'node:path';
import { isFinal, scriptArgv, type JobRecord, type LaunchRequest } from '../../core/jobs/job';
import { formatDuration, formatProgress } from '../../core/jobs/progress';
import { JobRegistry } from '../../core/jobs/registry';
import { JobRunner } from '../../core/jobs/runner';
import { parseTarget } from '../../core/jobs/transport';
import { gpuQueryFields, parseGpuQueryCsv, type GpuInfo } from '../../core/gpu/nvidiaSmi';
import { probeTargetFacts } from '../../core/jobs/gpuProbe';
import { chosenGpus, formatPreflight, runPreflight } from '../../core/jobs/preflight';
import { shellScriptLinter } from '../../core/script/linters';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type { Logger } from '../../core/logger';
import type { CliIo } from '../io';
import { parseCliArgs } from '../args';
import { ExitCode, UsageError } from '../exitCodes';
import type { Subcommand } from './types';

/** Where the CLI keeps its job registry: $FTW_STATE_DIR, else $XDG_STATE_HOME/finetune-workbench, else ~/.local/state/finetune-workbench. */
export function cliStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FTW_STATE_DIR) return env.FTW_STATE_DIR;
  return path.join(env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'finetune-workbench');
}

function stderrLogger(io: CliIo, verbose: boolean): Logger {
  const line = (level: string, message: unknown) => io.stderr(`ftw: ${level}${message instanceof Error ? message.message : String(message)}\n`);
  return {
    trace() {},
    debug() {},
    info: (m) => verbose && line('', m),
    warn: (m) => line('warning: ', m),
    error: (e) => line('error: ', e),
  };
}

function makeRunner(io: CliIo, options: { sshConfig?: string; verbose?: boolean } = {}): JobRunner {
  return new JobRunner({
    registry: new JobRegistry(cliStateDir()),
    remoteRoot: process.env.FTW_REMOTE_ROOT || '~/.finetune-workbench',
    ssh: { configFile: options.sshConfig ?? process.env.FTW_SSH_CONFIG, controlDir: process.env.FTW_SSH_CONTROL_DIR || undefined },
    logger: stderrLogger(io, options.verbose ?? false),
    cancelGraceMs: Number(process.env.FTW_CANCEL_GRACE_MS ?? 10_000),
    syncExclude: ['output/', 'checkpoints/', '*.safetensors', '*.bin', '.git/'],
    maxConcurrentPerTarget: Number(process.env.FTW_MAX_CONCURRENT ?? 1),
  });
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string | boolean }>;

function parse(args: string[], options: OptionSpec): { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] } {
  const parsed = parseCliArgs(args, options);
  return { values: parsed.values as Record<string, string | string[] | boolean | undefined>, positionals: parsed.positionals };
}

export function describeJob(job: JobRecord, now = Date.now()): string {
  const elapsed = job.startedAt ? formatDuration(((job.endedAt ?? now) - job.startedAt) / 1000) : '-';
  const exit = job.exitCode !== undefined ? `exit ${job.exitCode}` : '';
  const progress = job.progress ? formatProgress(job.progress) : '';
  const cause = job.cause?.summary ?? (job.state === 'failed' || job.state === 'lost' ? job.message ?? '' : '');
  return [job.id, job.state.padEnd(9), job.request.target, elapsed, progress, exit, cause].filter(Boolean).join('  ');
}

async function followToEnd(runner: JobRunner, job: JobRecord, io: CliIo): Promise<JobRecord | undefined> {
  const controller = new AbortController();
  let detached = false;
  const onSigint = () => {
    detached = true;
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    const done = await runner.follow(job.id, (text) => io.stdout(text), { signal: controller.signal });
    if (detached) {
      io.stderr(`\nftw: detached; job ${job.id} keeps running. Follow it with \`ftw logs ${job.id} --follow\`, stop it with \`ftw cancel ${job.id}\`.\n`);
      return undefined;
    }
    return done;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

function report(job: JobRecord, io: CliIo): ExitCode {
  io.stderr(`ftw: job ${job.id} ${job.state}${job.exitCode !== undefined ? ` (exit ${job.exitCode})` : ''}${job.progress?.step !== undefined ? `, ${formatProgress(job.progress)}` : ''}\n`);
  if (job.cause) io.stderr(`ftw: cause: ${job.cause.summary}\n  ${job.cause.evidence}\n  hint: ${job.cause.hint}\n`);
  else if (job.message && job.state !== 'succeeded') io.stderr(`ftw: ${job.message}\n`);
  return job.state === 'succeeded' ? ExitCode.Clean : ExitCode.Findings;
}

const runUsage = `Usage: ftw run <script> [--target <local|ssh-host|user@host[:port]|slurm:host>] [--gpus 0,1] [--env K=V]... [--secret NAME]... [--detach] [-- script args]

Launches a script as a detached job (its own process group, log file, pid and exit-code files in a job folder
on the target). Remote targets get the current folder synced first with rsync (.gitignore honoured).
  --target <t>       where to run (default local); SSH hosts come from ~/.ssh/config (--ssh-config to use another file)
                     one shared connection per host (ControlMaster sockets in $FTW_SSH_CONTROL_DIR, default $XDG_RUNTIME_DIR or /tmp)
  --gpus <list>      CUDA_VISIBLE_DEVICES for the job, e.g. 0,1
  --env K=V          extra environment variable (repeatable)
  --secret NAME      pass the value of NAME from this shell's environment as a secret (masked in logs, never on a command line)
  --detach           return once the job has started instead of streaming its log
  --no-sync          do not rsync the folder to a remote target
  --no-preflight     skip the preflight (lint of the script, its datasets and DeepSpeed config; GPU probe; memory estimate)
  --force            launch even when the preflight finds errors (they are still printed)
  --nvidia-smi <f>   GPU facts from saved \`nvidia-smi --query-gpu=... --format=csv\` output instead of probing the target
  --nodes N --gpus-per-node G --partition P --time T --account A   Slurm options (slurm:<host> targets)
Ctrl+C while streaming detaches; the job keeps running.
Exit codes: 0 the job succeeded (or started, with --detach), 1 it failed, was cancelled or the preflight found errors, 2 usage or I/O error.`;

function isShellScript(file: string): boolean {
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(512);
      return shellScriptLinter.matches(file, buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8'));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Runs and prints the preflight; GPU facts from --nvidia-smi, else the target's probe (Slurm: not the compute nodes, so none). */
async function preflight(runner: JobRunner, request: LaunchRequest, script: string, nvidiaSmiFile: string | undefined, io: CliIo) {
  let gpus: GpuInfo[] = [];
  let transformersVersion: string | undefined;
  let gpuSource: string | undefined;
  let targetFacts: ReturnType<typeof probeTargetFacts> = {};
  if (nvidiaSmiFile) {
    try {
      gpus = parseGpuQueryCsv(readFileSync(path.resolve(io.cwd, nvidiaSmiFile), 'utf8'), gpuQueryFields);
    } catch (error) {
      throw new UsageError(`--nvidia-smi: ${(error as Error).message}`);
    }
    gpuSource = nvidiaSmiFile;
  } else if (parseTarget(request.target).kind !== 'slurm') {
    const probe = await runner.probeGpus(request.target).catch((error: Error) => ({ gpus: [], transformersVersion: undefined, error: error.message }));
    if (probe.error) io.stderr(`ftw: preflight: GPU probe of ${request.target}: ${probe.error}; GPU checks skipped\n`);
    gpus = probe.gpus;
    transformersVersion = probe.transformersVersion;
    gpuSource = `probe of ${request.target}`;
    targetFacts = probeTargetFacts(probe, request.target);
  }
  const chosen = chosenGpus(gpus, request.gpus);
  if (request.gpus?.length && chosen.length < request.gpus.length && gpus.length) io.stderr(`ftw: preflight: --gpus ${request.gpus.join(',')} names GPUs the target does not have (it has ${gpus.map((g) => g.index).join(',')})\n`);
  // The job runs from the synced folder (the current one), so relative paths in the script resolve there.
  const result = await runPreflight({ scriptPath: script, launchDir: io.cwd, gpus: chosen, gpuSource: chosen.length ? gpuSource : undefined, transformersVersion, ...targetFacts });
  for (const line of formatPreflight(result, io.cwd)) io.stderr(`${line}\n`);
  return result.verdict;
}

export const runCommand: Subcommand = {
  name: 'run',
  summary: 'launch a script as a detached job on local, an SSH host or Slurm',
  usage: runUsage,
  async run(args, io) {
    const dash = args.indexOf('--');
    const own = dash >= 0 ? args.slice(0, dash) : args;
    const scriptArgs = dash >= 0 ? args.slice(dash + 1) : [];
    const parsed = parse(own, {
      target: { type: 'string', default: 'local' },
      gpus: { type: 'string' },
      env: { type: 'string', multiple: true },
      secret: { type: 'string', multiple: true },
      detach: { type: 'boolean' },
      'no-sync': { type: 'boolean' },
      'ssh-config': { type: 'string' },
      nodes: { type: 'string' },
      'gpus-per-node': { type: 'string' },
      partition: { type: 'string' },
      time: { type: 'string' },
      account: { type: 'string' },
      verbose: { type: 'boolean' },
      'no-preflight': { type: 'boolean' },
      force: { type: 'boolean' },
      'nvidia-smi': { type: 'string' },
    });
    const [script, ...extra] = parsed.positionals;
    if (!script) throw new UsageError('name the script to run');
    const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
    try {
      parseTarget(String(v.target));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const absolute = path.resolve(io.cwd, script);
    const relative = path.relative(io.cwd, absolute);
    if (relative.startsWith('..') && String(v.target) !== 'local') throw new UsageError(`${script} is outside the current folder, which is what gets synced to the target`);
    const env: Record<string, string> = {};
    for (const pair of (v.env as string[] | undefined) ?? []) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--env expects NAME=VALUE, got '${pair}'`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const secrets: Record<string, string> = {};
    for (const name of (v.secret as string[] | undefined) ?? []) {
      const value = process.env[name];
      if (value === undefined) throw new UsageError(`--secret ${name}: ${name} is not set in this shell's environment`);
      secrets[name] = value;
    }
    let gpus: number[] | undefined;
    if (typeof v.gpus === 'string') {
      gpus = v.gpus.split(',').map((g) => Number(g.trim()));
      if (gpus.some((g) => !Number.isInteger(g) || g < 0)) throw new UsageError(`--gpus expects indices like 0,1, got '${v.gpus}'`);
    }
    const num = (key: string) => (typeof v[key] === 'string' ? Number(v[key]) : undefined);
    const request: LaunchRequest = {
      target: String(v.target),
      argv: scriptArgv(relative.startsWith('..') ? absolute : relative, [...extra, ...scriptArgs]),
      localDir: io.cwd,
      gpus,
      env,
      secrets,
      sync: v['no-sync'] !== true,
      scriptPath: absolute,
      slurm: { nodes: num('nodes'), gpusPerNode: num('gpus-per-node'), partition: v.partition as string | undefined, time: v.time as string | undefined, account: v.account as string | undefined },
    };
    const runner = makeRunner(io, { sshConfig: v['ssh-config'] as string | undefined, verbose: v.verbose === true });
    try {
      if (v['no-preflight'] !== true && isShellScript(absolute)) {
        const verdict = await preflight(runner, request, absolute, v['nvidia-smi'] as string | undefined, io);
        if (verdict === 'blocked') {
          if (v.force !== true) {
            io.stderr('ftw: preflight found errors; not launching. Fix them, or launch anyway with --force (or skip the preflight with --no-preflight).\n');
            return ExitCode.Findings;
          }
          io.stderr('ftw: preflight found errors; launching anyway (--force).\n');
        }
      }
      const job = runner.submit(request);
      io.stderr(`ftw: job ${job.id} queued on ${request.target}\n`);
      const started = await runner.waitFor(job.id, (j) => j.state !== 'queued');
      if (isFinal(started.state)) return report(started, io);
      io.stderr(`ftw: job ${job.id} running (${started.slurmJobId ? `Slurm job ${started.slurmJobId}` : `pid ${started.pid}`}) in ${started.jobDir}\n`);
      if (v.detach) {
        io.stdout(`${job.id}\n`);
        return ExitCode.Clean;
      }
      const done = await followToEnd(runner, started, io);
      return done ? report(done, io) : ExitCode.Clean;
    } finally {
      await runner.dispose();
    }
  },
};

export const jobsCommand: Subcommand = {
  name: 'jobs',
  summary: 'list jobs launched from this machine, with state, progress and exit code',
  usage: `Usage: ftw jobs [--json]

Lists the jobs in the registry (${'$'}FTW_STATE_DIR or ~/.local/state/finetune-workbench), checking running ones on
their targets first (finished ones are settled from their exit-code files).`,
  async run(args, io) {
    const parsed = parse(args, { json: { type: 'boolean' } });
    const runner = makeRunner(io);
    try {
      for (const job of runner.registry.all().filter((j) => j.state === 'running')) {
        await runner.refresh(job.id).catch((error) => io.stderr(`ftw: cannot check job ${job.id} on ${job.request.target}: ${(error as Error).message}\n`));
      }
      const jobs = runner.registry.all();
      if (parsed.values.json) io.stdout(`${JSON.stringify(jobs, null, 2)}\n`);
      else if (jobs.length === 0) io.stdout('No jobs yet. Launch one with `ftw run <script> --target <target>`.\n');
      else for (const job of jobs) io.stdout(`${describeJob(job)}\n`);
      return ExitCode.Clean;
    } finally {
      await runner.dispose();
    }
  },
};

export const logsCommand: Subcommand = {
  name: 'logs',
  summary: "print a job's log (--follow: stream it until the job ends)",
  usage: `Usage: ftw logs <id> [--follow]

Prints the job's log from its target. --follow keeps streaming until the job ends, reconnecting after a dropped
connection without gaps or repeats. A unique prefix or suffix of the id is enough.`,
  async run(args, io) {
    const parsed = parse(args, { follow: { type: 'boolean', short: 'f' } });
    const id = parsed.positionals[0];
    if (!id) throw new UsageError('name the job id (see `ftw jobs`)');
    const runner = makeRunner(io);
    try {
      const job = runner.registry.get(id);
      if (!job) throw new UsageError(`no job '${id}' (see \`ftw jobs\`)`);
      if (!parsed.values.follow) {
        io.stdout(await runner.readLog(job.id));
        return ExitCode.Clean;
      }
      const done = await followToEnd(runner, job, io);
      return done ? report(done, io) : ExitCode.Clean;
    } finally {
      await runner.dispose();
    }
  },
};

export const cancelCommand: Subcommand = {
  name: 'cancel',
  summary: 'cancel a job: SIGINT, then SIGTERM, then SIGKILL to its process group (Slurm: scancel)',
  usage: `Usage: ftw cancel <id>

Stops a job by its process group id (never by name): SIGINT so the trainer can stop cleanly, then SIGTERM, then
SIGKILL, each after a grace period (FTW_CANCEL_GRACE_MS, default 10000). Slurm jobs get scancel. A queued job
just leaves the queue.`,
  async run(args, io) {
    const parsed = parse(args, {});
    const id = parsed.positionals[0];
    if (!id) throw new UsageError('name the job id (see `ftw jobs`)');
    const runner = makeRunner(io);
    try {
      const job = runner.registry.get(id);
      if (!job) throw new UsageError(`no job '${id}' (see \`ftw jobs\`)`);
      if (job.state === 'running') await runner.refresh(job.id);
      const done = await runner.cancel(job.id);
      io.stdout(`${describeJob(done)}\n`);
      return done.state === 'cancelled' || isFinal(done.state) ? ExitCode.Clean : ExitCode.Findings;
    } finally {
      await runner.dispose();
    }
  },
};

export const gpusCommand: Subcommand = {
  name: 'gpus',
  summary: 'probe the GPUs of a target with nvidia-smi (name, memory, compute capability, processes)',
  usage: `Usage: ftw gpus [--target <t>] [--json] [--python <python>]

Runs nvidia-smi --query-gpu=... --format=csv,noheader,nounits on the target, and reports the transformers version there.`,
  async run(args, io) {
    const parsed = parse(args, { target: { type: 'string', default: 'local' }, json: { type: 'boolean' }, python: { type: 'string' } });
    const runner = new JobRunner({ registry: new JobRegistry(cliStateDir()), ssh: { configFile: process.env.FTW_SSH_CONFIG, controlDir: process.env.FTW_SSH_CONTROL_DIR || undefined }, python: parsed.values.python as string | undefined });
    try {
      const probe = await runner.probeGpus(String(parsed.values.target));
      if (parsed.values.json) io.stdout(`${JSON.stringify(probe, null, 2)}\n`);
      else {
        if (probe.error) io.stderr(`ftw gpus: ${probe.error}\n`);
        for (const g of probe.gpus) {
          io.stdout(`${g.index}  ${g.name}  ${g.memoryUsedMiB}/${g.memoryTotalMiB} MiB used  sm_${(g.computeCapability ?? '?').replace('.', '')}  ${g.processes.length} process(es)\n`);
        }
        io.stdout(`transformers ${probe.transformersVersion ?? 'not found'}\n`);
      }
      return probe.error ? ExitCode.UsageOrIo : ExitCode.Clean;
    } finally {
      await runner.dispose();
    }
  },
};

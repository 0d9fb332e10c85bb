import type { FailureCause } from './failureCause';
import type { Progress } from './progress';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost';

export const finalStates: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'lost'];
export const isFinal = (state: JobState) => finalStates.includes(state);

export interface SlurmOptions {
  nodes?: number;
  gpusPerNode?: number;
  partition?: string;
  time?: string;
  account?: string;
}

/** What the user asked to run. Everything here is persisted; secret values are not (only their names). */
export interface LaunchRequest {
  /** `local`, an ssh host, `user@host[:port]` or `slurm:<host>`. */
  target: string;
  /** Argument vector, e.g. ['bash', 'finetune_lora.sh', '--epochs', '3']; each argument is quoted when run. */
  argv: string[];
  /** Working directory on this machine (the workspace); for remote targets it is synced first. */
  localDir: string;
  /** Working directory of the job relative to localDir ('' = localDir itself). */
  relativeCwd?: string;
  /** GPU indices for CUDA_VISIBLE_DEVICES; undefined leaves the variable alone. */
  gpus?: number[];
  env?: Record<string, string>;
  /** Secret environment values: passed like env, masked in logs, never persisted. */
  secrets?: Record<string, string>;
  /** Sync localDir to the target before launch (remote targets; default true). */
  sync?: boolean;
  slurm?: SlurmOptions;
  /** The script file the job runs (for diagnostics); absolute path on this machine. */
  scriptPath?: string;
  /** Free-form label for views. */
  label?: string;
}

export interface JobRecord {
  id: string;
  request: Omit<LaunchRequest, 'secrets'> & { secretNames: string[] };
  state: JobState;
  /** The job folder on the target (absolute path there). */
  jobDir?: string;
  /** Working directory on the target. */
  remoteCwd?: string;
  /** The command line the wrapper runs (after quoting). */
  command?: string;
  pid?: number;
  slurmJobId?: string;
  masterPort?: number;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  exitCode?: number;
  cancelRequested?: boolean;
  progress?: Progress;
  cause?: FailureCause;
  /** A message for states reached without an exit code (lost, failed to launch). */
  message?: string;
}

export function newJobId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/** The argument vector for a script: .sh with bash, .py with python3, anything else as an executable. */
export function scriptArgv(relativeScript: string, rest: readonly string[] = []): string[] {
  if (relativeScript.endsWith('.sh')) return ['bash', relativeScript, ...rest];
  if (relativeScript.endsWith('.py')) return ['python3', relativeScript, ...rest];
  return [relativeScript.includes('/') ? relativeScript : `./${relativeScript}`, ...rest];
}

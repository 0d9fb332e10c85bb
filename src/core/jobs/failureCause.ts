/** Why a job failed, read from the tail of its log. */
export type FailureKind =
  | 'cuda-oom'
  | 'bad-argument'
  | 'port-in-use'
  | 'nccl'
  | 'missing-file'
  | 'data-fetch-error'
  | 'no-checkpoint'
  | 'interrupted'
  | 'python-exception';

export interface FailureCause {
  readonly kind: FailureKind;
  /** One sentence for a notification. */
  readonly summary: string;
  /** What to do about it. */
  readonly hint: string;
  /** The log line the cause was read from. */
  readonly evidence: string;
  /** For bad-argument: the offending flag names (without dashes); for missing-file: the path. */
  readonly subjects: string[];
}

/** Lines of `data fetch error` at or above which the dataset, not a single sample, is the problem. */
export const dataFetchFloodThreshold = 20;

function lastLine(lines: string[], pattern: RegExp): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) if (pattern.test(lines[i])) return lines[i];
  return undefined;
}

const stripRank = (line: string) => line.replace(/^\[rank\d+\]:\s?/, '').trim();

/** Reads the failure cause from a log tail (any length; only text matters). Most specific cause first. */
export function detectFailureCause(logTail: string): FailureCause | undefined {
  const lines = logTail.split(/\r?\n|\r/).map(stripRank).filter((l) => l.length > 0);
  let line = lastLine(lines, /CUDA out of memory|OutOfMemoryError/);
  if (line) {
    return {
      kind: 'cuda-oom',
      summary: 'The GPU ran out of memory (CUDA out of memory).',
      hint: 'Lower the per-device batch size or model_max_length, raise gradient_accumulation_steps, use LoRA or DeepSpeed ZeRO-2/3 with CPU offload.',
      evidence: line,
      subjects: [],
    };
  }
  const dataErrors = lines.filter((l) => /data fetch error/.test(l)).length;
  if (dataErrors >= dataFetchFloodThreshold || (dataErrors > 0 && lastLine(lines, /RecursionError/))) {
    return {
      kind: 'data-fetch-error',
      summary: `The dataset loader failed on most samples (${dataErrors} 'data fetch error' lines).`,
      hint: 'Lint the dataset: missing images, wrong role keys or misplaced <image> tags make every sample fail.',
      evidence: lastLine(lines, /RecursionError/) ?? lastLine(lines, /data fetch error/) ?? '',
      subjects: [],
    };
  }
  line = lastLine(lines, /got an unexpected keyword argument '([^']+)'/);
  if (line) {
    const names = [...logTail.matchAll(/got an unexpected keyword argument '([^']+)'/g)].map((m) => m[1]);
    const unique = [...new Set(names)];
    return {
      kind: 'bad-argument',
      summary: `An argument is not accepted by this version: ${unique.map((n) => `'${n}'`).join(', ')}.`,
      hint: 'Remove or rename the argument to match the installed transformers version.',
      evidence: line,
      subjects: unique,
    };
  }
  line = lastLine(lines, /Some specified arguments are not used by the HfArgumentParser|error: unrecognized arguments:/);
  if (line) {
    const listed = /\[(.*)\]/.exec(line)?.[1] ?? line.split('unrecognized arguments:')[1] ?? '';
    const subjects = [...listed.matchAll(/--([A-Za-z0-9_.-]+)/g)].map((m) => m[1]);
    return {
      kind: 'bad-argument',
      summary: `Unknown command-line arguments: ${subjects.map((s) => `--${s}`).join(', ') || listed.trim()}.`,
      hint: 'Align the script flags with the training code and the installed transformers version.',
      evidence: line,
      subjects,
    };
  }
  line = lastLine(lines, /Address already in use|errno: 98|EADDRINUSE/);
  if (line) {
    return {
      kind: 'port-in-use',
      summary: 'The rendezvous port (MASTER_PORT) is already in use.',
      hint: 'Another job holds the port: let the launcher pick a free MASTER_PORT or stop the other job.',
      evidence: line,
      subjects: [],
    };
  }
  line = lastLine(lines, /NCCL (error|WARN)|ncclInternalError|ncclSystemError|DistBackendError/);
  if (line && /error/i.test(line)) {
    return {
      kind: 'nccl',
      summary: 'NCCL (multi-GPU communication) failed.',
      hint: 'Rerun with NCCL_DEBUG=INFO; on consumer GPUs try NCCL_P2P_DISABLE=1 and NCCL_IB_DISABLE=1.',
      evidence: line,
      subjects: [],
    };
  }
  line = lastLine(lines, /No valid checkpoint found/);
  if (line) {
    return {
      kind: 'no-checkpoint',
      summary: 'resume_from_checkpoint found no checkpoint in the output directory.',
      hint: 'Remove resume_from_checkpoint for a first run, or point it at an existing checkpoint-<step> folder.',
      evidence: line,
      subjects: [],
    };
  }
  line = lastLine(lines, /FileNotFoundError|No such file or directory|can't open file/);
  if (line) {
    const subject = /No such file or directory: '([^']+)'/.exec(line)?.[1] ?? /can't open file '([^']+)'/.exec(line)?.[1] ?? /^(?:bash: )?(?:line \d+: )?([^:]+): No such file or directory/.exec(line)?.[1];
    return {
      kind: 'missing-file',
      summary: `A file was not found${subject ? `: ${subject}` : ''}.`,
      hint: 'Check the path and the working directory: relative paths resolve from where the script runs.',
      evidence: line,
      subjects: subject ? [subject] : [],
    };
  }
  line = lastLine(lines, /got signal: 2\b|KeyboardInterrupt/);
  if (line) {
    return { kind: 'interrupted', summary: 'The job was interrupted (SIGINT).', hint: 'Resume with resume_from_checkpoint if a checkpoint was saved.', evidence: line, subjects: [] };
  }
  line = lastLine(lines, /^[A-Za-z_.]*(Error|Exception): /);
  if (line) {
    return { kind: 'python-exception', summary: `The job raised ${line.slice(0, 200)}`, hint: 'See the traceback in the log.', evidence: line, subjects: [] };
  }
  return undefined;
}

/**
 * The 0-based line of the script that caused the failure, when the cause names something in it
 * (a flag, a keyword argument, a file name). Used to place the diagnostic.
 */
export function locateCauseInScript(cause: FailureCause, scriptText: string): number | undefined {
  const lines = scriptText.split(/\r?\n/);
  for (const subject of cause.subjects) {
    const needle = cause.kind === 'bad-argument' ? new RegExp(`(--${escape(subject)}\\b|\\b${escape(subject)}\\s*=)`) : new RegExp(escape(subject));
    const index = lines.findIndex((l) => needle.test(l) && !l.trimStart().startsWith('#'));
    if (index >= 0) return index;
  }
  if (cause.kind === 'port-in-use') {
    const index = lines.findIndex((l) => /MASTER_PORT|--master_port/.test(l));
    if (index >= 0) return index;
  }
  return undefined;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Messages between the Launch panel (webview/launch) and the extension host (src/features/jobs/launchPanel.ts). */

/** What the user filled in; also the webview's persisted state (restored after a reload). */
export interface LaunchForm {
  /** Workspace-relative path of the script. */
  script: string;
  target: string;
  gpus: number[];
  /** KEY=VALUE lines. */
  env: string;
  /** Arguments for the script, shell syntax. */
  args: string;
  /** The command the user edited in the preview; empty = use the resolved one. */
  commandOverride: string;
  launchOnSave: boolean;
  /** Launch even when the preflight finds errors. */
  overridePreflight: boolean;
}

export interface GpuRow {
  index: number;
  name: string;
  usedMiB: number;
  totalMiB: number;
  processes: number;
}

export interface PreflightItem {
  severity: 'error' | 'warning' | 'info';
  message: string;
  rule?: string;
  /** Workspace-relative file of the finding (the script, a dataset or DeepSpeed config it names). */
  file?: string;
  /** 0-based line in `file`, for the link that opens it. */
  line?: number;
  /** Index into the host's list, sent back by openFinding (the host only opens files its preflight reported). */
  id?: number;
}

export interface PreflightSummary {
  state: 'running' | 'done' | 'none';
  verdict?: 'ok' | 'warnings' | 'blocked';
  /** What GPU facts were used ("1× NVIDIA H100 80GB HBM3, probe of local"; "gpu.default setting"). */
  gpu?: string;
  transformersVersion?: string;
  /** One line per launch command: estimate vs the chosen GPUs' memory. */
  estimates: string[];
}

export type HostToLaunch =
  | { type: 'init'; form: LaunchForm; scripts: string[]; targets: string[]; trusted: boolean; untrustedMessage: string }
  | { type: 'gpus'; target: string; gpus: GpuRow[]; error?: string; transformersVersion?: string }
  | { type: 'preview'; command: string; preflight: PreflightItem[]; summary: PreflightSummary }
  | { type: 'launched'; jobId: string; target: string }
  | { type: 'error'; message: string };

export type LaunchToHost =
  | { type: 'ready' }
  | { type: 'changed'; form: LaunchForm }
  | { type: 'probe'; target: string }
  | { type: 'launch'; form: LaunchForm }
  | { type: 'openFinding'; id: number };

export const emptyForm: LaunchForm = { script: '', target: 'local', gpus: [], env: '', args: '', commandOverride: '', launchOnSave: false, overridePreflight: false };

/** Parses KEY=VALUE lines; returns the variables and the 1-based numbers of lines that are not KEY=VALUE. */
export function parseEnvLines(text: string): { env: Record<string, string>; badLines: number[] } {
  const env: Record<string, string> = {};
  const badLines: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed);
    if (m) env[m[1]] = m[2];
    else badLines.push(i + 1);
  });
  return { env, badLines };
}

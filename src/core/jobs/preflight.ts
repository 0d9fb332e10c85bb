import { closeSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { lintDeepSpeedConfig } from '../deepspeed/config';
import { estimateMemory, formatGiB, suggestFits } from '../estimate/estimate';
import { estimateInputFromLaunch } from '../estimate/fromScript';
import { gpuFactsFrom, type GpuFacts, type GpuInfo } from '../gpu/nvidiaSmi';
import { compareFindings, severityRank, type FileFinding, type Finding, type Range } from '../lint/findings';
import { linterFor } from '../lint/registry';
import type { PortInUse, TargetPlatform } from '../lint/target';
import { lintShellScript } from '../script/rules';

const GiB = 1024 ** 3;
/** Findings of a dataset or DeepSpeed config the script names, listed (beside the script's summary) per file. */
const maxDetailsPerFile = 20;

export interface PreflightInput {
  /** The script to launch (absolute). */
  scriptPath: string;
  /** Folder it runs from (relative paths resolve here); default: the script's folder. */
  launchDir?: string;
  /** The target's probed GPUs, already narrowed to the ones the job gets (CUDA_VISIBLE_DEVICES). */
  gpus?: readonly GpuInfo[];
  /** Facts to use when nothing was probed (the `gpu.default` setting). */
  fallbackGpu?: GpuFacts;
  /** Where the GPU facts come from, for messages ("probe of gpu-box", "gpu.default setting"). */
  gpuSource?: string;
  /** transformers on the target. */
  transformersVersion?: string;
  /** OS / CUDA of the target (bitsandbytes needs CUDA). */
  platform?: TargetPlatform;
  /** Ports the job cannot use: listening on the target, or taken by the launcher's other running/queued jobs. */
  portsInUse?: readonly PortInUse[];
}

export interface PreflightEstimate {
  /** 0-based index of the launch command in the script. */
  launchIndex: number;
  file: string;
  range: Range;
  peakBytesPerGpu?: number;
  /** What the estimate is compared with: the least free memory of the chosen GPUs (probed), else their total. */
  availableBytesPerGpu?: number;
  availableKind?: 'free' | 'total';
  fits?: boolean;
  /** The first change that brings it under, when it does not fit. */
  suggestion?: string;
  /** Why there is no estimate. */
  missing?: string;
}

export type PreflightVerdict = 'ok' | 'warnings' | 'blocked';

export interface PreflightResult {
  findings: FileFinding[];
  estimates: PreflightEstimate[];
  gpu?: GpuFacts;
  gpuSource?: string;
  transformersVersion?: string;
  /** blocked: at least one error (launch refused unless overridden); warnings: only warnings. */
  verdict: PreflightVerdict;
  errorCount: number;
  warningCount: number;
}

function head(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(8192);
    return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Everything checked before a launch: the script lint (with the datasets and DeepSpeed config it names, and the GPU
 * rules for the target's facts), the memory estimate of each launch vs the chosen GPUs, and a verdict.
 */
export async function runPreflight(input: PreflightInput): Promise<PreflightResult> {
  const scriptPath = path.resolve(input.scriptPath);
  const launchDir = input.launchDir ?? path.dirname(scriptPath);
  const probed = input.gpus && input.gpus.length ? gpuFactsFrom(input.gpus) : undefined;
  const gpu = probed ?? input.fallbackGpu;
  const gpuSource = input.gpuSource ?? (probed ? 'launch target' : input.fallbackGpu ? 'gpu.default setting' : undefined);
  const findings: FileFinding[] = [];
  const details: FileFinding[] = [];

  let text: string;
  try {
    text = await readFile(scriptPath, 'utf8');
  } catch (error) {
    const finding: FileFinding = { file: scriptPath, rule: 'PREFLIGHT-SCRIPT', severity: 'error', message: `cannot read the script: ${(error as Error).message}`, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } };
    return { findings: [finding], estimates: [], gpu, gpuSource, transformersVersion: input.transformersVersion, verdict: 'blocked', errorCount: 1, warningCount: 0 };
  }

  const lintDataset = async (file: string): Promise<Finding[]> => {
    const linter = linterFor(file, head(file));
    if (!linter || linter.kind !== 'dataset') return [];
    const found = await linter.lintFile(file, { baseDir: launchDir });
    for (const f of found.filter((x) => x.severity === 'error').slice(0, maxDetailsPerFile)) details.push({ ...f, file });
    return found;
  };
  const result = await lintShellScript(text, { launchDir, gpu, gpuSource, transformersVersion: input.transformersVersion, platform: input.platform, portsInUse: input.portsInUse, lintDataset });
  findings.push(...result.findings.map(({ rule, severity, message, range }) => ({ file: scriptPath, rule, severity, message, range })));

  // The DeepSpeed config's own findings, at their lines (the script shows only a summary on --deepspeed).
  const configs = new Set(result.launches.map((a) => a.deepspeed?.path).filter((p): p is string => !!p));
  for (const config of configs) {
    try {
      const parsed = lintDeepSpeedConfig(await readFile(config, 'utf8'));
      for (const f of parsed.findings.filter((x) => x.severity === 'error').slice(0, maxDetailsPerFile)) details.push({ file: config, rule: f.rule, severity: f.severity, message: f.message, range: f.range });
    } catch {
      // a missing config is already SCRIPT-FILE-MISSING on the script
    }
  }

  const estimates: PreflightEstimate[] = result.launches.map((analysis, launchIndex) => {
    const range = analysis.launch.launcherRange;
    const { input: estimateInput, missing } = estimateInputFromLaunch(analysis, launchDir);
    if (!estimateInput) return { launchIndex, file: scriptPath, range, missing };
    const estimated = estimateMemory(estimateInput);
    const peak = estimated.peakBytesPerGpu;
    const free = input.gpus?.length ? Math.min(...input.gpus.map((g) => g.memoryFreeMiB ?? g.memoryTotalMiB)) * 1024 ** 2 : undefined;
    const total = gpu ? gpu.memoryGiB * GiB : undefined;
    const available = free ?? total;
    if (available === undefined) return { launchIndex, file: scriptPath, range, peakBytesPerGpu: peak, missing: 'no GPU facts (probe the target or set gpu.default)' };
    const fits = estimated.requiredBytesPerGpu <= available;
    const estimate: PreflightEstimate = { launchIndex, file: scriptPath, range, peakBytesPerGpu: peak, availableBytesPerGpu: available, availableKind: free !== undefined ? 'free' : 'total', fits };
    if (!fits) {
      estimate.suggestion = suggestFits(estimateInput, available)[0]?.change;
      const overTotal = total !== undefined && estimated.requiredBytesPerGpu > total;
      const where = `${gpu?.name ?? 'the GPU'}${gpuSource ? ` (${gpuSource})` : ''}`;
      findings.push({
        file: scriptPath,
        rule: 'PREFLIGHT-MEMORY',
        // Over the card's total it cannot fit; over only the free memory, other processes may still finish first.
        severity: overTotal ? 'error' : 'warning',
        message: `Estimated peak ≈ ${formatGiB(estimated.requiredBytesPerGpu)} per GPU, but ${where} has ${formatGiB(available)} ${free !== undefined ? 'free' : 'in total'}: expect "CUDA out of memory".${estimate.suggestion ? ` Would fit with: ${estimate.suggestion}.` : ''}`,
        range,
      });
    }
    return estimate;
  });

  findings.sort((a, b) => a.file.localeCompare(b.file) || severityRank[a.severity] - severityRank[b.severity] || compareFindings(a, b));
  const all = [...findings, ...details];
  // Details repeat what the script's summary finding says; they are links, not separate reasons to block.
  const errorCount = findings.filter((f) => f.severity === 'error').length;
  const warningCount = findings.filter((f) => f.severity === 'warning').length;
  return {
    findings: all,
    estimates,
    gpu,
    gpuSource,
    transformersVersion: input.transformersVersion,
    verdict: errorCount ? 'blocked' : warningCount ? 'warnings' : 'ok',
    errorCount,
    warningCount,
  };
}

/** The probed GPUs a job gets: those of CUDA_VISIBLE_DEVICES-style indices, or all when none are chosen. */
export function chosenGpus<G extends GpuInfo>(gpus: readonly G[], indices?: readonly number[]): G[] {
  return indices && indices.length ? gpus.filter((g) => indices.includes(g.index)) : [...gpus];
}

/** Human-readable lines for a terminal (`ftw run`). */
export function formatPreflight(result: PreflightResult, cwd: string): string[] {
  const lines: string[] = [];
  const gpu = result.gpu ? `${result.gpu.count}× ${result.gpu.name} (sm ${result.gpu.computeCapability}, ${result.gpu.memoryGiB} GiB${result.gpuSource ? `, ${result.gpuSource}` : ''})` : 'no GPU facts';
  lines.push(`preflight: ${gpu}; transformers ${result.transformersVersion ?? 'unknown'}`);
  for (const e of result.estimates) {
    if (e.peakBytesPerGpu !== undefined && e.availableBytesPerGpu !== undefined) {
      lines.push(`preflight: memory estimate ≈ ${formatGiB(e.peakBytesPerGpu)} per GPU of ${formatGiB(e.availableBytesPerGpu)} ${e.availableKind} — ${e.fits ? 'fits' : 'does not fit'}`);
    } else lines.push(`preflight: no memory estimate: ${e.missing ?? 'unknown'}`);
  }
  for (const f of result.findings) {
    lines.push(`${path.relative(cwd, f.file) || f.file}:${f.range.start.line + 1}:${f.range.start.character + 1} ${f.severity} ${f.rule} ${f.message}`);
  }
  lines.push(`preflight: ${result.verdict} (${result.errorCount} error(s), ${result.warningCount} warning(s))`);
  return lines;
}

import { gpuQueryFields, parseGpuQueryCsv, type GpuInfo } from '../gpu/nvidiaSmi';
import { quoteShellArg } from './shellQuote';

/** One GPU of a probed target: the issue-4 parser's facts plus the processes running on it. */
export interface ProbedGpu extends GpuInfo {
  uuid: string;
  memoryUsedMiB: number;
  memoryFreeMiB: number;
  processes: { pid: number; name: string; usedMemoryMiB?: number }[];
}

export interface GpuProbe {
  gpus: ProbedGpu[];
  /** `transformers.__version__` on the target (python of the launch settings), when importable. */
  transformersVersion?: string;
  /** Why there are no GPUs (nvidia-smi missing or failing), when there are none. */
  error?: string;
}

export { gpuQueryFields };
export const appQueryFields = ['gpu_uuid', 'pid', 'process_name', 'used_memory'];

export function gpuProbeScript(python = 'python3'): string {
  return [
    `nvidia-smi --query-gpu=${gpuQueryFields.join(',')} --format=csv,noheader,nounits 2>&1; echo "@@ftw-status $?"`,
    `nvidia-smi --query-compute-apps=${appQueryFields.join(',')} --format=csv,noheader,nounits 2>/dev/null`,
    'echo @@ftw-transformers',
    `${quoteShellArg(python)} -c 'import transformers; print(transformers.__version__)' 2>/dev/null || true`,
  ].join('\n');
}

const num = (s: string | undefined) => {
  const n = Number((s ?? '').trim());
  return s === undefined || s.trim() === '' || Number.isNaN(n) ? undefined : n;
};

/** `--query-gpu` rows (fields of gpuQueryFields) through the one nvidia-smi parser, src/core/gpu/nvidiaSmi.ts. */
export function parseGpuQuery(csv: string): ProbedGpu[] {
  return parseGpuQueryCsv(csv, gpuQueryFields).map((gpu) => ({
    ...gpu,
    uuid: gpu.uuid ?? '',
    memoryUsedMiB: gpu.memoryUsedMiB ?? 0,
    memoryFreeMiB: gpu.memoryFreeMiB ?? gpu.memoryTotalMiB - (gpu.memoryUsedMiB ?? 0),
    processes: [],
  }));
}

export function parseGpuProbe(output: string): GpuProbe {
  const [gpuPart, rest = ''] = output.split(/^@@ftw-status /m);
  const [statusLine, ...afterStatus] = rest.split('\n');
  const [appsPart, versionPart = ''] = afterStatus.join('\n').split(/^@@ftw-transformers\n?/m);
  const transformersVersion = versionPart.trim().split('\n')[0] || undefined;
  if (statusLine.trim() !== '0') {
    const message = gpuPart.trim().split('\n').slice(-1)[0] ?? '';
    return { gpus: [], transformersVersion, error: /not found/.test(message) ? 'nvidia-smi is not installed on the target' : `nvidia-smi failed: ${message}` };
  }
  const gpus = parseGpuQuery(gpuPart);
  for (const line of appsPart.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [uuid, pid, name, used] = line.split(',').map((s) => s.trim());
    const gpu = gpus.find((g) => g.uuid === uuid);
    if (gpu && num(pid) !== undefined) gpu.processes.push({ pid: num(pid) ?? 0, name, usedMemoryMiB: num(used) });
  }
  return { gpus, transformersVersion };
}

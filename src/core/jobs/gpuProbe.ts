import { quoteShellArg } from './shellQuote';

/** One GPU as `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` reports it. */
export interface ProbedGpu {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number;
  memoryFreeMiB: number;
  utilizationPercent?: number;
  temperatureC?: number;
  computeCapability?: string;
  processes: { pid: number; name: string; usedMemoryMiB?: number }[];
}

export interface GpuProbe {
  gpus: ProbedGpu[];
  transformersVersion?: string;
  /** Why there are no GPUs (nvidia-smi missing or failing), when there are none. */
  error?: string;
}

export const gpuQueryFields = ['index', 'uuid', 'name', 'memory.total', 'memory.used', 'memory.free', 'utilization.gpu', 'temperature.gpu', 'compute_cap'];
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

/** Parses `--query-gpu` csv,noheader,nounits rows in the order of gpuQueryFields. */
export function parseGpuQuery(csv: string): ProbedGpu[] {
  return csv
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((line) => {
      const f = line.split(',').map((s) => s.trim());
      if (f.length < 6 || num(f[0]) === undefined) throw new Error(`Unexpected nvidia-smi line: ${line}`);
      return {
        index: num(f[0]) ?? 0,
        uuid: f[1],
        name: f[2],
        memoryTotalMiB: num(f[3]) ?? 0,
        memoryUsedMiB: num(f[4]) ?? 0,
        memoryFreeMiB: num(f[5]) ?? 0,
        utilizationPercent: num(f[6]),
        temperatureC: num(f[7]),
        computeCapability: f[8] && f[8] !== '[N/A]' ? f[8] : undefined,
        processes: [],
      };
    });
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

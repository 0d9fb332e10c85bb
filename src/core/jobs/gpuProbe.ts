import { gpuQueryFields, parseGpuQueryCsv, type GpuInfo } from '../gpu/nvidiaSmi';
import type { PortInUse, TargetPlatform } from '../lint/target';
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
  /** `uname -s` of the target in Node's names ('linux', 'darwin'), when it answered. */
  os?: string;
  /** TCP ports something listens on (ss or netstat), when either tool exists there. */
  listeningPorts?: number[];
}

export { gpuQueryFields };
export const appQueryFields = ['gpu_uuid', 'pid', 'process_name', 'used_memory'];

export function gpuProbeScript(python = 'python3'): string {
  return [
    `nvidia-smi --query-gpu=${gpuQueryFields.join(',')} --format=csv,noheader,nounits 2>&1; echo "@@ftw-status $?"`,
    `nvidia-smi --query-compute-apps=${appQueryFields.join(',')} --format=csv,noheader,nounits 2>/dev/null`,
    'echo @@ftw-transformers',
    `${quoteShellArg(python)} -c 'import transformers; print(transformers.__version__)' 2>/dev/null || true`,
    'echo @@ftw-os',
    'uname -s 2>/dev/null || true',
    'echo @@ftw-ports',
    '(ss -Hltn 2>/dev/null || netstat -ltn 2>/dev/null) || true',
  ].join('\n');
}

/** Listening TCP ports from `ss -Hltn` or `netstat -ltn` (the local address is the 4th column of both). */
export function parseListeningPorts(output: string): number[] {
  const ports = new Set<number>();
  for (const line of output.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const port = /:(\d+)$/.exec(local ?? '')?.[1];
    if (port && /^(LISTEN|tcp)/i.test(line.trim())) ports.add(Number(port));
  }
  return [...ports].sort((a, b) => a - b);
}

/** The probe's platform and port facts as the lint rules take them (Q-BNB-PLATFORM, SCRIPT-PORT). */
export function probeTargetFacts(probe: GpuProbe, target: string): { platform?: TargetPlatform; portsInUse?: PortInUse[] } {
  const source = `probe of ${target}`;
  // No GPU found proves little about CUDA (the probe may have failed); only a found GPU says cuda: true.
  const platform: TargetPlatform | undefined = probe.os || probe.gpus.length ? { os: probe.os, cuda: probe.gpus.length ? true : undefined, source } : undefined;
  const portsInUse = probe.listeningPorts?.map((port) => ({ port, by: `a process listening on ${target}` }));
  return { platform, portsInUse };
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
  // Sections after the transformers one (older probes end there).
  const [head = '', osPart, portsPart] = output.split(/^@@ftw-(?:os|ports)\n?/m);
  const unameOs = osPart?.trim().split('\n')[0]?.trim().toLowerCase();
  const extra: Pick<GpuProbe, 'os' | 'listeningPorts'> = {};
  if (unameOs) extra.os = unameOs.startsWith('mingw') || unameOs.startsWith('msys') || unameOs.startsWith('cygwin') ? 'win32' : unameOs;
  if (portsPart !== undefined && portsPart.trim()) extra.listeningPorts = parseListeningPorts(portsPart);
  return { ...parseGpuSections(head), ...extra };
}

function parseGpuSections(output: string): GpuProbe {
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

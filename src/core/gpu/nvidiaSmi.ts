/**
 * Parses `nvidia-smi --query-gpu=<fields> --format=csv[,noheader][,nounits]` output into GPU facts.
 * Pure: the launcher probes targets and hands the text here; lint rules and the memory estimate read GpuFacts.
 */

/** The fields the probe asks for, in this order (`nvidia-smi --query-gpu=${gpuQueryFields.join(',')}`). */
export const gpuQueryFields = ['index', 'uuid', 'name', 'memory.total', 'memory.used', 'memory.free', 'utilization.gpu', 'temperature.gpu', 'compute_cap'] as const;

export interface GpuInfo {
  index: number;
  uuid?: string;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB?: number;
  memoryFreeMiB?: number;
  utilizationPercent?: number;
  temperatureC?: number;
  /** "8.0", "9.0"; undefined on drivers too old to report it. */
  computeCapability?: string;
}

/** What rules and the estimate need to know about the GPUs of one node. */
export interface GpuFacts {
  name: string;
  memoryGiB: number;
  /** "major.minor". */
  computeCapability: string;
  /** GPUs on the node (visible to the job). */
  count: number;
}

function parseNumber(cell: string | undefined): number | undefined {
  if (cell === undefined) return undefined;
  const match = /-?\d+(\.\d+)?/.exec(cell);
  return match && !/N\/A|Not Supported/i.test(cell) ? Number(match[0]) : undefined;
}

function splitCsvLine(line: string): string[] {
  return line.split(',').map((cell) => cell.trim());
}

/**
 * Parses the CSV. With a header line (`index, name, memory.total [MiB], ...`) the columns are taken from it;
 * without one (`noheader`) they must be `fields` (default: gpuQueryFields). Units (`81559 MiB`, `33 %`) are accepted.
 */
export function parseGpuQueryCsv(text: string, fields: readonly string[] = gpuQueryFields): GpuInfo[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) return [];
  let columns = [...fields];
  if (/^index\b|^name\b|^uuid\b|memory\.total/.test(lines[0])) {
    columns = splitCsvLine(lines[0]).map((c) => c.replace(/\s*\[.*\]$/, ''));
    lines.shift();
  }
  const gpus: GpuInfo[] = [];
  for (const [row, line] of lines.entries()) {
    const cells = splitCsvLine(line);
    const get = (field: string) => {
      const at = columns.indexOf(field);
      return at >= 0 ? cells[at] : undefined;
    };
    const name = get('name');
    const memoryTotalMiB = parseNumber(get('memory.total'));
    if (!name || memoryTotalMiB === undefined) continue;
    const cap = get('compute_cap');
    gpus.push({
      index: parseNumber(get('index')) ?? row,
      uuid: get('uuid'),
      name,
      memoryTotalMiB,
      memoryUsedMiB: parseNumber(get('memory.used')),
      memoryFreeMiB: parseNumber(get('memory.free')),
      utilizationPercent: parseNumber(get('utilization.gpu')),
      temperatureC: parseNumber(get('temperature.gpu')),
      computeCapability: cap && /^\d+\.\d+$/.test(cap) ? cap : undefined,
    });
  }
  return gpus;
}

/** Compute capability by product name, for drivers that do not report compute_cap. */
const capabilityByName: Array<[RegExp, string]> = [
  [/B200|B100|GB200/, '10.0'],
  [/H100|H200|H800|GH200/, '9.0'],
  [/L40|L4\b|RTX 40\d\d|RTX 6000 Ada|Ada/, '8.9'],
  [/A10\b|A10G|A40|RTX 30\d\d|RTX A\d000|A16|A2\b/, '8.6'],
  [/A100|A800|A30\b/, '8.0'],
  [/T4\b|RTX 20\d\d|Quadro RTX|TITAN RTX/, '7.5'],
  [/V100|TITAN V/, '7.0'],
  [/P100/, '6.0'],
  [/P40|P4\b|GTX 10\d\d/, '6.1'],
];

export function capabilityFromName(name: string): string | undefined {
  return capabilityByName.find(([pattern]) => pattern.test(name))?.[1];
}

/** Facts for a node from its probed GPUs (the first GPU's model; all GPUs of a node are usually alike). */
export function gpuFactsFrom(gpus: readonly GpuInfo[]): GpuFacts | undefined {
  const first = gpus[0];
  if (!first) return undefined;
  return {
    name: first.name,
    memoryGiB: Math.round((first.memoryTotalMiB / 1024) * 10) / 10,
    computeCapability: first.computeCapability ?? capabilityFromName(first.name) ?? '0.0',
    count: gpus.length,
  };
}

export function capabilityAtLeast(facts: GpuFacts, major: number, minor = 0): boolean {
  const [a, b] = facts.computeCapability.split('.').map(Number);
  return a > major || (a === major && (b ?? 0) >= minor);
}

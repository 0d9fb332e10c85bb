import kernelBytes from '../../../wasm/build/jsonlKernel.wasm';
import { powerOfFiveUpperHalves } from './jsonNumber';
import { KernelMemory, instantiateKernel } from './kernelMemory';

/*
 * The driver of the WebAssembly inner loop of the JSONL reader (wasm/jsonlKernel.ts): it lays out the kernel's
 * memory, copies a read chunk in, keeps the kernel's prefixes in step with the JavaScript scanner's and hands back
 * each line the kernel took. One instance serves every reader (JavaScript runs one push at a time), so its memory
 * is paid once; `owner` says whose prefixes it holds.
 */

interface KernelExports {
  memory: WebAssembly.Memory;
  stoppedAt: WebAssembly.Global;
  setup(table: number, prefixes: number, input: number, counts: number, types: number, numbers: number, strings: number, positions: number, lines: number): void;
  setKnown(count: number): number;
  setupPlan(plan: number, kinds: number, steps: number, walls: number, values: number): void;
  setPlan(count: number, step: number, time: number, metrics: number): void;
  scan(from: number, to: number): number;
  readNumberAt(from: number): number;
  lastNumber(): number;
}

/** Values per line the kernel takes (longer lines go to the scanner) and lines per call. */
const kernelPositions = 32;
const kernelLines = 4096;
/** Prefix slots: a u32 length, then the bytes (a longer prefix, and every one after it, stays with the scanner). */
const slotBytes = 256;

const tableAt = 65536; // below: the kernel's own static data
const prefixAt = tableAt + 651 * 8;
const countAt = prefixAt + kernelPositions * slotBytes;
const typeAt = countAt + kernelLines;
const numberAt = align8(typeAt + kernelLines * kernelPositions);
const stringAt = numberAt + kernelLines * kernelPositions * 8;
const planAt = stringAt + kernelLines * kernelPositions * 8;
const kindAt = planAt + kernelPositions;
const fastStepAt = align8(kindAt + kernelLines);
const fastWallAt = fastStepAt + kernelLines * 8;
const fastValueAt = fastWallAt + kernelLines * 8;
const inputAt = fastValueAt + kernelLines * kernelPositions * 8;

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** The prefixes a scanner has learned, as the kernel needs them. */
export interface PrefixSource {
  /** Changes whenever a prefix or their number changes. */
  readonly templateVersion: number;
  /** Prefixes of positions 0 .. known - 1 (bytes from the previous value's end to this value's start). */
  prefix(n: number): Uint8Array;
  readonly knownPositions: number;
}

export class JsonlKernel {
  private static shared: JsonlKernel | null | undefined;

  /** The shared kernel, or undefined where WebAssembly is unavailable (the scanner then reads every line). */
  static get(): JsonlKernel | undefined {
    if (JsonlKernel.shared === undefined) {
      const kernel = instantiateKernel<KernelExports>(kernelBytes);
      JsonlKernel.shared = kernel ? new JsonlKernel(kernel) : null;
    }
    return JsonlKernel.shared ?? undefined;
  }

  private readonly memory: KernelMemory;
  counts!: Uint8Array;
  kinds!: Uint8Array;
  fastSteps!: Float64Array;
  fastWalls!: Float64Array;
  fastValues!: Float64Array;
  private plan!: Uint8Array;
  types!: Uint8Array;
  numbers!: Float64Array;
  strings!: Uint32Array;
  private owner: PrefixSource | undefined;
  private ownerVersion = -1;

  private constructor(private readonly kernel: KernelExports) {
    this.memory = new KernelMemory(kernel.memory, inputAt, (buffer) => {
      this.counts = new Uint8Array(buffer, countAt, kernelLines);
      this.types = new Uint8Array(buffer, typeAt, kernelLines * kernelPositions);
      this.numbers = new Float64Array(buffer, numberAt, kernelLines * kernelPositions);
      this.strings = new Uint32Array(buffer, stringAt, kernelLines * kernelPositions * 2);
      this.plan = new Uint8Array(buffer, planAt, kernelPositions);
      this.kinds = new Uint8Array(buffer, kindAt, kernelLines);
      this.fastSteps = new Float64Array(buffer, fastStepAt, kernelLines);
      this.fastWalls = new Float64Array(buffer, fastWallAt, kernelLines);
      this.fastValues = new Float64Array(buffer, fastValueAt, kernelLines * kernelPositions);
    });
    new BigUint64Array(kernel.memory.buffer, tableAt, 651).set(powerOfFiveUpperHalves());
    kernel.setup(tableAt, prefixAt, inputAt, countAt, typeAt, numberAt, stringAt, kernelPositions, kernelLines);
    kernel.setupPlan(planAt, kindAt, fastStepAt, fastWallAt, fastValueAt);
  }

  /**
   * The reader's plan for lines of `count` values (see wasm/jsonlKernel.ts): lines that follow it come back with
   * kind 1 and their step, wall time and metric values in fastSteps, fastWalls and fastValues (metrics.length per
   * line). count -1: no plan, every line comes back with kind 0.
   */
  setPlan(count: number, step: number, time: number, metrics: readonly number[]): void {
    if (count < 0 || count > kernelPositions || metrics.length > kernelPositions) {
      this.kernel.setPlan(-1, -1, -1, 0);
      return;
    }
    for (let m = 0; m < metrics.length; m++) this.plan[m] = metrics[m]!;
    this.kernel.setPlan(count, step, time, metrics.length);
  }

  /** Offset into the caller's array of the kernel's input byte 0 (set by load). */
  get base(): number {
    return this.memory.base;
  }

  /** Copies source[start, end) in as the kernel's input; its offsets then map back by adding `base`. */
  load(source: Uint8Array, start: number, end: number): void {
    this.memory.load(source, start, end);
  }

  /** Puts the scanner's prefixes in the kernel if another scanner's (or older ones) are there. */
  useTemplate(source: PrefixSource): void {
    if (this.owner === source && this.ownerVersion === source.templateVersion) return;
    const count = this.memory.writeSlots(prefixAt, slotBytes, Math.min(source.knownPositions, kernelPositions), (n) => source.prefix(n));
    this.stride = this.kernel.setKnown(count);
    this.owner = source;
    this.ownerVersion = source.templateVersion;
  }

  /**
   * Takes lines from the caller's [from, to) (offsets into the array given to load; `to` just after a newline):
   * how many, with their outputs in line slots 0 ..; `stoppedAt` (caller's offset) is where the first line not
   * taken starts.
   */
  scan(from: number, to: number): number {
    const base = this.memory.base;
    const lines = this.kernel.scan(from - base, to - base);
    this.stoppedAt = (this.kernel.stoppedAt.value as number) + base;
    this.linesTaken += lines;
    return lines;
  }

  stoppedAt = 0;
  /** Positions per line in the outputs (line k's values start at k * stride). */
  stride = 1;
  /** Lines the kernel has taken in all (tests check that it took part). */
  linesTaken = 0;

  /** Test access to the kernel's number reader: the value of the JSON number text, or undefined where it leaves it. */
  readNumber(text: string): number | undefined {
    const bytes = Buffer.from(`${text}\n`, 'latin1');
    this.load(bytes, 0, bytes.length);
    const end = this.kernel.readNumberAt(0);
    return end === text.length ? this.kernel.lastNumber() : undefined;
  }
}

import kernelBytes from '../../../wasm/build/tfeventsKernel.wasm';
import { KernelMemory, instantiateKernel } from './kernelMemory';

/*
 * The driver of the TensorBoard reader's WebAssembly inner loop (wasm/tfeventsKernel.ts): it copies a read chunk
 * in, keeps the kernel's tag slots in step with the reader's known tags and hands back each record taken. One
 * instance serves every reader (JavaScript runs one push at a time); `owner` says whose tags it holds.
 */

interface KernelExports {
  memory: WebAssembly.Memory;
  stoppedAt: WebAssembly.Global;
  setup(table: number, tags: number, input: number, ids: number, steps: number, values: number, walls: number, records: number): void;
  setTags(count: number): void;
  scan(from: number, to: number): number;
}

/** Tags the kernel holds (a reader's later ones go the JavaScript way) and records per call. */
const kernelTags = 64;
const kernelRecords = 8192;
/** Tag slots: a u32 length, then the bytes (a longer tag, and every one after it, stays with the reader). */
const slotBytes = 256;

const page = 65536;
const tableAt = page;
const tagAt = tableAt + 8 * 256 * 4;
const idAt = tagAt + kernelTags * slotBytes;
const stepAt = idAt + kernelRecords * 2;
const valueAt = stepAt + kernelRecords * 8;
const wallAt = valueAt + kernelRecords * 8;
const inputAt = wallAt + kernelRecords * 8;

/** The tags a reader has seen, as the kernel needs them. */
export interface TagSource {
  /** Changes whenever a tag is added. */
  readonly kernelTagVersion: number;
  /** Tag bytes by kernel id (the reader's tags that are not summary keys, in the order first seen). */
  readonly kernelTagBytes: readonly Uint8Array[];
}

export class TfEventsKernel {
  private static shared: TfEventsKernel | null | undefined;

  /** The shared kernel, or undefined where WebAssembly is unavailable (the reader then decodes every record). */
  static get(): TfEventsKernel | undefined {
    if (TfEventsKernel.shared === undefined) {
      const kernel = instantiateKernel<KernelExports>(kernelBytes);
      TfEventsKernel.shared = kernel ? new TfEventsKernel(kernel) : null;
    }
    return TfEventsKernel.shared ?? undefined;
  }

  private readonly memory: KernelMemory;
  ids!: Uint16Array;
  steps!: Float64Array;
  values!: Float64Array;
  walls!: Float64Array;
  private owner: TagSource | undefined;
  private ownerVersion = -1;
  /** Where the first record not taken by the last scan starts (the caller's offset). */
  stoppedAt = 0;
  /** Records taken in all (tests check that the kernel took part). */
  recordsTaken = 0;

  private constructor(private readonly kernel: KernelExports) {
    this.memory = new KernelMemory(kernel.memory, inputAt, (buffer) => {
      this.ids = new Uint16Array(buffer, idAt, kernelRecords);
      this.steps = new Float64Array(buffer, stepAt, kernelRecords);
      this.values = new Float64Array(buffer, valueAt, kernelRecords);
      this.walls = new Float64Array(buffer, wallAt, kernelRecords);
    });
    kernel.setup(tableAt, tagAt, inputAt, idAt, stepAt, valueAt, wallAt, kernelRecords);
  }

  /** Copies source[start, end) in as the kernel's input. */
  load(source: Uint8Array, start: number, end: number): void {
    this.memory.load(source, start, end);
  }

  /** Puts the reader's tags in the kernel's slots if another reader's (or fewer) are there. */
  useTags(source: TagSource): void {
    if (this.owner === source && this.ownerVersion === source.kernelTagVersion) return;
    const tags = source.kernelTagBytes;
    this.kernel.setTags(this.memory.writeSlots(tagAt, slotBytes, Math.min(tags.length, kernelTags), (k) => tags[k]!));
    this.owner = source;
    this.ownerVersion = source.kernelTagVersion;
  }

  /** Takes records from the caller's [from, to): how many, with their outputs in slots 0 ..; see stoppedAt. */
  scan(from: number, to: number): number {
    const base = this.memory.base;
    const records = this.kernel.scan(from - base, to - base);
    this.stoppedAt = (this.kernel.stoppedAt.value as number) + base;
    this.recordsTaken += records;
    return records;
  }
}

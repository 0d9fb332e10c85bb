/**
 * The memory of a reader's WebAssembly kernel, as its driver sees it: the input region (a read chunk is copied in
 * at `inputAt`) and typed-array views over the outputs, made again whenever growing the memory detached the old
 * ones. Offsets below `inputAt` are laid out by the driver.
 */
export class KernelMemory {
  private bytes = new Uint8Array(0);
  /** The caller's offset of the input's byte 0 (set by load). */
  base = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly inputAt: number,
    private readonly makeViews: (buffer: ArrayBuffer) => void,
  ) {
    this.ensure(inputAt + page);
  }

  /** Memory of at least `size` bytes, and fresh views if it grew. */
  private ensure(size: number): void {
    const memory = this.memory;
    if (memory.buffer.byteLength < size) memory.grow(Math.ceil((size - memory.buffer.byteLength) / page));
    if (this.bytes.buffer !== memory.buffer) {
      this.bytes = new Uint8Array(memory.buffer);
      this.makeViews(memory.buffer);
    }
  }

  /**
   * Copies source[start, end) in as the input, followed by eight bytes of slack for the kernels' word reads; the
   * kernel's offsets then map back to the caller's by adding `base`.
   */
  load(source: Uint8Array, start: number, end: number): void {
    this.ensure(this.inputAt + (end - start) + 8);
    this.bytes.set(source.subarray(start, end), this.inputAt);
    this.base = start;
  }

  /**
   * Writes items 0 .. count - 1 into slots of `slotBytes` from `at` (each: its length as a little-endian u32, then
   * its bytes), stopping at the first item longer than a slot holds; returns how many were written.
   */
  writeSlots(at: number, slotBytes: number, count: number, item: (k: number) => Uint8Array): number {
    const view = new DataView(this.bytes.buffer);
    for (let k = 0; k < count; k++) {
      const bytes = item(k);
      if (bytes.length > slotBytes - 4) return k;
      view.setUint32(at + k * slotBytes, bytes.length, true);
      this.bytes.set(bytes, at + k * slotBytes + 4);
    }
    return count;
  }
}

const page = 65536;

/**
 * `kernel: false` makes a reader do all its work in JavaScript (the reference its kernel is tested against);
 * `kernelFrom` is the smallest read the kernel is used for (tests use it on small inputs).
 */
export interface KernelOptions {
  kernel?: boolean;
  kernelFrom?: number;
}

/**
 * Reads shorter than this skip the kernels: copying a live file's few appended bytes in costs more than it saves.
 * Longer than kernelMaxBytes (a huge line or record carried over) skip them too: kernel memory grows to what it is
 * given and stays.
 */
const kernelMinBytes = 64 * 1024;
const kernelMaxBytes = 16 * 1024 * 1024;

/** Whether a read of `size` bytes goes through the reader's kernel. */
export function kernelSuits(size: number, options: KernelOptions): boolean {
  return options.kernel !== false && size >= (options.kernelFrom ?? kernelMinBytes) && size <= kernelMaxBytes;
}

/**
 * When to ask a kernel again after it could not take the next line or record (the JavaScript reader takes that
 * one): the one after it also goes to JavaScript, and after four misses in a row the next 64 do.
 */
export class KernelBackoff {
  private pause = 0;
  private misses = 0;

  /** Whether to ask the kernel for the next line or record; while resting, counts one down. */
  ready(): boolean {
    if (this.pause === 0) return true;
    this.pause--;
    return false;
  }

  /** What the kernel took when asked. */
  took(count: number): void {
    if (count === 0) this.pause = ++this.misses >= 4 ? 64 : 1;
    else this.misses = 0;
  }
}

/**
 * The exports of a kernel module (it imports nothing), or undefined where WebAssembly cannot run it: the readers
 * then do all their work in JavaScript.
 */
export function instantiateKernel<T>(bytes: Uint8Array): T | undefined {
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as T;
  } catch {
    return undefined;
  }
}

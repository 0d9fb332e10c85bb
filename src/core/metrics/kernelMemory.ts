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

  /** Writes a slot: the bytes' length as a little-endian u32, then the bytes. */
  writeSlot(at: number, bytes: Uint8Array): void {
    new DataView(this.bytes.buffer).setUint32(at, bytes.length, true);
    this.bytes.set(bytes, at + 4);
  }
}

const page = 65536;

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

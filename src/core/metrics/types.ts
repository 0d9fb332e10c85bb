/** Something worth telling the user about a file that was still read as far as possible. */
export interface ReaderWarning {
  readonly file: string;
  /** Byte offset (binary files) or 1-based line (text files) where the problem is. */
  readonly offset?: number;
  readonly line?: number;
  readonly message: string;
}

/** Non-scalar facts about a run: TensorBoard text summaries, hparams, the final train_runtime dict. */
export interface RunMetadata {
  text: Record<string, string>;
  hparams: Record<string, string | number | boolean | null>;
  /** End-of-training summary (`train_runtime`, `train_loss`, `total_flos`, ...). */
  summary: Record<string, number>;
}

/** Where parsers put scalars; columnar stores avoid one object per point (1M-point files). */
export interface ScalarSink {
  add(tag: string, step: number, value: number, wallTime: number): void;
  /**
   * Optional, for runs of points whose steps strictly increase (the readers' WebAssembly kernels hand those back):
   * if the first step is past the tag's last one, adds point k as add(tag, steps[from + k], values[valueOffset +
   * k * valueStride], wallTimes[from + k]) for k in [0, count) and returns true; otherwise adds nothing and returns
   * false (the caller then adds them one by one).
   */
  appendRun?(tag: string, steps: Float64Array, wallTimes: Float64Array, from: number, count: number, values: Float64Array, valueOffset: number, valueStride: number): boolean;
}

/** What a parser produced from one chunk of bytes, besides the scalars it gave its sink. */
export interface ParseOutput {
  warnings: ReaderWarning[];
  text?: Record<string, string>;
  hparams?: Record<string, string | number | boolean | null>;
  summary?: Record<string, number>;
}

/**
 * A streaming parser: fed the bytes of one file in order (any chunking), it returns what the complete
 * part of those bytes holds and keeps an incomplete tail for the next call.
 */
export interface StreamParser {
  push(chunk: Uint8Array, sink: ScalarSink): ParseOutput;
  /** The file ended for good (CLI read, or the writer closed it): report a pending incomplete tail if it matters. */
  end(sink: ScalarSink): ParseOutput;
}

export function emptyMetadata(): RunMetadata {
  return { text: {}, hparams: {}, summary: {} };
}


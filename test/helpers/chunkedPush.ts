import type { ReaderWarning, ScalarSink, StreamParser } from '../../src/core/metrics/types';

/** One sink call: tag, step, value, wall time. */
export type Call = [string, number, number, number];

/** A sink that records every call in order (and, having no appendRun, gets every point one by one). */
export function recordingSink(): { sink: ScalarSink; calls: Call[] } {
  const calls: Call[] = [];
  return { calls, sink: { add: (tag: string, step: number, value: number, wallTime: number) => void calls.push([tag, step, value, wallTime]) } };
}

/**
 * Pushes bytes through a parser in the given chunk sizes (cycled), then ends it; returns every warning. The chunks
 * come from one reused buffer, overwritten after each push, as the readers' own reads do: a parser that keeps a view
 * into it reads garbage.
 */
export function pushInChunks(parser: StreamParser, bytes: Uint8Array, chunkSizes: number[], sink: ScalarSink): ReaderWarning[] {
  const warnings: ReaderWarning[] = [];
  const buffer = new Uint8Array(Math.max(1, ...chunkSizes));
  for (let offset = 0, k = 0; offset < bytes.length; ) {
    const n = Math.min(chunkSizes[k++ % chunkSizes.length]!, bytes.length - offset);
    buffer.set(bytes.subarray(offset, offset + n));
    warnings.push(...parser.push(buffer.subarray(0, n), sink).warnings);
    buffer.fill(0x41);
    offset += n;
  }
  warnings.push(...parser.end(sink).warnings);
  return warnings;
}

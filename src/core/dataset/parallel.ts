import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { DatasetFormat } from './formats';
import type { DatasetLintOptions, DatasetLintResult } from './lint';
import { cleanMiniCpmFacts, type SampleFacts } from './rules';
import { SampleSplitter, type Container, type RawSample, type StructureIssue } from './splitter';

/** Messages from the reading thread to the checking worker (dist/workers/datasetCheck.js). */
export type DatasetCheckRequest =
  | { type: 'start'; options: Omit<DatasetLintOptions, 'signal' | 'onProgress'> }
  /** Samples of one read: `bytes` holds them, `table` 6 numbers per sample (see DatasetLintSession.pushSplit). */
  /** `facts`, where given: per sample, `cleanMiniCpmFacts` of its one-byte view (null: not clean, check it all). */
  | { type: 'samples'; bytes: Uint8Array; table: Float64Array; facts?: (SampleFacts | null)[] }
  | { type: 'end'; container: Container; issues: StructureIssue[] };

export type DatasetCheckResponse = { type: 'ack' } | { type: 'format'; format: DatasetFormat } | { type: 'result'; result: DatasetLintResult } | { type: 'error'; message: string };

const defaultChunkBytes = 4 * 1024 * 1024;
/** Batches the reader may run ahead of the checker (bounds memory: about this many times 4 MB). */
const maxInFlight = 3;

/**
 * Lints a dataset file on two threads: this one reads and splits the file into samples (cheap: it only tracks
 * strings and brackets), the worker at `workerScript` parses and checks them (the expensive part), so reading
 * overlaps checking. Findings are the same as {@link lintDatasetFile}'s: the worker runs the same session.
 * Not for `collectSamples` (sample end positions are computed only by the serial path).
 */
export interface ParallelTuning {
  /** Bytes per read (and per batch handed to the worker). */
  chunkBytes?: number;
  /** When this thread parses a batch itself: while the worker is behind ('auto'), always or never (tests). */
  share?: 'auto' | 'always' | 'never';
}

export async function lintDatasetFileParallel(filePath: string, workerScript: string, options: DatasetLintOptions = {}, tuning: ParallelTuning = {}): Promise<DatasetLintResult> {
  const readChunkBytes = tuning.chunkBytes ?? defaultChunkBytes;
  const share = tuning.share ?? 'auto';
  const { signal, onProgress, ...plain } = options;
  const worker = new Worker(workerScript);
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let inFlight = 0;
  /** The format the worker detected: for MiniCPM-V, this thread takes a share of the parsing. */
  let format: DatasetFormat | undefined;
  const mayHelp = !((options.modelMaxLength ?? 0) > 0);
  let result: DatasetLintResult | undefined;
  const done = new Promise<void>((resolve) => {
    const settle = () => {
      resolve();
      wake?.();
    };
    worker.on('message', (message: DatasetCheckResponse) => {
      if (message.type === 'format') {
        format = message.format;
      } else if (message.type === 'ack') {
        inFlight--;
        wake?.();
      } else if (message.type === 'result') {
        result = message.result;
        settle();
      } else {
        failure = new Error(message.message);
        settle();
      }
    });
    worker.on('error', (error) => {
      failure = error;
      settle();
    });
    worker.on('exit', (code) => {
      failure ??= result ? undefined : new Error(`dataset check worker exited (${code})`);
      settle();
    });
  });
  const post = (message: DatasetCheckRequest, transfer: ArrayBuffer[] = []) => worker.postMessage(message, transfer);
  post({ type: 'start', options: { ...plain, filePath, collectSamples: false } });
  const splitter = new SampleSplitter({ maxSampleBytes: options.maxSampleBytes });
  const fd = openSync(filePath, 'r');
  try {
    const total = fstatSync(fd).size;
    let read = 0;
    let buffer = Buffer.allocUnsafe(readChunkBytes * 2);
    let kept = 0;
    for (;;) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
      if (failure) throw failure;
      if (buffer.length - kept < readChunkBytes) {
        const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, kept + readChunkBytes));
        buffer.copy(grown, 0, 0, kept);
        buffer = grown;
      }
      const n = readSync(fd, buffer, kept, readChunkBytes, null);
      const region = buffer.subarray(0, kept + n);
      if (n === 0) {
        const rest = Buffer.from(region);
        sendSamples(splitter.end(rest), rest, read - rest.length);
        break;
      }
      read += n;
      const { samples, keep } = splitter.pushRegion(region);
      sendSamples(samples, region, read - region.length);
      region.copy(buffer, 0, keep, region.length);
      kept = region.length - keep;
      onProgress?.(read, total);
      while (inFlight >= maxInFlight && !failure && !result) await new Promise<void>((resolve) => (wake = resolve));
    }
    post({ type: 'end', container: splitter.container, issues: splitter.issues });
    await done;
    if (failure) throw failure;
    return result!;
  } finally {
    closeSync(fd);
    void worker.terminate();
  }

  /** Copies the samples' bytes out of the (reused) read buffer and hands them to the worker. */
  function sendSamples(samples: RawSample[], region: Buffer, regionOffset: number): void {
    if (samples.length === 0) return;
    const base = samples[0]!.byteOffset;
    const last = samples[samples.length - 1]!;
    // One copy for all of them (what lies between samples is commas and white space).
    const bytes = new Uint8Array(last.byteOffset + last.length - base);
    bytes.set(region.subarray(base - regionOffset, last.byteOffset + last.length - regionOffset));
    const table = new Float64Array(samples.length * 6);
    let k = 0;
    for (const raw of samples) {
      const from = raw.byteOffset - base;
      table[k++] = raw.index;
      table[k++] = from;
      table[k++] = from + raw.length;
      table[k++] = raw.start.line;
      table[k++] = raw.start.character;
      table[k++] = raw.byteOffset;
    }
    // While the worker is behind, parse this batch here: the worker then only checks ids and media of the
    // samples the fast path accepts (parsing is most of the work, and this thread would otherwise wait).
    let facts: (SampleFacts | null)[] | undefined;
    if (format === 'minicpmv' && mayHelp && (share === 'always' || (share === 'auto' && inFlight >= 1))) {
      facts = samples.map((raw) => {
        let value: unknown;
        try {
          value = JSON.parse(raw.latin1);
        } catch {
          return null;
        }
        raw.release();
        return cleanMiniCpmFacts(value) ?? null;
      });
    }
    inFlight++;
    post({ type: 'samples', bytes, table, facts }, [bytes.buffer as ArrayBuffer, table.buffer as ArrayBuffer]);
  }
}

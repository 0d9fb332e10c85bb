import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DatasetFormat } from './formats';
import type { DatasetLintOptions, DatasetLintResult } from './lint';
import { cleanMiniCpmFacts, type SampleFacts } from './rules';
import { SampleSplitter, type Container, type RawSample, type StructureIssue } from './splitter';

/**
 * How {@link lintDatasetFile} spreads a large file over two threads: this one reads and splits it into samples,
 * a worker thread parses and checks them with the one session that sees every sample in order (duplicate ids,
 * media memo, exact ranges), so the findings are the same as on one thread.
 */
export interface PipelineOptions {
  /** The worker's bundle (default: dist/workers/datasetPipeline.js beside the running bundle). */
  workerScript?: string;
  /** Files smaller than this stay on one thread (starting the worker costs more than it saves). */
  minBytes?: number;
  /** Bytes read (and so at most split into one batch for the worker) at a time. */
  batchBytes?: number;
  /** Batches the reader may run ahead of the worker: bounds memory (back-pressure). */
  maxBatchesInFlight?: number;
  /**
   * When the reading thread also parses a batch of MiniCPM-V samples (`cleanMiniCpmFacts` of the one-byte view,
   * what the worker would compute itself) so that the worker only checks ids and media of the clean ones: while
   * the worker is behind ('auto'), always or never (tests).
   */
  share?: 'auto' | 'always' | 'never';
}

/**
 * Measured on the 2-core development machine (ftw lint of generated MiniCPM-V files): two threads are slower at
 * 20-32 MB (the worker's start and the ramp before the reader may share), even at 64 MB and 1.3-1.9x faster at
 * 320 MB. Batch sizes from 256 KB to 2 MB and 3 to 8 batches in flight made no measurable difference.
 */
export const pipelineDefaults = { minBytes: 64 * 1024 * 1024, batchBytes: 1024 * 1024, maxBatchesInFlight: 6 };

/** Numbers per sample in a batch's table: index, from, to (offsets in the batch's buffer), start line, start character, byte offset in the file, end line and character (-1: unknown). */
export const splitTableWidth = 8;

/** Messages of the reading thread to the worker (dist/workers/datasetPipeline.js). */
export type PipelineRequest =
  /** `bytes`: a read buffer (transferred), holding the samples at the offsets in `table`. */
  | { type: 'batch'; bytes: ArrayBuffer; table: Float64Array; facts?: EncodedFacts }
  | { type: 'end'; container: Container; issues: StructureIssue[] };

export type PipelineResponse = { type: 'ack' } | { type: 'format'; format: DatasetFormat } | { type: 'result'; result: DatasetLintResult } | { type: 'error'; message: string; stack?: string };

/** What the worker gets as `workerData`: the session's options (no functions, no signal). */
export interface PipelineWorkerData {
  options: Omit<DatasetLintOptions, 'signal' | 'onProgress' | 'pipeline'>;
  /** One Int32: batches the worker has finished, read by the reading thread without waiting for messages. */
  done: SharedArrayBuffer;
}

const workerName = 'datasetPipeline.js';

/**
 * The worker bundle: dist/workers/datasetPipeline.js next to dist/cli.js and dist/extension.js, or beside the
 * running bundle when that is itself a worker (dist/workers/datasetLint.js). Undefined elsewhere (test bundles in
 * out/ name it explicitly) and when FTW_DATASET_THREADS=1.
 */
export function defaultPipelineWorker(from: string = __dirname): string | undefined {
  if (process.env.FTW_DATASET_THREADS === '1') return undefined;
  for (const candidate of [path.join(from, 'workers', workerName), path.join(from, workerName)]) if (existsSync(candidate)) return candidate;
  return undefined;
}

/** The worker script to lint `filePath` with, or undefined for one thread (small file, no worker, turned off). */
export function pipelineWorkerFor(filePath: string, pipeline: PipelineOptions | false | undefined): string | undefined {
  if (pipeline === false) return undefined;
  const workerScript = pipeline?.workerScript ?? defaultPipelineWorker();
  if (!workerScript) return undefined;
  let size: number;
  try {
    size = statSync(filePath).size;
  } catch {
    return undefined; // the one-thread path reports the I/O error
  }
  return size >= (pipeline?.minBytes ?? pipelineDefaults.minBytes) ? workerScript : undefined;
}

/**
 * The table of samples that lie in a read buffer whose first byte is at file offset `regionOffset` (the buffer
 * itself is handed to the worker as it is: no copy).
 */
export function encodeSplitTable(samples: readonly RawSample[], regionOffset: number): Float64Array {
  const table = new Float64Array(samples.length * splitTableWidth);
  let k = 0;
  for (const raw of samples) {
    const from = raw.byteOffset - regionOffset;
    table[k++] = raw.index;
    table[k++] = from;
    table[k++] = from + raw.length;
    table[k++] = raw.start.line;
    table[k++] = raw.start.character;
    table[k++] = raw.byteOffset;
    table[k++] = raw.end ? raw.end.line : -1;
    table[k++] = raw.end ? raw.end.character : -1;
  }
  return table;
}

/**
 * `cleanMiniCpmFacts` of a batch's samples in two flat parts (one string and one number array cross threads far
 * faster than an object per sample). Per sample, in `numbers`: 0 (not clean, or not parsed: the worker checks it
 * all), or 1, the id's length (-1: none), images, turns, the number of media and per media its kind (0 image,
 * 1 video), key length (-1: the path is ["image"], else ["image", key]) and file length; the strings follow each
 * other in `text`.
 */
export interface EncodedFacts {
  numbers: Float64Array;
  text: string;
}

export function encodeFacts(facts: readonly (SampleFacts | undefined)[]): EncodedFacts {
  const numbers: number[] = [];
  const text: string[] = [];
  for (const f of facts) {
    if (!f) {
      numbers.push(0);
      continue;
    }
    numbers.push(1, f.id === undefined ? -1 : f.id.length, f.images, f.turns, f.media.length);
    if (f.id !== undefined) text.push(f.id);
    for (const m of f.media) {
      const key = m.path.length === 2 ? String(m.path[1]) : undefined;
      numbers.push(m.kind === 'image' ? 0 : 1, key === undefined ? -1 : key.length, m.file.length);
      if (key !== undefined) text.push(key);
      text.push(m.file);
    }
  }
  return { numbers: Float64Array.from(numbers), text: text.join('') };
}

export function decodeFacts(encoded: EncodedFacts, count: number): (SampleFacts | undefined)[] {
  const { numbers, text } = encoded;
  const out: (SampleFacts | undefined)[] = [];
  let n = 0;
  let t = 0;
  const take = (length: number) => text.slice(t, (t += length));
  for (let i = 0; i < count; i++) {
    if (numbers[n++] !== 1) {
      out.push(undefined);
      continue;
    }
    const idLength = numbers[n++]!;
    const id = idLength < 0 ? undefined : take(idLength);
    const images = numbers[n++]!;
    const turns = numbers[n++]!;
    const media: SampleFacts['media'] = [];
    for (let m = numbers[n++]!; m > 0; m--) {
      const kind = numbers[n++] === 0 ? 'image' : 'video';
      const keyLength = numbers[n++]!;
      const fileLength = numbers[n++]!;
      const key = keyLength < 0 ? undefined : take(keyLength);
      media.push({ path: key === undefined ? ['image'] : ['image', key], file: take(fileLength), kind });
    }
    out.push({ id, images, turns, media });
  }
  return out;
}

/** `cleanMiniCpmFacts` of each sample's one-byte view, as the worker's session would compute it. */
function factsOf(samples: readonly RawSample[]): EncodedFacts {
  return encodeFacts(
    samples.map((raw) => {
      let value: unknown;
      try {
        value = JSON.parse(raw.latin1);
      } catch {
        return undefined; // the worker reports it
      }
      return cleanMiniCpmFacts(value);
    }),
  );
}

/**
 * {@link lintDatasetFile} on two threads (see {@link PipelineOptions}). Reading and splitting (about a quarter
 * of the work) overlap parsing and checking; at most `maxBatchesInFlight` batches wait for the worker.
 */
export async function lintDatasetFilePipelined(filePath: string, workerScript: string, options: DatasetLintOptions = {}): Promise<DatasetLintResult> {
  const { signal, onProgress, pipeline, ...plain } = options;
  const batchBytes = (pipeline || undefined)?.batchBytes ?? pipelineDefaults.batchBytes;
  const maxInFlight = Math.max(1, (pipeline || undefined)?.maxBatchesInFlight ?? pipelineDefaults.maxBatchesInFlight);
  const cancelled = () => (signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
  if (signal?.aborted) throw cancelled();
  // Opened before the worker starts, so a missing file fails as on one thread, without a worker to stop.
  const fd = openSync(filePath, 'r');
  const done = new SharedArrayBuffer(4);
  const finished = new Int32Array(done);
  const workerData: PipelineWorkerData = { options: { ...plain, filePath }, done };
  // A smaller young generation than the default: about 20 MB less peak RSS, no measurable slow-down.
  const worker = new Worker(workerScript, { workerData, resourceLimits: { maxYoungGenerationSizeMb: 16 } });
  let failure: Error | undefined;
  let result: DatasetLintResult | undefined;
  let sent = 0;
  /** Batches sent and not finished; exact at any moment (acknowledgements only arrive when this thread waits). */
  const inFlight = () => sent - Atomics.load(finished, 0);
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  /** The format the worker's session detected (or was given): for MiniCPM-V, this thread may share the parsing. */
  let format: DatasetFormat | undefined;
  const share = (pipeline || undefined)?.share ?? 'auto';
  const mayShare = share !== 'never' && !((options.modelMaxLength ?? 0) > 0);
  worker.on('message', (message: PipelineResponse) => {
    if (message.type === 'ack') {
      // counted in `finished`; the message only wakes a waiting reader
    } else if (message.type === 'format') format = message.format;
    else if (message.type === 'result') result = message.result;
    else {
      failure ??= new Error(message.message);
      if (message.stack) failure.stack = message.stack;
    }
    wakeUp();
  });
  worker.on('error', (error) => {
    failure ??= error;
    wakeUp();
  });
  worker.on('exit', (code) => {
    if (!result) failure ??= new Error(`dataset lint worker exited (code ${code}) before its result`);
    wakeUp();
  });
  signal?.addEventListener('abort', wakeUp);
  /** Waits for the worker to acknowledge a batch, answer, fail or for cancellation. */
  const settled = () => new Promise<void>((resolve) => (wake = resolve));
  const post = (message: PipelineRequest, transfer?: ArrayBuffer[]) => worker.postMessage(message, transfer);
  /** Hands the samples and the read buffer holding them (its own ArrayBuffer, detached here) to the worker. */
  const send = (samples: RawSample[], buffer: Buffer, bufferOffset: number) => {
    // Offsets in the table count from the start of the ArrayBuffer the worker gets.
    const table = encodeSplitTable(samples, bufferOffset - buffer.byteOffset);
    // While the worker is behind, parse here what it would otherwise parse itself (this thread would wait anyway).
    const facts = mayShare && format === 'minicpmv' && (share === 'always' || inFlight() >= maxInFlight - 1) ? factsOf(samples) : undefined;
    sent++;
    const transfer = [buffer.buffer as ArrayBuffer, table.buffer as ArrayBuffer];
    if (facts) transfer.push(facts.numbers.buffer as ArrayBuffer);
    post({ type: 'batch', bytes: buffer.buffer as ArrayBuffer, table, facts }, transfer);
  };
  try {
    const splitter = new SampleSplitter({ maxSampleBytes: options.maxSampleBytes, exactEnds: options.collectSamples });
    const total = fstatSync(fd).size;
    let read = 0;
    let chunks = 0;
    // Each read goes into a fresh buffer (after the unfinished sample carried over from the previous one), which
    // then travels to the worker with the samples it completes; only the unfinished sample is copied.
    const fresh = (size: number) => Buffer.allocUnsafeSlow(size);
    let buffer = fresh(batchBytes * 2);
    let kept = 0;
    for (;;) {
      if (signal?.aborted) throw cancelled();
      if (failure) throw failure;
      if (buffer.length - kept < batchBytes) {
        const grown = fresh(Math.max(buffer.length * 2, kept + batchBytes));
        buffer.copy(grown, 0, 0, kept);
        buffer = grown;
      }
      const n = readSync(fd, buffer, kept, batchBytes, null);
      if (n === 0) break;
      read += n;
      const region = buffer.subarray(0, kept + n);
      const { samples, keep } = splitter.pushRegion(region);
      kept = region.length - keep;
      if (samples.length) {
        const next = fresh(kept + batchBytes);
        region.copy(next, 0, keep, region.length);
        send(samples, buffer, read - region.length);
        buffer = next;
      } else region.copy(buffer, 0, keep, region.length);
      onProgress?.(read, total);
      // Back-pressure; the wait also lets acknowledgements, cancellation and progress messages through.
      if (inFlight() >= maxInFlight) {
        while (inFlight() >= maxInFlight && !failure && !result && !signal?.aborted) await settled();
      } else if (++chunks % 8 === 0 && (signal || onProgress)) await new Promise((resolve) => setImmediate(resolve));
    }
    const rest = buffer.subarray(0, kept);
    const last = splitter.end(rest);
    if (last.length) send(last, buffer, read - kept);
    post({ type: 'end', container: splitter.container, issues: splitter.issues });
    while (!result && !failure && !signal?.aborted) await settled();
    if (signal?.aborted) throw cancelled();
    if (failure) throw failure;
    return result!;
  } finally {
    signal?.removeEventListener('abort', wakeUp);
    closeSync(fd);
    void worker.terminate();
  }
}

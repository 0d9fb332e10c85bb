// Worker thread that lints datasets off the extension host thread: open documents (text) and files on disk
// (streamed, with progress and cancellation).
import { parentPort } from 'node:worker_threads';
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { lintDatasetBytes, lintDatasetFile, lintDatasetText, lintDatasetTextInSlices, type DatasetLintResult } from '../core/dataset/lint';
import { datasetLinter } from '../core/dataset/linter';
import { compileAllSampleValidators } from '../core/dataset/schemas';
import type { DatasetWorkerRequest, DatasetWorkerResponse, WorkerLintOptions } from '../core/dataset/protocol';

const port = parentPort;
if (!port) throw new Error('datasetLint.js must run as a worker thread');
const running = new Map<number, AbortController>();
/** Open documents, kept in step with the editor's change events. */
const mirrors = new Map<string, { text: string; version: number }>();
/** The lint running on each mirror: the next change to it aborts the run (its result would be stale). */
const mirrorRuns = new Map<string, AbortController>();

/** The last saved files linted on tab open: the document's mirror and first lint reuse their text and result. */
interface SavedLint {
  filePath: string;
  mtimeMs: number;
  size: number;
  text: string;
  optionsKey: string;
  result: DatasetLintResult;
}
const saved: SavedLint[] = [];
const savedKept = 2;

/** A whole open file of `size` bytes (after `head`, its first bytes if already read), without a UTF-8 BOM: VS Code hides it. */
function readWhole(fd: number, size: number, head: Buffer = Buffer.alloc(0)): Buffer {
  const bytes = Buffer.allocUnsafe(Math.max(size, head.length));
  head.copy(bytes);
  let read = head.length;
  while (read < size) {
    const n = readSync(fd, bytes, read, size - read, read);
    if (n === 0) break;
    read += n;
  }
  const bom = read >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return bytes.subarray(bom, read);
}

function readSaved(filePath: string): string {
  const fd = openSync(filePath, 'r');
  try {
    return readWhole(fd, fstatSync(fd).size).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The kept lint of `filePath` if the file has not changed since (same mtime and size). */
function savedFor(filePath: string): SavedLint | undefined {
  const entry = saved.find((s) => s.filePath === filePath);
  const stat = entry && statSync(filePath, { throwIfNoEntry: false });
  return stat && stat.mtimeMs === entry.mtimeMs && stat.size === entry.size ? entry : undefined;
}

/**
 * Lints a saved file and keeps its text and result. Valid UTF-8 is linted from the bytes as read (the same bytes
 * lintDatasetText would encode) and `afterResult` runs between sending the result and decoding the text, so the
 * decoding is off the path to the first diagnostics.
 */
function lintSaved(filePath: string, maxBytes: number, options: WorkerLintOptions, afterResult: (result: DatasetLintResult | undefined) => void): void {
  const fd = openSync(filePath, 'r');
  let bytes: Buffer;
  let stat: Stats;
  try {
    stat = fstatSync(fd);
    // The first 8 KiB say whether it is a dataset: other JSON files are not read whole.
    const head = Buffer.alloc(Math.min(8192, stat.size));
    const headBytes = readSync(fd, head, 0, head.length, 0);
    if (stat.size > maxBytes || !datasetLinter.matches(filePath, head.subarray(0, headBytes).toString('utf8'))) {
      afterResult(undefined);
      return;
    }
    bytes = readWhole(fd, stat.size, head.subarray(0, headBytes));
  } finally {
    closeSync(fd);
  }
  let text: string | undefined;
  let result: DatasetLintResult;
  if (isUtf8(bytes)) result = lintDatasetBytes(bytes, options);
  else result = lintDatasetText((text = bytes.toString('utf8')), options); // invalid bytes: lint what the editor shows
  afterResult(result);
  text ??= bytes.toString('utf8');
  const index = saved.findIndex((s) => s.filePath === filePath);
  if (index >= 0) saved.splice(index, 1);
  saved.unshift({ filePath, text, mtimeMs: stat.mtimeMs, size: stat.size, optionsKey: JSON.stringify(options), result });
  saved.length = Math.min(saved.length, savedKept);
}

function send(message: DatasetWorkerResponse): void {
  port!.postMessage(message);
}

/** Results move their sample table instead of copying it. */
function sendResult(id: number, result: DatasetLintResult): void {
  port!.postMessage({ type: 'result', id, result } satisfies DatasetWorkerResponse, result.sampleTable ? [result.sampleTable.ranges.buffer as ArrayBuffer] : []);
}

port.on('message', (request: DatasetWorkerRequest) => {
  if (request.type === 'warmUp') {
    compileAllSampleValidators();
    return;
  }
  if (request.type === 'cancel') {
    running.get(request.id)?.abort(new Error('cancelled'));
    return;
  }
  if (request.type === 'mirrorLoad') {
    try {
      const text = savedFor(request.filePath)?.text ?? readSaved(request.filePath);
      if (text.length === request.expectedLength) mirrors.set(request.key, { text, version: request.version });
      else mirrors.delete(request.key);
    } catch {
      mirrors.delete(request.key);
    }
    return;
  }
  if (request.type === 'mirrorStart') {
    mirrors.set(request.key, { text: '', version: request.version });
    return;
  }
  if (request.type === 'mirrorChunk') {
    const mirror = mirrors.get(request.key);
    if (mirror) mirror.text += request.text;
    return;
  }
  if (request.type === 'mirrorChange') {
    const mirror = mirrors.get(request.key);
    if (!mirror) return;
    // Every change event since the mirror was made is forwarded, in order; versions only grow.
    if (request.version <= mirror.version) {
      mirrors.delete(request.key); // out of step: the next lint reloads it
      return;
    }
    mirrorRuns.get(request.key)?.abort(new Error('superseded by an edit'));
    let text = mirror.text;
    // The document moved on from the saved text: its kept lint is of no further use.
    const keptIndex = saved.findIndex((s) => s.text === text);
    if (keptIndex >= 0) saved.splice(keptIndex, 1);
    // Changes of one event apply one after the other, as in VS Code's own mirror models.
    for (const change of request.changes) text = text.slice(0, change.offset) + change.text + text.slice(change.offset + change.length);
    mirror.text = text;
    mirror.version = request.version;
    return;
  }
  if (request.type === 'mirrorClose') {
    mirrorRuns.get(request.key)?.abort(new Error('document closed'));
    mirrors.delete(request.key);
    return;
  }
  if (request.type === 'mirrorLint') {
    const mirror = mirrors.get(request.key);
    if (!mirror || mirror.version !== request.version) {
      send({ type: 'error', id: request.id, message: 'the document mirror is not at this version', cancelled: false, stale: true });
      return;
    }
    // The same text (the very string, unedited since it was read) with the same options: the tab-open lint holds.
    const kept = saved.find((s) => s.text === mirror.text && s.optionsKey === JSON.stringify(request.options));
    if (kept) {
      send({ type: 'result', id: request.id, result: kept.result }); // copied, not moved: the kept one stays whole
      return;
    }
    mirrorRuns.get(request.key)?.abort(new Error('superseded by a newer lint'));
    const controller = new AbortController();
    mirrorRuns.set(request.key, controller);
    lintDatasetTextInSlices(mirror.text, { ...request.options, signal: controller.signal })
      .then((result) => sendResult(request.id, result))
      .catch((error: Error) => send({ type: 'error', id: request.id, message: error.message, cancelled: controller.signal.aborted }))
      .finally(() => {
        if (mirrorRuns.get(request.key) === controller) mirrorRuns.delete(request.key);
      });
    return;
  }
  if (request.type === 'lintSaved') {
    try {
      // The result is copied, not moved: the kept one stays whole for the document's first lint.
      lintSaved(request.filePath, request.maxBytes, request.options, (result) => send({ type: 'savedResult', id: request.id, result }));
    } catch (error) {
      send({ type: 'error', id: request.id, message: (error as Error).message, cancelled: false });
    }
    return;
  }
  if (request.type === 'lintText') {
    try {
      sendResult(request.id, lintDatasetText(request.text, request.options));
    } catch (error) {
      send({ type: 'error', id: request.id, message: (error as Error).message, cancelled: false });
    }
    return;
  }
  const controller = new AbortController();
  running.set(request.id, controller);
  let lastProgress = 0;
  lintDatasetFile(request.filePath, {
    ...request.options,
    signal: controller.signal,
    onProgress(bytesRead, totalBytes) {
      const now = Date.now();
      if (now - lastProgress > 100) {
        lastProgress = now;
        send({ type: 'progress', id: request.id, bytesRead, totalBytes });
      }
    },
  })
    .then((result) => sendResult(request.id, result))
    .catch((error: Error) => send({ type: 'error', id: request.id, message: error.message, cancelled: controller.signal.aborted }))
    .finally(() => running.delete(request.id));
});

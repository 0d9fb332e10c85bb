// Worker thread that lints datasets off the extension host thread: open documents (text) and files on disk
// (streamed, with progress and cancellation).
import { parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { lintDatasetFile, lintDatasetText, type DatasetLintResult } from '../core/dataset/lint';
import type { DatasetWorkerRequest, DatasetWorkerResponse } from '../core/dataset/protocol';

const port = parentPort;
if (!port) throw new Error('datasetLint.js must run as a worker thread');
const running = new Map<number, AbortController>();
/** Open documents, kept in step with the editor's change events. */
const mirrors = new Map<string, { text: string; version: number }>();

function send(message: DatasetWorkerResponse): void {
  port!.postMessage(message);
}

/** Results move their sample table instead of copying it. */
function sendResult(id: number, result: DatasetLintResult): void {
  port!.postMessage({ type: 'result', id, result } satisfies DatasetWorkerResponse, result.sampleTable ? [result.sampleTable.ranges.buffer as ArrayBuffer] : []);
}

port.on('message', (request: DatasetWorkerRequest) => {
  if (request.type === 'cancel') {
    running.get(request.id)?.abort(new Error('cancelled'));
    return;
  }
  if (request.type === 'mirrorLoad') {
    try {
      let text = readFileSync(request.filePath, 'utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // VS Code hides the BOM
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
    let text = mirror.text;
    // Changes of one event apply one after the other, as in VS Code's own mirror models.
    for (const change of request.changes) text = text.slice(0, change.offset) + change.text + text.slice(change.offset + change.length);
    mirror.text = text;
    mirror.version = request.version;
    return;
  }
  if (request.type === 'mirrorClose') {
    mirrors.delete(request.key);
    return;
  }
  if (request.type === 'mirrorLint') {
    const mirror = mirrors.get(request.key);
    if (!mirror || mirror.version !== request.version) {
      send({ type: 'error', id: request.id, message: 'the document mirror is not at this version', cancelled: false, stale: true });
      return;
    }
    try {
      sendResult(request.id, lintDatasetText(mirror.text, request.options));
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

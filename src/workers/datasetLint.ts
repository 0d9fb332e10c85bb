// Worker thread that lints datasets off the extension host thread: open documents (text) and files on disk
// (streamed, with progress and cancellation).
import { parentPort } from 'node:worker_threads';
import { DatasetLintSession, lintDatasetFile, lintDatasetText, type DatasetLintResult } from '../core/dataset/lint';
import type { DatasetWorkerRequest, DatasetWorkerResponse } from '../core/dataset/protocol';

const port = parentPort;
if (!port) throw new Error('datasetLint.js must run as a worker thread');
const running = new Map<number, AbortController>();
const documents = new Map<number, DatasetLintSession>();

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
    documents.delete(request.id);
    return;
  }
  if (request.type === 'textStart') {
    documents.set(request.id, new DatasetLintSession(request.options));
    return;
  }
  if (request.type === 'textChunk') {
    documents.get(request.id)?.push(Buffer.from(request.text, 'utf8'));
    return;
  }
  if (request.type === 'textEnd') {
    const session = documents.get(request.id);
    documents.delete(request.id);
    if (!session) return;
    try {
      sendResult(request.id, session.end());
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

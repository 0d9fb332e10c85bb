// Worker thread that lints datasets off the extension host thread: open documents (text) and files on disk
// (streamed, with progress and cancellation).
import { parentPort } from 'node:worker_threads';
import { lintDatasetFile, lintDatasetText } from '../core/dataset/lint';
import type { DatasetWorkerRequest, DatasetWorkerResponse } from '../core/dataset/protocol';

const port = parentPort;
if (!port) throw new Error('datasetLint.js must run as a worker thread');
const running = new Map<number, AbortController>();

function send(message: DatasetWorkerResponse): void {
  port!.postMessage(message);
}

port.on('message', (request: DatasetWorkerRequest) => {
  if (request.type === 'cancel') {
    running.get(request.id)?.abort(new Error('cancelled'));
    return;
  }
  if (request.type === 'lintText') {
    try {
      send({ type: 'result', id: request.id, result: lintDatasetText(request.text, request.options) });
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
    .then((result) => send({ type: 'result', id: request.id, result }))
    .catch((error: Error) => send({ type: 'error', id: request.id, message: error.message, cancelled: controller.signal.aborted }))
    .finally(() => running.delete(request.id));
});

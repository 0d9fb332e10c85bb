// Worker thread of `lintDatasetFileParallel`: parses and checks the samples the reading thread splits off, with
// the same session (and so the same findings) as the serial path.
import { parentPort } from 'node:worker_threads';
import { DatasetLintSession } from '../core/dataset/lint';
import type { DatasetCheckRequest, DatasetCheckResponse } from '../core/dataset/parallel';

const port = parentPort;
if (!port) throw new Error('datasetCheck.js must run as a worker thread');
let session: DatasetLintSession | undefined;
let formatSent = false;

function send(message: DatasetCheckResponse): void {
  port!.postMessage(message);
}

port.on('message', (request: DatasetCheckRequest) => {
  try {
    if (request.type === 'start') {
      session = new DatasetLintSession(request.options);
    } else if (request.type === 'samples') {
      const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength);
      session!.pushSplit(bytes, request.table, request.facts);
      if (!formatSent && session!.currentFormat) {
        formatSent = true;
        send({ type: 'format', format: session!.currentFormat });
      }
      send({ type: 'ack' });
    } else {
      send({ type: 'result', result: session!.endSplit(request.container, request.issues) });
      session = undefined;
    }
  } catch (error) {
    send({ type: 'error', message: (error as Error).stack ?? String(error) });
  }
});

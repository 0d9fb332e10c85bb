// Worker thread of lintDatasetFilePipelined (src/core/dataset/pipeline.ts): parses and checks, in file order, the
// samples the reading thread splits off, with one session for the whole file (the same findings as one thread).
import { parentPort, workerData } from 'node:worker_threads';
import { DatasetLintSession } from '../core/dataset/lint';
import { decodeFacts, splitTableWidth, type PipelineRequest, type PipelineResponse, type PipelineWorkerData } from '../core/dataset/pipeline';

const port = parentPort;
if (!port) throw new Error('datasetPipeline.js must run as a worker thread');
const { options, done } = workerData as PipelineWorkerData;
const session = new DatasetLintSession(options);
const finished = new Int32Array(done);
let failed = false;
let formatSent = false;

function send(message: PipelineResponse): void {
  port!.postMessage(message);
}

port.on('message', (request: PipelineRequest) => {
  if (failed) return;
  try {
    if (request.type === 'batch') {
      session.pushSplit(Buffer.from(request.bytes), request.table, request.facts && decodeFacts(request.facts, request.table.length / splitTableWidth));
      if (!formatSent && session.currentFormat) {
        formatSent = true;
        send({ type: 'format', format: session.currentFormat });
      }
      Atomics.add(finished, 0, 1);
      send({ type: 'ack' });
    } else {
      send({ type: 'result', result: session.endSplit(request.container, request.issues) });
    }
  } catch (error) {
    failed = true;
    send({ type: 'error', message: (error as Error).message ?? String(error), stack: (error as Error).stack });
  }
});

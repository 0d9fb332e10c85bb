// Worker thread of the Training Curves panel: reads run folders with the incremental readers of src/core/metrics,
// off the extension host thread, and answers with only the points the panel does not have yet (typed arrays,
// transferred, not copied).
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { exportedSeries, toCsv } from '../core/metrics/export';
import { RunReader } from '../core/metrics/run';
import type { SeriesChunk } from '../protocol/curves';
import type { CurvesWorkerRequest, CurvesWorkerResponse, RunUpdate } from '../protocol/curvesWorker';

interface TrackedRun {
  reader: RunReader;
  /** Per tag: points the panel has, the resume count it saw, and its last value (a repeated step replaces it). */
  sent: Map<string, { length: number; resumes: number; lastValue: number }>;
}

const runs = new Map<string, TrackedRun>();
const port = parentPort;

function post(message: CurvesWorkerResponse, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

function track(folder: string, extra?: string[], name?: string): TrackedRun {
  let run = runs.get(folder);
  if (!run) {
    run = { reader: new RunReader(folder, { extra, name, onWarning: (w) => post({ id: -1, type: 'warning', message: `${w.file}: ${w.message}` }) }), sent: new Map() };
    runs.set(folder, run);
  }
  return run;
}

async function refresh(id: number, folder: string, reset: boolean, extra?: string[], name?: string): Promise<void> {
  const run = track(folder, extra, name);
  if (reset) run.sent.clear();
  const changed = await run.reader.refresh();
  const snapshot = run.reader.snapshot();
  const full = run.sent.size === 0;
  const chunks: SeriesChunk[] = [];
  const transfer: ArrayBuffer[] = [];
  let points = 0;
  for (const series of snapshot.series) {
    const length = series.steps.length;
    points += length;
    const sent = run.sent.get(series.tag);
    const resumes = snapshot.resumes.length;
    const lastValue = series.values[length - 1];
    if (!full && sent && sent.length === length && sent.resumes === resumes && Object.is(sent.lastValue, lastValue)) continue;
    // The last point may have been replaced (same step logged again), so it is always sent again.
    const start = full || !sent || sent.resumes !== resumes || length < sent.length ? 0 : Math.max(0, sent.length - 1);
    const chunk = { tag: series.tag, start, steps: series.steps.slice(start), values: series.values.slice(start), wallTimes: series.wallTimes.slice(start) };
    transfer.push(chunk.steps.buffer, chunk.values.buffer, chunk.wallTimes.buffer);
    chunks.push(chunk);
    run.sent.set(series.tag, { length, resumes, lastValue });
  }
  const update: RunUpdate = {
    folder,
    name: snapshot.name,
    full,
    changed: changed || full,
    chunks,
    resumes: snapshot.resumes.map((r) => r.step),
    summary: snapshot.metadata.summary,
    warnings: snapshot.warnings.map((w) => `${path.basename(w.file)}: ${w.message}`),
    points,
    files: snapshot.files.map((f) => f.path),
  };
  post({ id, type: 'update', update }, transfer);
}

function exportCsv(id: number, folders: string[], smoothing: number, tagFilter: string): void {
  let tagPattern: RegExp | undefined;
  try {
    tagPattern = tagFilter ? new RegExp(tagFilter) : undefined;
  } catch {
    tagPattern = undefined;
  }
  const snapshots = folders.map((folder) => runs.get(folder)?.reader.snapshot()).filter((s) => s !== undefined);
  post({ id, type: 'csv', csv: toCsv(exportedSeries(snapshots, { smoothing, tagPattern })) });
}

/** Requests of one run are handled in order; a run's read never overlaps with another read of it. */
let queue: Promise<void> = Promise.resolve();
port?.on('message', (request: CurvesWorkerRequest) => {
  queue = queue.then(async () => {
    try {
      switch (request.type) {
        case 'refresh':
          await refresh(request.id, request.folder, request.reset, request.extra, request.name);
          break;
        case 'remove':
          runs.delete(request.folder);
          post({ id: request.id, type: 'done' });
          break;
        case 'exportCsv':
          exportCsv(request.id, request.folders, request.smoothing, request.tagFilter);
          break;
      }
    } catch (error) {
      post({ id: request.id, type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  });
});

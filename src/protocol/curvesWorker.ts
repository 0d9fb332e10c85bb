import type { SeriesChunk } from './curves';

/** Requests from the extension host to the curves reader worker (src/workers/curvesReader.ts). */
export type CurvesWorkerRequest =
  /** Read what a run's files gained; `reset`: the webview lost its data, send every point again. */
  | { id: number; type: 'refresh'; folder: string; reset: boolean; extra?: string[]; name?: string }
  | { id: number; type: 'remove'; folder: string }
  | { id: number; type: 'exportCsv'; folders: string[]; smoothing: number; tagFilter: string };

export interface RunUpdate {
  folder: string;
  name: string;
  /** True when `chunks` hold every point (the webview replaces the run), false for appended points. */
  full: boolean;
  changed: boolean;
  chunks: SeriesChunk[];
  resumes: number[];
  summary: Record<string, number>;
  warnings: string[];
  /** Points of every tag of the run after this update. */
  points: number;
  /** Files the run reads (the host watches them). */
  files: string[];
}

export type CurvesWorkerResponse =
  | { id: number; type: 'update'; update: RunUpdate }
  | { id: number; type: 'done' }
  | { id: number; type: 'csv'; csv: string }
  | { id: number; type: 'error'; message: string }
  /** Not an answer: a warning about a file, found while reading (for the log). */
  | { id: -1; type: 'warning'; message: string };

/**
 * Messages between the Training Curves panel (webview/curves/main.ts) and the extension (src/features/curves).
 * Series arrays are Float64Array: VS Code transfers typed arrays as binary, which keeps NaN and ±Infinity
 * (JSON would turn them into null). A webview receiving plain arrays (null for NaN) copes as well.
 */

export type XAxisMode = 'step' | 'epoch' | 'relative' | 'wall';

export interface SeriesChunk {
  readonly tag: string;
/** Where the points go: the series is cut to `start` points, then these are appended (0 = replace). */
  readonly start: number;
  readonly steps: Float64Array | number[];
  readonly values: Float64Array | number[];
/** Seconds since the epoch, NaN where the source has none. */
  readonly wallTimes: Float64Array | number[];
}

export interface RunPayload {
/** The run folder's path: the run's identity (and colour) across reloads. */
  readonly id: string;
  readonly name: string;
/** Folder relative to the workspace, for display. */
  readonly description: string;
  readonly resumes: readonly number[];
  readonly summary: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
  readonly live: boolean;
}

/** Everything of one run (sent when a run is added, and after a file was replaced). */
export interface ToRunData {
  readonly type: 'runData';
  readonly run: RunPayload;
  readonly series: readonly SeriesChunk[];
/** Host time when the data was read (for the time-to-first-render measurement). */
  readonly seenAt?: number;
}
/** Points appended to a run's series while its files grow. */
export interface ToRunAppend {
  readonly type: 'runAppend';
  readonly run: RunPayload;
  readonly series: readonly SeriesChunk[];
/** Host time when the change was seen on disk (for the append-to-draw latency). */
  readonly seenAt: number;
}
export interface ToRunRemoved {
  readonly type: 'runRemoved';
  readonly id: string;
}
export interface ToSettings {
  readonly type: 'settings';
  readonly defaultSmoothing: number;
}
export interface ToError {
  readonly type: 'error';
  readonly message: string;
}
export type ToWebviewMessage = ToRunData | ToRunAppend | ToRunRemoved | ToSettings | ToError;

export interface FromReady {
  readonly type: 'ready';
}
export interface FromRemoveRun {
  readonly type: 'removeRun';
  readonly id: string;
}
export interface FromExportCsv {
  readonly type: 'exportCsv';
  readonly smoothing: number;
  readonly tagFilter: string;
}
export interface FromExportPng {
  readonly type: 'exportPng';
/** PNG as a data: URL (`data:image/png;base64,...`). */
  readonly dataUrl: string;
}
/** Reported after a runAppend was drawn, so the host can log the latency. */
export interface FromDrawn {
  readonly type: 'drawn';
  readonly seenAt: number;
  readonly points: number;
}
export type FromWebviewMessage = FromReady | FromRemoveRun | FromExportCsv | FromExportPng | FromDrawn;

/** What the panel keeps across reloads (vscode.setState) and the serializer gets back. */
export interface CurvesState {
  runs: string[];
  smoothing: number;
  xAxis: XAxisMode;
  logScale: boolean;
  ignoreOutliers: boolean;
  tagFilter: string;
  hiddenRuns: string[];
  hiddenSeries: string[];
/** Palette slot of each run, so a run keeps its colour when others are added or removed. */
  colors: Record<string, number>;
}

export const curvesViewType = 'finetuneWorkbench.curves';

import type { DatasetLintOptions, DatasetLintResult } from './lint';

/** Options that cross the worker boundary (no functions, no signals). */
export type WorkerLintOptions = Omit<DatasetLintOptions, 'signal' | 'onProgress'>;

/** Messages the extension host sends to the dataset-lint worker. */
export type DatasetWorkerRequest =
  | { type: 'lintText'; id: number; text: string; options: WorkerLintOptions }
  /** An open document, sent in pieces so that the extension host never copies it in one go. */
  | { type: 'textStart'; id: number; options: WorkerLintOptions }
  | { type: 'textChunk'; id: number; text: string }
  | { type: 'textEnd'; id: number }
  | { type: 'lintFile'; id: number; filePath: string; options: WorkerLintOptions }
  | { type: 'cancel'; id: number };

/** Messages the worker sends back. */
export type DatasetWorkerResponse =
  | { type: 'result'; id: number; result: DatasetLintResult }
  | { type: 'progress'; id: number; bytesRead: number; totalBytes: number }
  | { type: 'error'; id: number; message: string; cancelled: boolean };

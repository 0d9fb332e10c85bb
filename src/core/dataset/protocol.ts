import type { DatasetLintOptions, DatasetLintResult } from './lint';

/** Options that cross the worker boundary (no functions, no signals). */
export type WorkerLintOptions = Omit<DatasetLintOptions, 'signal' | 'onProgress'>;

/** Messages the extension host sends to the dataset-lint worker. */
export type DatasetWorkerRequest =
  | { type: 'lintText'; id: number; text: string; options: WorkerLintOptions }
  /**
   * Open documents are mirrored in the worker, so an edit costs the extension host a few bytes, not a copy of the
   * document: the mirror is loaded from disk (a saved document; `expectedLength` guards against another encoding
   * or normalised line ends) or sent in slices, then kept in step with each change event.
   */
  | { type: 'mirrorLoad'; key: string; version: number; filePath: string; expectedLength: number }
  | { type: 'mirrorStart'; key: string; version: number }
  | { type: 'mirrorChunk'; key: string; text: string }
  | { type: 'mirrorChange'; key: string; version: number; changes: { offset: number; length: number; text: string }[] }
  | { type: 'mirrorClose'; key: string }
  /** Lints the mirror if it is at `version`; otherwise answers an error with `stale: true`. */
  | { type: 'mirrorLint'; id: number; key: string; version: number; options: WorkerLintOptions }
  | { type: 'lintFile'; id: number; filePath: string; options: WorkerLintOptions }
  /**
   * Lints a saved file whose editor tab just opened, before VS Code has synced its text to the extension host
   * (seconds for tens of MB). The text and result are kept: the document's mirror and first lint reuse them.
   * Answers `savedResult` without a result when the file is not a dataset or is larger than `maxBytes`.
   */
  | { type: 'lintSaved'; id: number; filePath: string; maxBytes: number; options: WorkerLintOptions }
  /**
   * Loads what the first lint would otherwise load on its way (the worker's code, every format's compiled schema),
   * so that the first dataset opened after activation does not wait for it. Answers nothing.
   */
  | { type: 'warmUp' }
  | { type: 'cancel'; id: number };

/** Messages the worker sends back. */
export type DatasetWorkerResponse =
  | { type: 'result'; id: number; result: DatasetLintResult }
  /** For `lintSaved`: the result, or none when the file was skipped. */
  | { type: 'savedResult'; id: number; result?: DatasetLintResult }
  | { type: 'progress'; id: number; bytesRead: number; totalBytes: number }
  | { type: 'error'; id: number; message: string; cancelled: boolean; stale?: boolean };

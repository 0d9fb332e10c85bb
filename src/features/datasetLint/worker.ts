import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import type { DatasetLintResult } from '../../core/dataset/lint';
import type { DatasetWorkerRequest, DatasetWorkerResponse, WorkerLintOptions } from '../../core/dataset/protocol';

interface Pending {
  resolve(result: DatasetLintResult | SavedLintResult): void;
  reject(error: Error): void;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export class CancelledError extends Error {}

/** A saved file linted on tab open; no result when it is not a dataset or too large. */
export interface SavedLintResult {
  result?: DatasetLintResult;
}

/** The worker's copy of a document was not at the requested version. */
class StaleMirrorError extends Error {}

/** The dataset-lint worker thread (started on first use, restarted if it dies). */
export class DatasetLintWorker implements vscode.Disposable {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Longest time one slice of a document took on the extension host thread (logged; the editor must stay fluid). */
  longestSliceMs = 0;

  constructor(
    private readonly extensionPath: string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  lintText(text: string, options: WorkerLintOptions): Promise<DatasetLintResult> {
    return this.request((id) => ({ type: 'lintText', id, text, options })) as Promise<DatasetLintResult>;
  }

  /** Lints a saved file from disk, keeping its text for the document's mirror (see `lintSaved` in the protocol). */
  lintSaved(filePath: string, maxBytes: number, options: WorkerLintOptions): Promise<SavedLintResult> {
    return this.request((id) => ({ type: 'lintSaved', id, filePath, maxBytes, options })) as Promise<SavedLintResult>;
  }

  /** Keys of the documents the worker mirrors (believed in step; the worker says when not). */
  private readonly mirrored = new Set<string>();

  /**
   * Lints an open document through its mirror in the worker: the first time, the worker reads the saved file (or
   * gets the text in slices of lines, with a yield between them); afterwards only change events cross over, so
   * the extension host never copies the document. `stale()` is asked between slices.
   */
  async lintDocument(document: vscode.TextDocument, options: WorkerLintOptions, stale: () => boolean): Promise<DatasetLintResult | undefined> {
    const key = document.uri.toString();
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.mirrored.has(key)) {
        const loaded = await this.loadMirror(document, key, stale, attempt > 0);
        if (!loaded) return undefined;
      }
      const id = this.nextId++;
      const worker = this.ensure();
      const result = new Promise<DatasetLintResult>((resolve, reject) => this.pending.set(id, { resolve: resolve as Pending['resolve'], reject }));
      worker.postMessage({ type: 'mirrorLint', id, key, version: document.version, options } satisfies DatasetWorkerRequest);
      try {
        return await result;
      } catch (error) {
        if (!(error instanceof StaleMirrorError)) throw error;
        this.mirrored.delete(key); // reload, this time from the editor's text
      }
    }
    return undefined;
  }

  /** Forwards an edit to the document's mirror (a few bytes per keystroke). */
  documentChanged(event: vscode.TextDocumentChangeEvent): void {
    const key = event.document.uri.toString();
    if (!this.mirrored.has(key) || !this.worker) return;
    const changes = event.contentChanges.map((c) => ({ offset: c.rangeOffset, length: c.rangeLength, text: c.text }));
    this.worker.postMessage({ type: 'mirrorChange', key, version: event.document.version, changes } satisfies DatasetWorkerRequest);
  }

  documentClosed(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    if (this.mirrored.delete(key)) this.worker?.postMessage({ type: 'mirrorClose', key } satisfies DatasetWorkerRequest);
  }

  private async loadMirror(document: vscode.TextDocument, key: string, stale: () => boolean, fromEditor: boolean): Promise<boolean> {
    const worker = this.ensure();
    const version = document.version;
    if (!fromEditor && !document.isDirty && document.uri.scheme === 'file') {
      const last = document.lineAt(document.lineCount - 1).range.end;
      worker.postMessage({ type: 'mirrorLoad', key, version, filePath: document.uri.fsPath, expectedLength: document.offsetAt(last) } satisfies DatasetWorkerRequest);
      this.mirrored.add(key);
      return true;
    }
    worker.postMessage({ type: 'mirrorStart', key, version } satisfies DatasetWorkerRequest);
    const linesPerSlice = 20_000;
    for (let line = 0; line < document.lineCount; line += linesPerSlice) {
      if (stale() || document.version !== version) {
        worker.postMessage({ type: 'mirrorClose', key } satisfies DatasetWorkerRequest);
        return false;
      }
      const sliceStarted = performance.now();
      const text = document.getText(new vscode.Range(line, 0, line + linesPerSlice, 0));
      worker.postMessage({ type: 'mirrorChunk', key, text } satisfies DatasetWorkerRequest);
      this.longestSliceMs = Math.max(this.longestSliceMs, performance.now() - sliceStarted);
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (document.version !== version) {
      worker.postMessage({ type: 'mirrorClose', key } satisfies DatasetWorkerRequest);
      return false;
    }
    this.mirrored.add(key);
    return true;
  }

  lintFile(filePath: string, options: WorkerLintOptions, onProgress: (bytesRead: number, totalBytes: number) => void, token: vscode.CancellationToken): Promise<DatasetLintResult> {
    return this.request((id) => ({ type: 'lintFile', id, filePath, options }), onProgress, token) as Promise<DatasetLintResult>;
  }

  private request(make: (id: number) => DatasetWorkerRequest, onProgress?: Pending['onProgress'], token?: vscode.CancellationToken): Promise<DatasetLintResult | SavedLintResult> {
    const id = this.nextId++;
    const worker = this.ensure();
    return new Promise<DatasetLintResult | SavedLintResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      token?.onCancellationRequested(() => worker.postMessage({ type: 'cancel', id } satisfies DatasetWorkerRequest));
      worker.postMessage(make(id));
    });
  }

  /** Starts the worker and has it load its code and schemas ahead of the first lint (a cold start costs 130-300 ms). */
  warmUp(): void {
    this.ensure().postMessage({ type: 'warmUp' } satisfies DatasetWorkerRequest);
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(path.join(this.extensionPath, 'dist', 'workers', 'datasetLint.js'));
    worker.on('message', (message: DatasetWorkerResponse) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      if (message.type === 'progress') {
        pending.onProgress?.(message.bytesRead, message.totalBytes);
        return;
      }
      this.pending.delete(message.id);
      if (message.type === 'result') pending.resolve(message.result);
      else if (message.type === 'savedResult') pending.resolve({ result: message.result });
      else pending.reject(message.cancelled ? new CancelledError(message.message) : message.stale ? new StaleMirrorError(message.message) : new Error(message.message));
    });
    worker.on('error', (error) => this.log.error(`dataset lint worker failed: ${error.message}`));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      this.mirrored.clear();
      for (const [id, pending] of this.pending) {
        pending.reject(new Error(`dataset lint worker exited (${code})`));
        this.pending.delete(id);
      }
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  dispose(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }
}

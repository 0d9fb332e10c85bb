import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import type { DatasetLintResult } from '../../core/dataset/lint';
import type { DatasetWorkerRequest, DatasetWorkerResponse, WorkerLintOptions } from '../../core/dataset/protocol';

interface Pending {
  resolve(result: DatasetLintResult): void;
  reject(error: Error): void;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export class CancelledError extends Error {}

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
    return this.request((id) => ({ type: 'lintText', id, text, options }));
  }

  /**
   * Lints an open document, sending its text in slices of lines with a yield between them, so the extension host
   * thread is never blocked by one big copy. `stale()` is asked between slices: a newer edit cancels the request.
   */
  async lintDocument(document: vscode.TextDocument, options: WorkerLintOptions, stale: () => boolean): Promise<DatasetLintResult | undefined> {
    const id = this.nextId++;
    const worker = this.ensure();
    const result = new Promise<DatasetLintResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    worker.postMessage({ type: 'textStart', id, options } satisfies DatasetWorkerRequest);
    const linesPerSlice = 20_000;
    for (let line = 0; line < document.lineCount; line += linesPerSlice) {
      if (stale()) {
        worker.postMessage({ type: 'cancel', id } satisfies DatasetWorkerRequest);
        this.pending.delete(id);
        return undefined;
      }
      const sliceStarted = performance.now();
      const text = document.getText(new vscode.Range(line, 0, line + linesPerSlice, 0));
      worker.postMessage({ type: 'textChunk', id, text } satisfies DatasetWorkerRequest);
      this.longestSliceMs = Math.max(this.longestSliceMs, performance.now() - sliceStarted);
      await new Promise((resolve) => setImmediate(resolve));
    }
    worker.postMessage({ type: 'textEnd', id } satisfies DatasetWorkerRequest);
    return result;
  }

  lintFile(filePath: string, options: WorkerLintOptions, onProgress: (bytesRead: number, totalBytes: number) => void, token: vscode.CancellationToken): Promise<DatasetLintResult> {
    return this.request((id) => ({ type: 'lintFile', id, filePath, options }), onProgress, token);
  }

  private request(make: (id: number) => DatasetWorkerRequest, onProgress?: Pending['onProgress'], token?: vscode.CancellationToken): Promise<DatasetLintResult> {
    const id = this.nextId++;
    const worker = this.ensure();
    return new Promise<DatasetLintResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      token?.onCancellationRequested(() => worker.postMessage({ type: 'cancel', id } satisfies DatasetWorkerRequest));
      worker.postMessage(make(id));
    });
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
      else pending.reject(message.cancelled ? new CancelledError(message.message) : new Error(message.message));
    });
    worker.on('error', (error) => this.log.error(`dataset lint worker failed: ${error.message}`));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
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

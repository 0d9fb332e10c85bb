import { Worker } from 'node:worker_threads';
import type * as vscode from 'vscode';
import type { ResponseFor, ServiceRequest, WorkerMessage, WorkerReply } from '../../core/script/protocol';

/** Thrown when the worker has not analysed the version a request names; analyse, then ask again. */
export class StaleVersion extends Error {}

/** Client of dist/workers/scriptLint.js: one worker thread, started on first use and restarted if it dies. */
export class LintWorkerClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  constructor(
    private readonly scriptPath: string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  request<R extends ServiceRequest>(request: R): Promise<ResponseFor[R['op']]> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, request } satisfies WorkerMessage);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.scriptPath);
    worker.on('message', (reply: WorkerReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.response);
      else waiting.reject(reply.stale ? new StaleVersion(reply.error) : new Error(reply.error));
    });
    worker.on('error', (error) => this.log.error(`script-lint worker failed: ${error.stack ?? error.message}`));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(new Error(`script-lint worker exited (${code})`));
      this.pending.clear();
    });
    // Idle workers must not keep the extension host alive on shutdown.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  dispose(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }
}

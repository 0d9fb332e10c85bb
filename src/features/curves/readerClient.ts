import { Worker } from 'node:worker_threads';
import type { CurvesWorkerRequest, CurvesWorkerResponse, RunUpdate } from '../../protocol/curvesWorker';

type Pending = { resolve(response: CurvesWorkerResponse): void; reject(error: Error): void };
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** The extension host's end of the curves reader worker (dist/workers/curvesReader.js). */
export class CurvesReaderClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disposed = false;

  constructor(scriptPath: string, onWarning: (message: string) => void, onExit: (error: Error) => void) {
    this.worker = new Worker(scriptPath);
    this.worker.on('message', (message: CurvesWorkerResponse) => {
      if (message.type === 'warning') return onWarning(message.message);
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiting) return;
      if (message.type === 'error') waiting.reject(new Error(message.message));
      else waiting.resolve(message);
    });
    const fail = (error: Error) => {
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
      if (!this.disposed) onExit(error);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the curves reader stopped (exit ${code})`)));
  }

  private request(request: WithoutId<CurvesWorkerRequest>): Promise<CurvesWorkerResponse> {
    if (this.disposed) return Promise.reject(new Error('the curves reader was closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id } as CurvesWorkerRequest);
    });
  }

  /** `extra` and `name` are taken the first time a folder is asked for (see RunReaderOptions). */
  async refresh(folder: string, reset: boolean, extra?: string[], name?: string): Promise<RunUpdate> {
    const response = await this.request({ type: 'refresh', folder, reset, extra, name });
    if (response.type !== 'update') throw new Error(`unexpected answer ${response.type}`);
    return response.update;
  }

  async remove(folder: string): Promise<void> {
    await this.request({ type: 'remove', folder });
  }

  async exportCsv(folders: string[], smoothing: number, tagFilter: string): Promise<string> {
    const response = await this.request({ type: 'exportCsv', folders, smoothing, tagFilter });
    if (response.type !== 'csv') throw new Error(`unexpected answer ${response.type}`);
    return response.csv;
  }

  dispose(): void {
    this.disposed = true;
    void this.worker.terminate();
  }
}

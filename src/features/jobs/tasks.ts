import * as vscode from 'vscode';
import { isFinal } from '../../core/jobs/job';
import type { LaunchRequest } from '../../core/jobs/job';
import type { JobRunner } from '../../core/jobs/runner';

/** `tasks.json`: `{ "type": "finetune", "script": "finetune_lora.sh", "target": "gpu-box", "gpus": [0, 1] }`. */
export interface FinetuneTaskDefinition extends vscode.TaskDefinition {
  type: 'finetune';
  script: string;
  target?: string;
  gpus?: number[];
  env?: Record<string, string>;
  args?: string[];
  /** Run the preflight first (default true). */
  preflight?: boolean;
  /** Launch even when the preflight finds errors. */
  force?: boolean;
}

/** What a task launches, with the preflight's terminal lines (absent when it was skipped). */
export interface FinetuneTaskLaunch {
  request: LaunchRequest;
  preflight?: { lines: string[]; blocked: boolean };
}

export const finetuneTaskType = 'finetune';

/**
 * Runs a finetune task as a job and shows its log in the task's terminal; the terminal closes with the job's
 * exit code, and terminating the task cancels the job.
 */
class JobTerminal implements vscode.Pseudoterminal {
  private readonly writer = new vscode.EventEmitter<string>();
  private readonly closer = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.writer.event;
  readonly onDidClose = this.closer.event;
  private jobId: string | undefined;
  private readonly controller = new AbortController();

  constructor(
    private readonly runner: JobRunner,
    private readonly request: () => Promise<FinetuneTaskLaunch | undefined>,
    private readonly force: boolean,
  ) {}

  open(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      const launch = await this.request();
      if (!launch) {
        this.closer.fire(1);
        return;
      }
      const { request, preflight } = launch;
      if (preflight) {
        for (const line of preflight.lines) this.writer.fire(`${line}\r\n`);
        if (preflight.blocked && !this.force) {
          this.writer.fire('Finetune Workbench: not launched because the preflight found errors (set "force": true in the task to launch anyway).\r\n');
          this.closer.fire(1);
          return;
        }
      }
      const job = this.runner.submit(request);
      this.jobId = job.id;
      this.writer.fire(`Finetune Workbench: job ${job.id} on ${request.target}\r\n`);
      const done = await this.runner.follow(job.id, (text) => this.writer.fire(text.replace(/\r?\n/g, '\r\n')), { signal: this.controller.signal });
      const final = isFinal(done.state) ? done : await this.runner.waitFor(done.id);
      this.writer.fire(`\r\nFinetune Workbench: job ${final.id} ${final.state}${final.exitCode !== undefined ? ` (exit ${final.exitCode})` : ''}${final.cause ? ` — ${final.cause.summary}` : final.message ? ` — ${final.message}` : ''}\r\n`);
      this.closer.fire(final.exitCode ?? (final.state === 'succeeded' ? 0 : 1));
    } catch (error) {
      this.writer.fire(`\r\nFinetune Workbench: ${(error as Error).message}\r\n`);
      this.closer.fire(1);
    }
  }

  close(): void {
    this.controller.abort();
    if (this.jobId) void this.runner.cancel(this.jobId).catch(() => undefined);
  }
}

export function registerFinetuneTasks(runner: JobRunner, toRequest: (definition: FinetuneTaskDefinition, folder: vscode.WorkspaceFolder | undefined) => Promise<FinetuneTaskLaunch | undefined>): vscode.Disposable {
  return vscode.tasks.registerTaskProvider(finetuneTaskType, {
    provideTasks: () => [],
    resolveTask(task) {
      const definition = task.definition as FinetuneTaskDefinition;
      if (!definition.script) return undefined;
      const folder = typeof task.scope === 'object' ? task.scope : undefined;
      return new vscode.Task(
        definition,
        task.scope ?? vscode.TaskScope.Workspace,
        task.name || `${definition.script} on ${definition.target ?? 'local'}`,
        finetuneTaskType,
        new vscode.CustomExecution(async () => new JobTerminal(runner, () => toRequest(definition, folder), definition.force === true)),
        ['$finetune-python-traceback'],
      );
    },
  });
}

import * as vscode from 'vscode';
import type { JobRunner } from '../../core/jobs/runner';

export const jobLogScheme = 'finetune-job-log';

export function jobLogUri(jobId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: jobLogScheme, path: `/${jobId}.log` });
}

/**
 * Renders a byte stream the way a terminal shows it: a carriage return not followed by a line feed starts the
 * line over (tqdm redraws its bar that way), so the document shows each bar once, at its latest state.
 */
export class TerminalText {
  private done: string[] = [];
  private current = '';
  private pendingCr = false;

  push(text: string): void {
    for (const ch of text) {
      if (ch === '\r') {
        this.pendingCr = true;
        continue;
      }
      if (ch === '\n') {
        this.done.push(this.current);
        this.current = '';
        this.pendingCr = false;
        continue;
      }
      if (this.pendingCr) {
        this.current = '';
        this.pendingCr = false;
      }
      this.current += ch;
    }
  }

  toString(): string {
    return this.done.length ? `${this.done.join('\n')}\n${this.current}` : this.current;
  }
}

interface LogState {
  text: TerminalText;
  controller: AbortController;
  following: Promise<unknown>;
}

/**
 * Read-only documents `finetune-job-log:/<id>.log` that keep streaming while open: the runner hands over the
 * log from its start, then live; changes are published at most every 100 ms.
 */
export class JobLogDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly logs = new Map<string, LogState>();
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly runner: JobRunner,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (doc.uri.scheme !== jobLogScheme) return;
        const id = idOf(doc.uri);
        this.logs.get(id)?.controller.abort();
        this.logs.delete(id);
      }),
    );
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const id = idOf(uri);
    let state = this.logs.get(id);
    if (!state) {
      const text = new TerminalText();
      const controller = new AbortController();
      const following = this.runner
        .follow(
          id,
          (chunk) => {
            text.push(chunk);
            this.schedule(uri);
          },
          { signal: controller.signal },
        )
        .catch((error: Error) => {
          text.push(`\n[Finetune Workbench: cannot read the log: ${error.message}]\n`);
          this.log.warn(`log of job ${id}: ${error.message}`);
          this.schedule(uri);
        });
      state = { text, controller, following };
      this.logs.set(id, state);
    }
    return state.text.toString();
  }

  private schedule(uri: vscode.Uri): void {
    this.pending.add(uri.toString());
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const key of this.pending) this.changed.fire(vscode.Uri.parse(key));
      this.pending.clear();
    }, 100);
  }

  dispose(): void {
    for (const state of this.logs.values()) state.controller.abort();
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}

function idOf(uri: vscode.Uri): string {
  return uri.path.replace(/^\//, '').replace(/\.log$/, '');
}

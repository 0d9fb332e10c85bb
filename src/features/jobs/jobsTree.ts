import * as vscode from 'vscode';
import { isFinal, type JobRecord, type JobState } from '../../core/jobs/job';
import { formatDuration, formatProgress } from '../../core/jobs/progress';
import type { JobRunner } from '../../core/jobs/runner';

const stateIcons: Record<JobState, vscode.ThemeIcon> = {
  queued: new vscode.ThemeIcon('clock'),
  running: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue')),
  succeeded: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  cancelled: new vscode.ThemeIcon('circle-slash'),
  lost: new vscode.ThemeIcon('question', new vscode.ThemeColor('testing.iconErrored')),
};

export function jobLabel(job: JobRecord): string {
  const script = job.request.argv.find((a, i) => i > 0 && /\.(sh|py)$/.test(a)) ?? job.request.argv.join(' ');
  return job.request.label ?? script;
}

/** `target · 3:12 · step 51/300, ETA 0:24 · exit 1` */
export function jobDescription(job: JobRecord, now = Date.now()): string {
  const parts = [job.request.target];
  if (job.startedAt) parts.push(formatDuration(((job.endedAt ?? now) - job.startedAt) / 1000));
  if (job.progress && !isFinal(job.state)) parts.push(formatProgress(job.progress));
  else if (job.progress?.step !== undefined) parts.push(`step ${job.progress.step}/${job.progress.total}`);
  if (job.exitCode !== undefined) parts.push(`exit ${job.exitCode}`);
  if (job.state === 'running' && job.message) parts.push(job.message);
  return parts.filter(Boolean).join(' · ');
}

export class JobsTree implements vscode.TreeDataProvider<JobRecord>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<JobRecord | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly ticker: NodeJS.Timeout;
  private readonly subscription: { dispose(): void };

  constructor(private readonly runner: JobRunner) {
    this.subscription = runner.onDidChange(() => this.changed.fire(undefined));
    // Elapsed time of running jobs.
    this.ticker = setInterval(() => {
      if (runner.registry.all().some((j) => j.state === 'running')) this.changed.fire(undefined);
    }, 5000);
  }

  getTreeItem(job: JobRecord): vscode.TreeItem {
    const item = new vscode.TreeItem(jobLabel(job), vscode.TreeItemCollapsibleState.None);
    item.id = job.id;
    item.iconPath = stateIcons[job.state];
    item.description = jobDescription(job);
    item.contextValue = isFinal(job.state) ? 'job.final' : 'job.active';
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${job.state}** on \`${job.request.target}\` — job \`${job.id}\`\n\n`);
    if (job.command) tooltip.appendCodeblock(job.command, 'shellscript');
    if (job.cause) tooltip.appendMarkdown(`\n**${job.cause.summary}**\n\n${job.cause.hint}\n\n`).appendCodeblock(job.cause.evidence, 'text');
    else if (job.message) tooltip.appendText(`\n${job.message}`);
    if (job.jobDir) tooltip.appendMarkdown(`\nJob folder: \`${job.jobDir}\``);
    item.tooltip = tooltip;
    item.command = { command: 'finetuneWorkbench.openJobLog', title: 'Open Job Log', arguments: [job] };
    return item;
  }

  getChildren(element?: JobRecord): JobRecord[] {
    if (element) return [];
    return this.runner.registry.all().reverse();
  }

  dispose(): void {
    clearInterval(this.ticker);
    this.subscription.dispose();
    this.changed.dispose();
  }
}

import path from 'node:path';
import * as vscode from 'vscode';
import { runFoldersFromMarkers } from '../../core/metrics/discover';
import type { FeatureContext } from '../shared/context';
import type { RunSpec } from './panel';

/** One run folder in the Runs view; `spec` for runs that read more than the folder (a job's log). */
export class RunItem extends vscode.TreeItem {
  constructor(
    readonly folder: vscode.Uri,
    description: string,
    readonly spec?: RunSpec & { jobId: string },
  ) {
    super(spec?.name ?? path.basename(folder.fsPath), vscode.TreeItemCollapsibleState.None);
    this.description = description;
    this.tooltip = new vscode.MarkdownString(`**${path.basename(folder.fsPath)}**\n\n${folder.fsPath}\n\nClick to open its training curves; tick several runs to compare them.`);
    this.resourceUri = folder;
    this.iconPath = new vscode.ThemeIcon('graph-line');
    this.contextValue = 'finetuneWorkbench.run';
    this.checkboxState = vscode.TreeItemCheckboxState.Unchecked;
    this.command = { command: 'finetuneWorkbench.openCurves', title: 'Open Training Curves', arguments: [spec ? this : folder] };
    this.id = spec ? `job:${spec.jobId}` : folder.toString();
    if (spec) this.iconPath = new vscode.ThemeIcon('pulse');
  }

  /** What the Curves panel is given for this run. */
  get runSpec(): RunSpec | string {
    return this.spec ?? this.folder.fsPath;
  }
}

/**
 * Runs found in the workspace: folders holding a file that matches `finetuneWorkbench.curves.runGlobs`
 * (trainer_state.json, event files, trainer_log.jsonl), grouped so that `runs/<x>/` and `checkpoint-N/` count
 * as their output folder.
 */
export class RunsTreeProvider implements vscode.TreeDataProvider<RunItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private items: RunItem[] | undefined;
  private readonly checked = new Map<string, RunSpec | string>();
  /** Runs of launched jobs (set by the job curves feature); listed first, and they replace a workspace run of the same folder. */
  private jobRuns: () => RunItem[] = () => [];

  constructor(private readonly context: FeatureContext) {}

  setJobRuns(provider: () => RunItem[]): vscode.Disposable {
    this.jobRuns = provider;
    this.changed.fire();
    return { dispose: () => (this.jobRuns = () => []) };
  }

  /** The jobs changed: list them again without searching the workspace again. */
  jobsChanged(): void {
    this.changed.fire();
  }

  private compose(workspace: RunItem[]): RunItem[] {
    const jobs = this.jobRuns();
    const jobFolders = new Set(jobs.map((item) => item.folder.fsPath));
    return [...jobs, ...workspace.filter((item) => !jobFolders.has(item.folder.fsPath))];
  }

  getTreeItem(element: RunItem): vscode.TreeItem {
    element.checkboxState = this.checked.has(String(element.id)) ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked;
    return element;
  }

  async getChildren(element?: RunItem): Promise<RunItem[]> {
    if (element) return [];
    this.items ??= await this.findRuns();
    return this.compose(this.items);
  }

  /** Forgets the cached list; the view asks again. Returns the run folders found. */
  async refresh(): Promise<string[]> {
    this.items = undefined;
    this.changed.fire();
    this.items = await this.findRuns();
    return this.compose(this.items).map((item) => item.folder.fsPath);
  }

  async runs(): Promise<RunItem[]> {
    this.items ??= await this.findRuns();
    return this.compose(this.items);
  }

  setChecked(items: readonly [RunItem, vscode.TreeItemCheckboxState][]): void {
    for (const [item, state] of items) {
      if (state === vscode.TreeItemCheckboxState.Checked) this.checked.set(String(item.id), item.runSpec);
      else this.checked.delete(String(item.id));
    }
  }

  get checkedRuns(): (RunSpec | string)[] {
    return [...this.checked.values()];
  }

  private async findRuns(): Promise<RunItem[]> {
    const markers: string[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const globs = this.context.settings.get('curves.runGlobs', folder.uri);
      for (const glob of globs) {
        try {
          const found = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, glob), '**/{node_modules,.git}/**', 5000);
          markers.push(...found.map((uri) => uri.fsPath));
        } catch (error) {
          this.context.log.warn(`curves.runGlobs: '${glob}' is not a usable glob (${(error as Error).message})`);
        }
      }
    }
    return runFoldersFromMarkers(markers).map((folder) => {
      const uri = vscode.Uri.file(folder);
      const workspace = vscode.workspace.getWorkspaceFolder(uri);
      const parent = workspace ? path.relative(workspace.uri.fsPath, path.dirname(folder)) : path.dirname(folder);
      return new RunItem(uri, parent === '' ? (workspace?.name ?? '') : parent);
    });
  }

  dispose(): void {
    this.changed.dispose();
  }
}

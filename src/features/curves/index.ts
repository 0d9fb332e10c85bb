import path from 'node:path';
import * as vscode from 'vscode';
import { runFoldersFromMarkers } from '../../core/metrics/discover';
import { classifyFile } from '../../core/metrics/run';
import { curvesViewType, type CurvesState } from '../../protocol/curves';
import type { FeatureContext } from '../shared/context';
import { CurvesPanel, type RunSpec } from './panel';
import { RunItem, RunsTreeProvider } from './runsView';

export { CurvesPanel } from './panel';

let runsProvider: RunsTreeProvider | undefined;
/** The Runs view's provider, for the job curves feature (undefined before activation). */
export const curvesRunsView = () => runsProvider;

/** What `finetuneWorkbench.openCurves` returns (the launcher and the tests use it). */
export interface OpenCurvesResult {
  opened: boolean;
  runs: string[];
  /** Points read so far over every run and tag of the panel. */
  points: number;
}

/** A folder, or the run folder of a metrics file (events under runs/<x>/ belong to the output folder). */
async function runFolderOf(uri: vscode.Uri): Promise<string> {
  const stat = await vscode.workspace.fs.stat(uri).then(
    (s) => s,
    () => undefined,
  );
  if (stat && stat.type & vscode.FileType.Directory) return uri.fsPath;
  if (classifyFile(uri.fsPath)) return runFoldersFromMarkers([uri.fsPath])[0] ?? path.dirname(uri.fsPath);
  return uri.fsPath;
}

/**
 * Training curves: the Runs view, the Curves panel and its serializer, and the command that opens curves for
 * folders. `finetuneWorkbench.openCurves` accepts a folder Uri, a Uri array (explorer multi-select), a Runs view
 * item, or nothing (the runs ticked in the Runs view, else a pick).
 */
export function registerCurves(context: FeatureContext): vscode.Disposable {
  const runs = new RunsTreeProvider(context);
  const view = vscode.window.createTreeView('finetuneWorkbench.runs', { treeDataProvider: runs, canSelectMany: true, showCollapseAll: false });
  const disposables: vscode.Disposable[] = [runs, view, { dispose: () => (runsProvider = undefined) }];
  runsProvider = runs;
  disposables.push(view.onDidChangeCheckboxState((event) => runs.setChecked(event.items)));

  async function foldersFromArgs(arg?: unknown, all?: unknown): Promise<(string | RunSpec)[] | undefined> {
    const list = Array.isArray(all) && all.length ? all : Array.isArray(arg) ? arg : arg === undefined ? [] : [arg];
    const folders: (string | RunSpec)[] = [];
    for (const item of list) {
      if (item instanceof vscode.Uri) folders.push(await runFolderOf(item));
      else if (item instanceof RunItem) folders.push(item.runSpec);
      else if (typeof item === 'string') folders.push(await runFolderOf(vscode.Uri.file(item)));
    }
    if (folders.length) return folders;
    if (runs.checkedRuns.length) return runs.checkedRuns;
    if (view.selection.length) return view.selection.map((item) => item.runSpec);
    const found = await runs.runs();
    if (found.length === 1) return [found[0].runSpec];
    if (found.length > 1) {
      const picked = await vscode.window.showQuickPick(
        found.map((item) => ({ label: String(item.label), description: String(item.description ?? ''), spec: item.runSpec })),
        { canPickMany: true, title: 'Runs to plot', placeHolder: 'Pick one or more runs to compare' },
      );
      return picked?.map((p) => p.spec);
    }
    const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: true, canSelectMany: true, openLabel: 'Plot', title: 'Run folder or metrics file' });
    return chosen?.length ? Promise.all(chosen.map(runFolderOf)) : undefined;
  }

  disposables.push(
    vscode.commands.registerCommand('finetuneWorkbench.openCurves', async (arg?: unknown, all?: unknown): Promise<OpenCurvesResult> => {
      const folders = await foldersFromArgs(arg, all);
      if (!folders?.length) return { opened: false, runs: CurvesPanel.instance?.folders ?? [], points: CurvesPanel.instance?.pointCount() ?? 0 };
      const panel = await CurvesPanel.show(context, folders);
      context.log.info(`Training curves: ${folders.map((f) => (typeof f === 'string' ? f : f.folder)).join(', ')}`);
      return { opened: true, runs: panel.folders, points: panel.pointCount() };
    }),
    vscode.commands.registerCommand('finetuneWorkbench.refreshRuns', () => runs.refresh()),
    // Not contributed: what the open panel has read so far, without reading (tests watch it grow on its own).
    vscode.commands.registerCommand('finetuneWorkbench.curves.shownPoints', (): Record<string, number> => CurvesPanel.instance?.pointsByRun() ?? {}),
    vscode.window.registerWebviewPanelSerializer(curvesViewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: CurvesState | undefined) {
        CurvesPanel.revive(context, panel, state?.runs ?? []);
      },
    }),
    context.settings.onDidChange(['curves.runGlobs'], () => void runs.refresh()),
  );

  // New runs appear while jobs write their first checkpoint or event file.
  const watcher = vscode.workspace.createFileSystemWatcher('**/{trainer_state.json,events.out.tfevents.*,trainer_log.jsonl}', false, true, false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void runs.refresh(), 1000);
  };
  disposables.push(watcher, watcher.onDidCreate(later), watcher.onDidDelete(later), { dispose: () => clearTimeout(timer) });
  disposables.push({ dispose: () => CurvesPanel.instance?.dispose() });
  return vscode.Disposable.from(...disposables);
}

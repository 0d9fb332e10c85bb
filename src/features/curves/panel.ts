import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as vscode from 'vscode';
import { curvesViewType, type FromWebviewMessage, type RunPayload, type ToWebviewMessage } from '../../protocol/curves';
import type { RunUpdate } from '../../protocol/curvesWorker';
import type { FeatureContext } from '../shared/context';
import { CurvesReaderClient } from './readerClient';

/** How often a visible panel checks its runs' files when no file event came (event files are flushed in bursts). */
const pollMs = 2000;
/** File events arrive in bursts while a trainer writes; one read per burst. */
const debounceMs = 150;

/** A run to show: a folder, plus files outside it that belong to it (a job's log) and a display name. */
export interface RunSpec {
  folder: string;
  extra?: string[];
  name?: string;
}

interface TrackedRun {
  folder: string;
  extra?: string[];
  name?: string;
  watcher?: vscode.FileSystemWatcher;
  live: boolean;
  /** Points of every tag read so far. */
  points: number;
  /** The webview lost its data (reload): the next read sends every point. */
  reset: boolean;
  busy?: Promise<void>;
  again: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

function nonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The Training Curves panel: one webview showing any number of runs. A worker thread reads each run folder with the
 * incremental readers of src/core/metrics; the panel forwards the points appended since the last message.
 */
export class CurvesPanel implements vscode.Disposable {
  private static current: CurvesPanel | undefined;
  private readonly runs = new Map<string, TrackedRun>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly poll: ReturnType<typeof setInterval>;
  private disposed = false;
  private readonly reader: CurvesReaderClient;

  /** Opens (or reveals) the panel and adds the run folders to it. */
  static async show(context: FeatureContext, folders: (string | RunSpec)[]): Promise<CurvesPanel> {
    if (!CurvesPanel.current) {
      const panel = vscode.window.createWebviewPanel(curvesViewType, 'Training Curves', vscode.ViewColumn.Active, CurvesPanel.options(context));
      CurvesPanel.current = new CurvesPanel(context, panel);
    } else CurvesPanel.current.panel.reveal(undefined, false);
    const current = CurvesPanel.current;
    // Asking again for a run that is shown reads what its files gained since.
    for (const folder of folders) await current.addRun(folder);
    return current;
  }

  /** Restores a panel VS Code kept across a reload (WebviewPanelSerializer). */
  /** Recovers the full spec of a run restored after a reload by folder (jobs register theirs: log and name). */
  static specResolvers: ((folder: string) => RunSpec | undefined)[] = [];

  static revive(context: FeatureContext, panel: vscode.WebviewPanel, folders: string[]): CurvesPanel {
    panel.webview.options = CurvesPanel.options(context);
    CurvesPanel.current?.dispose();
    CurvesPanel.current = new CurvesPanel(context, panel);
    for (const folder of folders) void CurvesPanel.current.addRun(CurvesPanel.specResolvers.map((resolve) => resolve(folder)).find(Boolean) ?? folder);
    return CurvesPanel.current;
  }

  static get instance(): CurvesPanel | undefined {
    return CurvesPanel.current;
  }

  private static options(context: FeatureContext): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    const root = context.extension.extensionUri;
    return {
      enableScripts: true,
      enableForms: false,
      localResourceRoots: [vscode.Uri.joinPath(root, 'dist', 'webview'), vscode.Uri.joinPath(root, 'media')],
    };
  }

  private constructor(
    private readonly context: FeatureContext,
    readonly panel: vscode.WebviewPanel,
  ) {
    panel.iconPath = vscode.Uri.joinPath(context.extension.extensionUri, 'media', 'activity-bar.svg');
    this.reader = new CurvesReaderClient(
      vscode.Uri.joinPath(context.extension.extensionUri, 'dist', 'workers', 'curvesReader.js').fsPath,
      (message) => context.log.warn(message),
      (error) => {
        context.log.error(`Training curves: ${error.message}`);
        this.post({ type: 'error', message: `Reading stopped: ${error.message}. Close and reopen the panel.` });
      },
    );
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: FromWebviewMessage) => this.onMessage(message)),
    );
    this.poll = setInterval(() => {
      if (!this.panel.visible) return;
      for (const run of this.runs.values()) this.scheduleRefresh(run, 0);
    }, pollMs);
  }

  /** Run folders shown, in the order they were added. */
  get folders(): string[] {
    return [...this.runs.keys()];
  }

  /** Points of every run and tag read so far. */
  pointCount(): number {
    let count = 0;
    for (const run of this.runs.values()) count += run.points;
    return count;
  }

  /** Points read so far per run folder. */
  pointsByRun(): Record<string, number> {
    return Object.fromEntries([...this.runs.values()].map((run) => [run.folder, run.points]));
  }

  async addRun(spec: string | RunSpec): Promise<void> {
    const { folder, extra, name } = typeof spec === 'string' ? { folder: spec } : spec;
    const resolved = path.resolve(folder);
    if (this.disposed) return;
    const existing = this.runs.get(resolved);
    if (existing) return this.refresh(existing);
    const run: TrackedRun = { folder: resolved, extra: extra?.map((e) => path.resolve(e)), name, live: false, points: 0, reset: true, again: false };
    this.runs.set(resolved, run);
    try {
      run.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(resolved), '**/*'));
      const onEvent = () => {
        run.live = true;
        this.scheduleRefresh(run, debounceMs);
      };
      run.watcher.onDidChange(onEvent);
      run.watcher.onDidCreate(onEvent);
    } catch (error) {
      this.context.log.warn(`Cannot watch ${resolved} (${(error as Error).message}); it is polled every ${pollMs / 1000} s instead.`);
    }
    await this.refresh(run);
  }

  removeRun(folder: string): void {
    const run = this.runs.get(folder);
    if (!run) return;
    run.watcher?.dispose();
    clearTimeout(run.timer);
    this.runs.delete(folder);
    void this.reader.remove(folder).catch(() => undefined);
    this.post({ type: 'runRemoved', id: folder });
  }

  /** A run's files grew (a followed job printed): read them soon, and show the run as live. */
  noteGrowth(folder: string): void {
    const run = this.runs.get(path.resolve(folder));
    if (!run) return;
    run.live = true;
    this.scheduleRefresh(run, debounceMs);
  }

  /** Reads what was appended to a run's files now (tests and the append benchmark call this). */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.runs.values()].map((run) => this.refresh(run)));
  }

  private scheduleRefresh(run: TrackedRun, delay: number): void {
    if (run.timer) return;
    run.timer = setTimeout(() => {
      run.timer = undefined;
      void this.refresh(run);
    }, delay);
  }

  /** One read at a time per run; a request during a read runs once more after it. */
  private async refresh(run: TrackedRun): Promise<void> {
    if (run.busy) {
      run.again = true;
      return run.busy;
    }
    run.busy = (async () => {
      do {
        run.again = false;
        const seenAt = Date.now();
        const reset = run.reset;
        run.reset = false;
        let update: RunUpdate;
        try {
          update = await this.reader.refresh(run.folder, reset, run.extra, run.name);
        } catch (error) {
          run.reset = true;
          this.context.log.error(`Reading ${run.folder} failed: ${(error as Error).message}`);
          this.post({ type: 'error', message: `Cannot read ${run.folder}: ${(error as Error).message}` });
          return;
        }
        if (!this.runs.has(run.folder)) return;
        run.points = update.points;
        // Points appended after the first read mean the files grew, whether a watcher event or the poll found them.
        if (!update.full && update.chunks.length) run.live = true;
        if (update.full || update.chunks.length) this.send(run, update, seenAt);
      } while (run.again && !this.disposed);
    })();
    try {
      await run.busy;
    } finally {
      run.busy = undefined;
    }
  }

  private payload(run: TrackedRun, update: RunUpdate): RunPayload {
    const workspace = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(run.folder));
    return {
      id: run.folder,
      name: update.name,
      description: workspace ? path.relative(workspace.uri.fsPath, run.folder) || '.' : run.folder,
      resumes: update.resumes,
      summary: update.summary,
      warnings: update.warnings,
      live: run.live,
    };
  }

  private send(run: TrackedRun, update: RunUpdate, seenAt: number): void {
    const payload = this.payload(run, update);
    if (update.full) this.post({ type: 'runData', run: payload, series: update.chunks, seenAt });
    else this.post({ type: 'runAppend', run: payload, series: update.chunks, seenAt });
  }

  private post(message: ToWebviewMessage): void {
    if (!this.disposed) void this.panel.webview.postMessage(message);
  }

  private async onMessage(message: FromWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready': {
        // A (re)loaded webview has nothing: send every run from the start.
        this.post({ type: 'settings', defaultSmoothing: this.context.settings.get('curves.smoothing') });
        for (const run of this.runs.values()) {
          run.reset = true;
          void this.refresh(run);
        }
        break;
      }
      case 'removeRun':
        this.removeRun(message.id);
        break;
      case 'exportCsv':
        await this.exportCsv(message.smoothing, message.tagFilter);
        break;
      case 'exportPng':
        await this.exportPng(message.dataUrl);
        break;
      case 'drawn':
        if (message.seenAt) this.context.log.debug(`curves: ${message.points} point(s) drawn ${Date.now() - message.seenAt} ms after they were read`);
        break;
    }
  }

  private defaultExportUri(extension: string): vscode.Uri {
    const first = this.folders[0];
    const base = first ? path.join(first, `curves.${extension}`) : `curves.${extension}`;
    return vscode.Uri.file(base);
  }

  private async exportCsv(smoothing: number, tagFilter: string): Promise<void> {
    const csv = await this.reader.exportCsv(this.folders, smoothing, tagFilter);
    const target = await vscode.window.showSaveDialog({ defaultUri: this.defaultExportUri('csv'), filters: { CSV: ['csv'] }, title: 'Export training curves as CSV' });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, Buffer.from(csv, 'utf8'));
    void vscode.window.showInformationMessage(`Saved the curves of ${this.runs.size} run(s) to ${target.fsPath}.`);
  }

  private async exportPng(dataUrl: string): Promise<void> {
    const match = /^data:image\/png;base64,(.+)$/.exec(dataUrl);
    if (!match) return;
    const target = await vscode.window.showSaveDialog({ defaultUri: this.defaultExportUri('png'), filters: { PNG: ['png'] }, title: 'Export training curves as PNG' });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, Buffer.from(match[1], 'base64'));
    void vscode.window.showInformationMessage(`Saved the chart image to ${target.fsPath}.`);
  }

  private html(): string {
    const webview = this.panel.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.context.extension.extensionUri, 'dist', 'webview', 'curves.js'));
    const n = nonce();
    const smoothing = this.context.settings.get('curves.smoothing');
    // Styles come from constructable stylesheets (ours and the elements'), so style-src needs no 'unsafe-inline'.
    const csp = [`default-src 'none'`, `img-src ${webview.cspSource} data:`, `style-src ${webview.cspSource}`, `font-src ${webview.cspSource}`, `script-src 'nonce-${n}'`].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Training Curves</title>
</head>
<body data-default-smoothing="${Number(smoothing)}">
<script nonce="${n}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.poll);
    for (const run of this.runs.values()) {
      run.watcher?.dispose();
      clearTimeout(run.timer);
    }
    this.runs.clear();
    this.reader.dispose();
    if (CurvesPanel.current === this) CurvesPanel.current = undefined;
    this.panel.dispose();
    vscode.Disposable.from(...this.disposables).dispose();
  }
}

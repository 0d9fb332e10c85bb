import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as vscode from 'vscode';
import { exportedSeries, toCsv } from '../../core/metrics/export';
import { RunReader, type RunSnapshot } from '../../core/metrics/run';
import { curvesViewType, type FromWebviewMessage, type RunPayload, type SeriesChunk, type ToWebviewMessage } from '../../protocol/curves';
import type { FeatureContext } from '../shared/context';

/** How often a visible panel checks its runs' files when no file event came (event files are flushed in bursts). */
const pollMs = 2000;
/** File events arrive in bursts while a trainer writes; one read per burst. */
const debounceMs = 150;

interface TrackedRun {
  folder: string;
  reader: RunReader;
  watcher?: vscode.FileSystemWatcher;
  /** Points of each tag the webview has, and the resume count it saw (a new resume resends the tag). */
  sent: Map<string, { length: number; resumes: number; lastValue: number }>;
  live: boolean;
  busy?: Promise<void>;
  again: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

function nonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The Training Curves panel: one webview showing any number of runs. It reads each run folder with the incremental
 * readers of src/core/metrics and sends the webview only the points appended since the last message.
 */
export class CurvesPanel implements vscode.Disposable {
  private static current: CurvesPanel | undefined;
  private readonly runs = new Map<string, TrackedRun>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly poll: ReturnType<typeof setInterval>;
  private disposed = false;
  private ready = false;

  /** Opens (or reveals) the panel and adds the run folders to it. */
  static async show(context: FeatureContext, folders: string[]): Promise<CurvesPanel> {
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
  static revive(context: FeatureContext, panel: vscode.WebviewPanel, folders: string[]): CurvesPanel {
    panel.webview.options = CurvesPanel.options(context);
    CurvesPanel.current?.dispose();
    CurvesPanel.current = new CurvesPanel(context, panel);
    for (const folder of folders) void CurvesPanel.current.addRun(folder);
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

  /** Latest snapshot of every run (for export and tests). */
  snapshots(): RunSnapshot[] {
    return [...this.runs.values()].map((run) => run.reader.snapshot());
  }

  /** Points of every run and tag read so far. */
  pointCount(): number {
    let count = 0;
    for (const snapshot of this.snapshots()) for (const series of snapshot.series) count += series.steps.length;
    return count;
  }

  async addRun(folder: string): Promise<void> {
    const resolved = path.resolve(folder);
    if (this.disposed) return;
    const existing = this.runs.get(resolved);
    if (existing) return this.refresh(existing);
    const run: TrackedRun = {
      folder: resolved,
      reader: new RunReader(resolved, { onWarning: (w) => this.context.log.warn(`${w.file}: ${w.message}`) }),
      sent: new Map(),
      live: false,
      again: false,
    };
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
    this.post({ type: 'runRemoved', id: folder });
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
        let changed: boolean;
        try {
          changed = await run.reader.refresh();
        } catch (error) {
          this.context.log.error(`Reading ${run.folder} failed: ${(error as Error).message}`);
          this.post({ type: 'error', message: `Cannot read ${run.folder}: ${(error as Error).message}` });
          return;
        }
        if (!this.runs.has(run.folder)) return;
        if (changed || run.sent.size === 0) this.send(run, seenAt);
      } while (run.again && !this.disposed);
    })();
    try {
      await run.busy;
    } finally {
      run.busy = undefined;
    }
  }

  private payload(run: TrackedRun, snapshot: RunSnapshot): RunPayload {
    const workspace = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(run.folder));
    return {
      id: run.folder,
      name: snapshot.name,
      description: workspace ? path.relative(workspace.uri.fsPath, run.folder) || '.' : run.folder,
      resumes: snapshot.resumes.map((r) => r.step),
      summary: snapshot.metadata.summary,
      warnings: snapshot.warnings.map((w) => `${path.basename(w.file)}: ${w.message}`),
      live: run.live,
    };
  }

  /** Sends what the webview lacks: every point when it has nothing, else the appended tail of each tag. */
  private send(run: TrackedRun, seenAt: number): void {
    if (!this.ready) return;
    const snapshot = run.reader.snapshot();
    const full = run.sent.size === 0;
    const chunks: SeriesChunk[] = [];
    for (const series of snapshot.series) {
      const sent = run.sent.get(series.tag);
      const resumes = snapshot.resumes.length;
      const length = series.steps.length;
      const lastValue = series.values[length - 1];
      const unchanged = sent && sent.length === length && sent.resumes === resumes && Object.is(sent.lastValue, lastValue);
      if (unchanged && !full) continue;
      // The last point may have been replaced (same step logged again), so it is always resent.
      const start = full || !sent || sent.resumes !== resumes || length < sent.length ? 0 : Math.max(0, sent.length - 1);
      chunks.push({
        tag: series.tag,
        start,
        steps: series.steps.slice(start),
        values: series.values.slice(start),
        wallTimes: series.wallTimes.slice(start),
      });
      run.sent.set(series.tag, { length, resumes, lastValue });
    }
    const payload = this.payload(run, snapshot);
    if (full) this.post({ type: 'runData', run: payload, series: chunks, seenAt });
    else this.post({ type: 'runAppend', run: payload, series: chunks, seenAt });
  }

  private post(message: ToWebviewMessage): void {
    if (!this.disposed) void this.panel.webview.postMessage(message);
  }

  private async onMessage(message: FromWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready': {
        // A (re)loaded webview has nothing: send every run from the start.
        this.ready = true;
        this.post({ type: 'settings', defaultSmoothing: this.context.settings.get('curves.smoothing') });
        for (const run of this.runs.values()) {
          run.sent.clear();
          this.send(run, Date.now());
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
    let tagPattern: RegExp | undefined;
    try {
      tagPattern = tagFilter ? new RegExp(tagFilter) : undefined;
    } catch {
      tagPattern = undefined;
    }
    const csv = toCsv(exportedSeries(this.snapshots(), { smoothing, tagPattern }));
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
    if (CurvesPanel.current === this) CurvesPanel.current = undefined;
    this.panel.dispose();
    vscode.Disposable.from(...this.disposables).dispose();
  }
}

import path from 'node:path';
import * as vscode from 'vscode';
import { compatibleFixes, convertToArray, convertToJsonl } from '../../core/dataset/fixes';
import { datasetFormats, formatLabels, isDatasetFormat, type DatasetFormat } from '../../core/dataset/formats';
import { sampleAt, type DatasetFinding, type DatasetLintResult, type TextEdit } from '../../core/dataset/lint';
import { datasetLinter } from '../../core/dataset/linter';
import type { WorkerLintOptions } from '../../core/dataset/protocol';
import type { Severity } from '../../core/lint/findings';
import type { FeatureContext } from '../shared/context';
import { CancelledError, DatasetLintWorker } from './worker';

const diagnosticSource = 'Finetune Workbench';
const debounceMs = 300;

const severities: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
  hint: vscode.DiagnosticSeverity.Hint,
};

function toRange(range: DatasetFinding['range']): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

function toDiagnostic(finding: DatasetFinding): vscode.Diagnostic {
  const diagnostic = new vscode.Diagnostic(toRange(finding.range), finding.message, severities[finding.severity]);
  diagnostic.source = diagnosticSource;
  diagnostic.code = finding.rule;
  return diagnostic;
}

/** `**` spans folders, `*` and `?` stay inside one; a pattern without "/" matches the base name anywhere. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(glob.includes('/') ? `^${out}$` : `(?:^|/)${out}$`);
}

interface LintState {
  version: number | undefined;
  result: DatasetLintResult;
  /** The sample ids, split on the first hover. */
  ids?: string[];
  /** Linted from disk when its tab opened, before VS Code synced the document (cleared when the tab closes). */
  fromTab?: boolean;
}

/**
 * VS Code settings whose features re-read a whole document on every keystroke: the built-in merge-conflict
 * extension (`getText()` for its CodeLens and decorations) and link detection (every line). At 30 MB each blocks the
 * extension host for hundreds of ms per keystroke (CPU profile of the host, test/integration/suite/dataset.test.ts).
 */
const wholeFilePasses: { section: string; key: string; languages?: string[] }[] = [
  { section: 'merge-conflict', key: 'codeLens.enabled' },
  { section: 'merge-conflict', key: 'decorators.enabled' },
  { section: 'editor', key: 'links', languages: ['json', 'jsonl'] },
];
/** Datasets from this size (MB) get the suggestion to turn those passes off. */
const largeDatasetMB = 10;
const dontAskKey = 'finetuneWorkbench.dataset.dontSuggestQuietEditor';

export function registerDatasetLint({ extension, log, settings }: FeatureContext): vscode.Disposable {
  const disposables: vscode.Disposable[] = [];
  const worker = new DatasetLintWorker(extension.extensionPath, log);
  const diagnostics = vscode.languages.createDiagnosticCollection('finetuneWorkbench.dataset');
  const states = new Map<string, LintState>();
  const timers = new Map<string, NodeJS.Timeout>();
  /** Latest request per document: results of older ones are dropped. */
  const latest = new Map<string, number>();
  let requestCounter = 0;
  const status = vscode.window.createStatusBarItem('finetuneWorkbench.dataset', vscode.StatusBarAlignment.Left, 50);
  status.name = 'Finetune Workbench: dataset';
  status.command = 'workbench.actions.view.problems';
  disposables.push(worker, diagnostics, status);
  // We were activated by a fine-tuning workspace or a JSON file: a dataset is likely to be opened next, and its first
  // lint should not also pay for starting the worker. A second after activation, to stay out of the startup rush.
  const warmUpTimer = setTimeout(() => worker.warmUp(), 1000);
  warmUpTimer.unref();
  disposables.push({ dispose: () => clearTimeout(warmUpTimer) });

  function formatFor(uri: vscode.Uri): DatasetFormat | undefined {
    const overrides = settings.get('dataset.formatOverrides', uri);
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const relative = (folder ? path.relative(folder.uri.fsPath, uri.fsPath) : uri.fsPath).split(path.sep).join('/');
    for (const [glob, format] of Object.entries(overrides)) {
      if (format !== 'auto' && isDatasetFormat(format) && globToRegExp(glob).test(relative)) return format;
    }
    return undefined;
  }

  /** Lint options per file, read once: reading settings costs milliseconds per lint on the host thread. */
  const optionsCache = new Map<string, { options: WorkerLintOptions; maxBytes: number }>();
  function fileSettings(uri: vscode.Uri): { options: WorkerLintOptions; maxBytes: number } {
    const key = uri.toString();
    let cached = optionsCache.get(key);
    if (!cached) optionsCache.set(key, (cached = { options: readOptions(uri), maxBytes: settings.get('dataset.lintInEditorMaxMB', uri) * 1024 * 1024 }));
    return cached;
  }
  const optionsFor = (uri: vscode.Uri) => fileSettings(uri).options;

  function readOptions(uri: vscode.Uri): WorkerLintOptions {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const imageBaseDir = settings.get('dataset.imageBaseDir', uri);
    const baseDir = imageBaseDir ? path.resolve(folder?.uri.fsPath ?? path.dirname(uri.fsPath), imageBaseDir) : undefined;
    return {
      format: formatFor(uri),
      baseDir,
      filePath: uri.scheme === 'file' ? uri.fsPath : undefined,
      modelMaxLength: settings.get('dataset.modelMaxLength', uri),
      model: settings.get('dataset.model', uri) || undefined,
      checkMediaFiles: uri.scheme === 'file',
    };
  }

  function isDataset(document: vscode.TextDocument): boolean {
    if (!['json', 'jsonc', 'jsonl', 'plaintext'].includes(document.languageId) && !/\.jsonl?$/i.test(document.uri.path)) return false;
    if (document.uri.scheme !== 'file' && document.uri.scheme !== 'untitled') return false;
    const name = document.uri.scheme === 'file' ? document.uri.fsPath : `${document.uri.path}.${document.languageId === 'jsonl' ? 'jsonl' : 'json'}`;
    return datasetLinter.matches(name, document.getText(new vscode.Range(0, 0, 200, 0)).slice(0, 8192));
  }

  /**
   * Document lengths in characters, kept in step with change events: offsetAt of the end re-sums every line's
   * length after each edit (tens of ms per keystroke at 30 MB, measured by profiling the host while typing).
   */
  const lengths = new Map<string, number>();
  function lengthOf(document: vscode.TextDocument): number {
    const key = document.uri.toString();
    let length = lengths.get(key);
    if (length === undefined) {
      length = document.offsetAt(new vscode.Position(document.lineCount, 0));
      lengths.set(key, length);
    }
    return length;
  }

  function tooLarge(document: vscode.TextDocument): boolean {
    // Characters approximate bytes closely enough for a threshold.
    return lengthOf(document) > fileSettings(document.uri).maxBytes;
  }

  const passesOn = () =>
    wholeFilePasses.some(({ section, key, languages }) =>
      (languages ?? [undefined]).some((languageId) => vscode.workspace.getConfiguration(section, languageId ? { languageId } : undefined).get<boolean>(key) !== false),
    );

  /** Turns the whole-file passes off in this workspace (language-scoped for links); returns what it changed. */
  async function quietEditor(): Promise<string[]> {
    const changed: string[] = [];
    for (const { section, key, languages } of wholeFilePasses) {
      for (const languageId of languages ?? [undefined]) {
        const config = vscode.workspace.getConfiguration(section, languageId ? { languageId } : undefined);
        if (config.get<boolean>(key) === false) continue;
        await config.update(key, false, vscode.ConfigurationTarget.Workspace, languageId !== undefined);
        changed.push(languageId ? `[${languageId}] ${section}.${key}` : `${section}.${key}`);
      }
    }
    log.info(changed.length ? `Turned off for this workspace: ${changed.join(', ')}` : 'VS Code whole-file passes were already off');
    return changed;
  }

  let suggested = false;
  /** Once per window, for a large dataset, while the passes are on and the user has not said "Don't Ask Again". */
  function suggestQuietEditor(document: vscode.TextDocument): void {
    if (suggested || extension.globalState.get<boolean>(dontAskKey) || !vscode.workspace.workspaceFolders?.length) return;
    const mb = lengthOf(document) / (1024 * 1024);
    if (mb < largeDatasetMB || !passesOn()) return;
    suggested = true;
    const turnOff = 'Turn Off in This Workspace';
    const never = "Don't Ask Again";
    void vscode.window
      .showInformationMessage(
        `${path.basename(document.uri.fsPath)} is ${Math.round(mb)} MB. VS Code's merge-conflict and link detection re-read the whole file on every keystroke, which makes typing in it lag. Turn them off for this workspace?`,
        turnOff,
        never,
      )
      .then(async (choice) => {
        if (choice === turnOff) await quietEditor();
        else if (choice === never) await extension.globalState.update(dontAskKey, true);
      });
  }

  const openDocument = (key: string) => vscode.workspace.textDocuments.find((d) => d.uri.toString() === key);
  const isOpenDocument = (key: string) => openDocument(key) !== undefined;
  const hasTab = (key: string) => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === key));

  /**
   * A tab opens seconds before VS Code has loaded a large file and synced it to extensions (30 MB: 6–9 s in
   * code-server on the 2-core development machine), so the
   * saved file is linted from disk as the tab opens; the document's own lint then reuses the worker's copy.
   */
  async function lintOnTabOpen(uri: vscode.Uri): Promise<void> {
    const key = uri.toString();
    if (uri.scheme !== 'file' || !/\.jsonl?$/i.test(uri.fsPath) || isOpenDocument(key) || states.has(key)) return;
    const { options, maxBytes } = fileSettings(uri);
    const started = performance.now();
    try {
      const { result } = await worker.lintSaved(uri.fsPath, maxBytes, { ...options, collectSamples: true });
      if (!result || states.get(key)?.version !== undefined) return; // not a dataset, or the document's lint is done
      // Findings describe the saved file as UTF-8: once VS Code has the document (in whatever encoding, maybe edited),
      // its own lint is the one to show; and a closed tab wants none.
      if (isOpenDocument(key) || !hasTab(key)) return;
      states.set(key, { version: undefined, result, fromTab: true });
      diagnostics.set(uri, result.findings.map(toDiagnostic));
      updateStatus();
      log.debug(`Dataset lint of ${uri.fsPath} on tab open: ${result.samples} samples, ${result.findings.length} findings in ${Math.round(performance.now() - started)} ms`);
    } catch (error) {
      log.warn(`dataset lint of ${uri.fsPath} on tab open failed: ${(error as Error).message}`);
    }
  }

  async function lintDocument(document: vscode.TextDocument): Promise<void> {
    const key = document.uri.toString();
    if (!isDataset(document)) {
      if (states.has(key) && states.get(key)!.version !== undefined) {
        states.delete(key);
        diagnostics.delete(document.uri);
      }
      updateStatus();
      return;
    }
    if (tooLarge(document)) {
      states.delete(key);
      updateStatus();
      return;
    }
    const requestId = ++requestCounter;
    latest.set(key, requestId);
    const version = document.version;
    const started = performance.now();
    try {
      const stale = () => latest.get(key) !== requestId || document.version !== version || document.isClosed;
      const result = await worker.lintDocument(document, { ...optionsFor(document.uri), collectSamples: true }, stale);
      // A newer edit or request superseded this one: its result is stale.
      if (!result || stale()) return;
      const applyStarted = performance.now();
      states.set(key, { version, result });
      suggestQuietEditor(document);
      diagnostics.set(document.uri, result.findings.map(toDiagnostic));
      updateStatus();
      log.debug(
        `Dataset lint of ${document.uri.fsPath} (v${version}): ${result.samples} samples, ${result.findings.length} findings in ${Math.round(performance.now() - started)} ms; ` +
          `longest slice on this thread ${worker.longestSliceMs.toFixed(1)} ms, applying ${(performance.now() - applyStarted).toFixed(1)} ms`,
      );
    } catch (error) {
      if (error instanceof CancelledError) return; // an edit made it stale; the lint of that edit follows
      log.error(`dataset lint of ${document.uri.fsPath} failed: ${(error as Error).message}`);
    }
  }

  function schedule(document: vscode.TextDocument, delay: number): void {
    const key = document.uri.toString();
    clearTimeout(timers.get(key));
    latest.delete(key); // any result now in flight is stale
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        void lintDocument(document);
      }, delay),
    );
  }

  function updateStatus(): void {
    const editor = vscode.window.activeTextEditor;
    const document = editor?.document;
    if (!document || !isDataset(document)) {
      status.hide();
      return;
    }
    const state = states.get(document.uri.toString());
    if (!state) {
      if (tooLarge(document)) {
        status.text = '$(database) Dataset too large to lint while editing';
        status.tooltip = 'Run "Finetune Workbench: Lint Dataset File from Disk" (setting dataset.lintInEditorMaxMB).';
        status.command = 'finetuneWorkbench.lintDatasetFromDisk';
        status.show();
      } else status.hide();
      return;
    }
    const { result } = state;
    const errors = result.findings.filter((f) => f.severity === 'error').length;
    const warnings = result.findings.filter((f) => f.severity === 'warning').length;
    status.text = `$(database) ${formatLabels[result.format]} · ${result.samples} samples · $(error) ${errors} $(warning) ${warnings}`;
    status.tooltip = `Dataset format: ${formatLabels[result.format]} (${result.detected ? 'detected' : 'set by you'}), ${result.container === 'jsonl' ? 'JSON Lines' : 'JSON array'}. Click to open Problems.`;
    status.command = 'workbench.actions.view.problems';
    status.show();
  }

  // Code actions: the fix of each diagnostic, "fix all of this rule", and source.fixAll.
  class DatasetCodeActions implements vscode.CodeActionProvider {
    static readonly kinds = [vscode.CodeActionKind.QuickFix, vscode.CodeActionKind.SourceFixAll.append('finetuneWorkbench')];

    provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
      const state = states.get(document.uri.toString());
      if (!state || state.version !== document.version) return [];
      const actions: vscode.CodeAction[] = [];
      const only = context.only;
      const wantsQuickFix = !only || only.contains(vscode.CodeActionKind.QuickFix) || vscode.CodeActionKind.QuickFix.contains(only);
      const wantsFixAll = !only ? false : vscode.CodeActionKind.SourceFixAll.contains(only) || only.contains(vscode.CodeActionKind.SourceFixAll);
      const fixable = state.result.findings.filter((f) => f.fix);
      if (wantsQuickFix) {
        for (const diagnostic of context.diagnostics) {
          if (diagnostic.source !== diagnosticSource) continue;
          const finding = fixable.find((f) => f.rule === diagnostic.code && f.message === diagnostic.message && toRange(f.range).isEqual(diagnostic.range));
          if (!finding?.fix) continue;
          const action = this.action(document, finding.fix.title, [finding], vscode.CodeActionKind.QuickFix);
          action.diagnostics = [diagnostic];
          action.isPreferred = true;
          actions.push(action);
          const sameRule = fixable.filter((f) => f.rule === finding.rule && 'edits' in f.fix!);
          if (sameRule.length > 1) {
            const all = this.action(document, `Fix all ${finding.rule} in this file (${sameRule.length})`, sameRule, vscode.CodeActionKind.QuickFix);
            all.diagnostics = [diagnostic];
            actions.push(all);
          }
        }
      }
      if (wantsFixAll) {
        const safe = fixable.filter((f) => 'edits' in f.fix! && f.rule !== 'DS-MULTI-UNKNOWN-TAG');
        if (safe.length) actions.push(this.action(document, 'Fix all dataset problems that have a safe fix', safe, DatasetCodeActions.kinds[1]!));
      }
      return actions;
    }

    private action(document: vscode.TextDocument, title: string, findings: DatasetFinding[], kind: vscode.CodeActionKind): vscode.CodeAction {
      const action = new vscode.CodeAction(title, kind);
      const edit = new vscode.WorkspaceEdit();
      const conversion = findings.find((f) => f.fix && 'convert' in f.fix);
      if (conversion && conversion.fix && 'convert' in conversion.fix) {
        const text = document.getText();
        const converted = conversion.fix.convert === 'array' ? convertToArray(text) : convertToJsonl(text);
        edit.replace(document.uri, new vscode.Range(document.positionAt(0), document.positionAt(text.length)), converted);
      } else {
        const fixes = compatibleFixes(findings.map((f) => ({ edits: (f.fix as { edits: TextEdit[] }).edits })));
        for (const fix of fixes) for (const e of fix.edits) edit.replace(document.uri, toRange(e.range), e.newText);
      }
      action.edit = edit;
      return action;
    }
  }

  class SampleHover implements vscode.HoverProvider {
    provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
      const state = states.get(document.uri.toString());
      if (!state || state.version !== document.version || !state.result.sampleTable) return undefined;
      const table = state.result.sampleTable;
      state.ids ??= table.ids.split('\u0000');
      const info = sampleAt(table, position, state.ids);
      if (!info) return undefined;
      const problems = state.result.findings.filter((f) => f.sample === info.index).length;
      const text = new vscode.MarkdownString(
        `**Sample ${info.index}**${info.id !== undefined ? ` · id \`${info.id}\`` : ''} · ${info.images} image${info.images === 1 ? '' : 's'} · ${info.turns} turn${info.turns === 1 ? '' : 's'}${problems ? ` · ${problems} problem${problems === 1 ? '' : 's'}` : ''}`,
      );
      return new vscode.Hover(text, toRange(info.range));
    }
  }

  const selector: vscode.DocumentSelector = [
    { scheme: 'file', language: 'json' },
    { scheme: 'file', language: 'jsonl' },
    { scheme: 'file', language: 'jsonc' },
    { scheme: 'file', pattern: '**/*.jsonl' },
    { scheme: 'untitled', language: 'json' },
  ];
  disposables.push(
    vscode.languages.registerCodeActionsProvider(selector, new DatasetCodeActions(), { providedCodeActionKinds: DatasetCodeActions.kinds }),
    vscode.languages.registerHoverProvider(selector, new SampleHover()),
    vscode.workspace.onDidOpenTextDocument((document) => schedule(document, 0)),
    vscode.workspace.onDidChangeTextDocument((event) => {
      if (!event.contentChanges.length) return;
      const key = event.document.uri.toString();
      const length = lengths.get(key);
      if (length !== undefined) lengths.set(key, event.contentChanges.reduce((sum, c) => sum + c.text.length - c.rangeLength, length));
      worker.documentChanged(event);
      schedule(event.document, debounceMs);
    }),
    vscode.workspace.onDidCloseTextDocument((document) => {
      worker.documentClosed(document);
      const key = document.uri.toString();
      lengths.delete(key);
      optionsCache.delete(key);
      clearTimeout(timers.get(key));
      timers.delete(key);
      latest.delete(key);
      // Findings from "Lint from Disk" stay in Problems; those of the editor (and of its tab's early lint) go with it.
      const state = states.get(key);
      if (state && (state.version !== undefined || (state.fromTab && !hasTab(key)))) {
        states.delete(key);
        diagnostics.delete(document.uri);
      }
    }),
    vscode.window.onDidChangeActiveTextEditor(() => updateStatus()),
    vscode.window.tabGroups.onDidChangeTabs(({ opened, closed }) => {
      for (const tab of opened) if (tab.input instanceof vscode.TabInputText) void lintOnTabOpen(tab.input.uri);
      for (const tab of closed) {
        if (!(tab.input instanceof vscode.TabInputText)) continue;
        const key = tab.input.uri.toString();
        if (states.get(key)?.fromTab && !isOpenDocument(key) && !hasTab(key)) {
          states.delete(key);
          diagnostics.delete(tab.input.uri);
        }
      }
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => optionsCache.clear()),
    settings.onDidChange(['dataset.formatOverrides', 'dataset.imageBaseDir', 'dataset.modelMaxLength', 'dataset.model', 'dataset.lintInEditorMaxMB'], () => {
      optionsCache.clear();
      for (const document of vscode.workspace.textDocuments) schedule(document, 0);
    }),
    vscode.commands.registerCommand('finetuneWorkbench.lintDatasetFromDisk', async (target?: vscode.Uri) => {
      let uri = target instanceof vscode.Uri ? target : vscode.window.activeTextEditor?.document.uri;
      if (!uri || uri.scheme !== 'file') {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Datasets: ['json', 'jsonl'], 'All files': ['*'] }, title: 'Lint Dataset File from Disk' });
        uri = picked?.[0];
      }
      if (!uri) return undefined;
      const fileUri = uri;
      const name = path.basename(fileUri.fsPath);
      try {
        const result = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Linting ${name}`, cancellable: true },
          (progress, token) => {
            let reported = 0;
            return worker.lintFile(
              fileUri.fsPath,
              optionsFor(fileUri),
              (bytesRead, totalBytes) => {
                const percent = totalBytes ? Math.floor((bytesRead / totalBytes) * 100) : 0;
                progress.report({ increment: percent - reported, message: `${percent}%` });
                reported = percent;
              },
              token,
            );
          },
        );
        const open = openDocument(fileUri.toString());
        // Findings from disk describe the saved file; an open, edited document has newer text.
        if (!open || !open.isDirty) {
          states.set(fileUri.toString(), { version: open ? open.version : undefined, result });
          diagnostics.set(fileUri, result.findings.map(toDiagnostic));
        }
        updateStatus();
        const errors = result.findings.filter((f) => f.severity === 'error').length;
        log.info(`Linted ${fileUri.fsPath} from disk: ${formatLabels[result.format]}, ${result.samples} samples, ${result.findings.length} findings (${errors} errors)`);
        if (!target) {
          void vscode.window
            .showInformationMessage(`${name}: ${result.samples} samples, ${result.findings.length} problems (${errors} errors).`, 'Show Problems')
            .then((choice) => choice && vscode.commands.executeCommand('workbench.actions.view.problems'));
        }
        return { format: result.format, samples: result.samples, findings: result.findings.length };
      } catch (error) {
        if (error instanceof CancelledError) {
          log.info(`Lint of ${fileUri.fsPath} cancelled`);
          return undefined;
        }
        void vscode.window.showErrorMessage(`Could not lint ${name}: ${(error as Error).message}`);
        return undefined;
      }
    }),
    vscode.commands.registerCommand('finetuneWorkbench.quietEditorForLargeDatasets', () => quietEditor()),
    vscode.commands.registerCommand('finetuneWorkbench.setDatasetFormat', async (target?: vscode.Uri, format?: string) => {
      const uri = target instanceof vscode.Uri ? target : vscode.window.activeTextEditor?.document.uri;
      if (!uri) {
        void vscode.window.showInformationMessage('Open a dataset file first.');
        return undefined;
      }
      let chosen = format;
      if (!chosen) {
        const current = formatFor(uri) ?? 'auto';
        const picked = await vscode.window.showQuickPick(
          [{ label: 'auto', description: 'Detect from the samples' }, ...datasetFormats.map((f) => ({ label: f, description: formatLabels[f] }))].map((item) => ({
            ...item,
            picked: item.label === current,
          })),
          { title: `Dataset format of ${path.basename(uri.fsPath)}`, placeHolder: `Now: ${current}` },
        );
        chosen = picked?.label;
      }
      if (!chosen || (chosen !== 'auto' && !isDatasetFormat(chosen))) return undefined;
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      const key = (folder ? path.relative(folder.uri.fsPath, uri.fsPath) : uri.fsPath).split(path.sep).join('/');
      const config = vscode.workspace.getConfiguration('finetuneWorkbench', uri);
      const overrides = { ...(config.get<Record<string, string>>('dataset.formatOverrides') ?? {}) };
      if (chosen === 'auto') delete overrides[key];
      else overrides[key] = chosen;
      await config.update('dataset.formatOverrides', overrides, folder ? vscode.ConfigurationTarget.WorkspaceFolder : vscode.ConfigurationTarget.Global);
      optionsCache.clear();
      const document = openDocument(uri.toString());
      if (document) await lintDocument(document);
      return chosen;
    }),
  );

  for (const document of vscode.workspace.textDocuments) schedule(document, 0);
  for (const group of vscode.window.tabGroups.all) for (const tab of group.tabs) if (tab.input instanceof vscode.TabInputText) void lintOnTabOpen(tab.input.uri);
  updateStatus();
  return vscode.Disposable.from(
    ...disposables,
    new vscode.Disposable(() => {
      for (const timer of timers.values()) clearTimeout(timer);
    }),
  );
}

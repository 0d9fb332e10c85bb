import path from 'node:path';
import * as vscode from 'vscode';
import { formatGiB } from '../../core/estimate/estimate';
import type { GpuFacts } from '../../core/gpu/nvidiaSmi';
import type { Range as CoreRange, Severity } from '../../core/lint/findings';
import type { TextFix } from '../../core/lint/fixes';
import type { LensInfo, LintKind } from '../../core/script/protocol';
import { isDeepSpeedConfigName } from '../../core/script/linters';
import type { FeatureContext } from '../shared/context';
import { launchTarget } from '../shared/launchTarget';
import { LintWorkerClient, StaleVersion } from './worker';

const source = 'Finetune Workbench';
const lintDelayMs = 300;

function toRange(range: CoreRange): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

const severities: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
  hint: vscode.DiagnosticSeverity.Hint,
};

/** Fixes live in a side table keyed by range, rule and message (as vscode-eslint does), not on the diagnostic. */
function fixKey(range: vscode.Range, rule: string, message: string): string {
  return `${range.start.line}:${range.start.character}-${range.end.line}:${range.end.character}|${rule}|${message}`;
}

interface DocumentState {
  version: number;
  fixes: Map<string, TextFix[]>;
  lenses: LensInfo[];
}

/**
 * Diagnostics, quick fixes, hovers, flag completion and the memory CodeLens for finetune scripts, DeepSpeed configs
 * and Python files. Parsing and rules run in a worker thread (dist/workers/scriptLint.js); this is the thin shell.
 */
export function registerScriptLint({ extension, log, settings }: FeatureContext): vscode.Disposable {
  const diagnostics = vscode.languages.createDiagnosticCollection('finetuneWorkbench.script');
  const worker = new LintWorkerClient(path.join(extension.extensionPath, 'dist', 'workers', 'scriptLint.js'), log);
  const states = new Map<string, DocumentState>();
  const inFlight = new Map<string, { version: number; done: Promise<void> }>();
  const timers = new Map<string, NodeJS.Timeout>();
  const lensChanged = new vscode.EventEmitter<void>();
  /** DeepSpeed configs named by open scripts' --deepspeed flags, whatever their file name. */
  const referencedConfigs = new Set<string>();

  // A plain copy: configuration values are proxies that cannot be posted to a worker (DataCloneError).
  const defaultGpu = (uri: vscode.Uri): GpuFacts => {
    const { name, memoryGiB, computeCapability, count } = settings.get('gpu.default', uri);
    return { name: String(name), memoryGiB: Number(memoryGiB), computeCapability: String(computeCapability), count: Number(count) };
  };
  /** A probed launch target (Launch panel / Hosts view) replaces the gpu.default and transformersVersion settings. */
  const gpuContext = (uri: vscode.Uri): { gpu: GpuFacts; source: string; transformersVersion?: string } => {
    const probed = launchTarget.gpuFacts();
    const configured = settings.get('script.transformersVersion', uri) || undefined;
    if (probed) return { gpu: probed.gpu, source: probed.source, transformersVersion: probed.transformersVersion ?? configured };
    const gpu = defaultGpu(uri);
    return { gpu, source: `gpu.default setting: ${gpu.count}× ${gpu.name}`, transformersVersion: configured };
  };

  function kindOf(document: vscode.TextDocument): LintKind | undefined {
    if (document.uri.scheme !== 'file') return undefined;
    const name = document.fileName;
    if (document.languageId === 'shellscript' || /\.(sh|bash)$/i.test(name)) return 'script';
    if (/\.json$/i.test(name) && (isDeepSpeedConfigName(name) || referencedConfigs.has(name))) return 'deepspeed';
    if (document.languageId === 'python' || /\.py$/i.test(name)) return 'python';
    return undefined;
  }

  async function analyze(document: vscode.TextDocument): Promise<void> {
    const kind = kindOf(document);
    if (!kind) return;
    const key = document.uri.toString();
    const version = document.version;
    const { gpu, source: gpuSource, transformersVersion } = gpuContext(document.uri);
    // Unsaved text of other open files the script may name (its DeepSpeed config, finetune.py).
    const openFiles: Record<string, string> = {};
    for (const d of vscode.workspace.textDocuments) if (d.isDirty && d.uri.scheme === 'file' && d !== document) openFiles[d.fileName] = d.getText();
    let response;
    try {
      response = await worker.request({
        op: 'analyze',
        uri: key,
        version,
        kind,
        fileName: document.fileName,
        text: document.getText(),
        gpu,
        gpuSource,
        transformersVersion,
        openFiles,
      });
    } catch (error) {
      log.error(`lint of ${document.fileName} failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    // A newer edit arrived while this one ran: its own run publishes.
    if (document.isClosed || document.version !== version) return;
    const fixes = new Map<string, TextFix[]>();
    diagnostics.set(
      document.uri,
      response.findings.map((finding) => {
        const range = toRange(finding.range);
        const diagnostic = new vscode.Diagnostic(range, finding.message, severities[finding.severity]);
        diagnostic.source = source;
        diagnostic.code = finding.rule;
        if (finding.fixes?.length) fixes.set(fixKey(range, finding.rule, finding.message), finding.fixes);
        return diagnostic;
      }),
    );
    states.set(key, { version, fixes, lenses: response.lenses });
    for (const config of response.deepSpeedConfigs) {
      if (referencedConfigs.has(config)) continue;
      referencedConfigs.add(config);
      const open = vscode.workspace.textDocuments.find((d) => d.fileName === config);
      if (open) schedule(open);
    }
    if (kind === 'script') lensChanged.fire();
  }

  /** Analyses the document's current version unless that is done or under way. */
  function ensureAnalyzed(document: vscode.TextDocument): Promise<void> {
    const key = document.uri.toString();
    if (states.get(key)?.version === document.version) return Promise.resolve();
    const running = inFlight.get(key);
    if (running?.version === document.version) return running.done;
    const done = analyze(document).finally(() => {
      if (inFlight.get(key)?.done === done) inFlight.delete(key);
    });
    inFlight.set(key, { version: document.version, done });
    return done;
  }

  function schedule(document: vscode.TextDocument): void {
    if (!kindOf(document)) return;
    const key = document.uri.toString();
    clearTimeout(timers.get(key));
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        void ensureAnalyzed(document);
      }, lintDelayMs),
    );
  }

  /** Asks the worker about the document's current version, analysing it first when needed. */
  async function ask<T>(document: vscode.TextDocument, question: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      await ensureAnalyzed(document);
      try {
        return await question();
      } catch (error) {
        if (!(error instanceof StaleVersion)) throw error;
        states.delete(document.uri.toString());
      }
    }
    return undefined;
  }

  const lintSelector: vscode.DocumentSelector = [
    { scheme: 'file', language: 'shellscript' },
    { scheme: 'file', pattern: '**/*.sh' },
    { scheme: 'file', language: 'json' },
    { scheme: 'file', language: 'jsonc' },
    { scheme: 'file', language: 'python' },
  ];
  const scriptSelector: vscode.DocumentSelector = [
    { scheme: 'file', language: 'shellscript' },
    { scheme: 'file', pattern: '**/*.sh' },
  ];

  const codeActions = vscode.languages.registerCodeActionsProvider(
    lintSelector,
    {
      provideCodeActions(document, _range, context) {
        const state = states.get(document.uri.toString());
        if (!state || state.version !== document.version) return [];
        const actions: vscode.CodeAction[] = [];
        for (const diagnostic of context.diagnostics) {
          if (diagnostic.source !== source) continue;
          const fixes = state.fixes.get(fixKey(diagnostic.range, String(diagnostic.code), diagnostic.message)) ?? [];
          for (const fix of fixes) {
            const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
            action.diagnostics = [diagnostic];
            action.isPreferred = fixes.length === 1;
            action.edit = new vscode.WorkspaceEdit();
            for (const edit of fix.edits) action.edit.replace(document.uri, toRange(edit.range), edit.newText);
            actions.push(action);
          }
        }
        return actions;
      },
    },
    { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
  );

  const hovers = vscode.languages.registerHoverProvider(scriptSelector, {
    async provideHover(document, position, token) {
      const answer = await ask(document, () =>
        worker.request({ op: 'hover', uri: document.uri.toString(), version: document.version, position: { line: position.line, character: position.character } }),
      );
      if (token.isCancellationRequested || !answer?.hover) return undefined;
      return new vscode.Hover(new vscode.MarkdownString(answer.hover.markdown), toRange(answer.hover.range));
    },
  });

  const completions = vscode.languages.registerCompletionItemProvider(
    scriptSelector,
    {
      async provideCompletionItems(document, position, token) {
        const textBeforeCursor = document.lineAt(position.line).text.slice(0, position.character);
        const answer = await ask(document, () => worker.request({ op: 'complete', uri: document.uri.toString(), version: document.version, line: position.line, textBeforeCursor }));
        if (token.isCancellationRequested || !answer) return undefined;
        return answer.items.map((c) => {
          const item = new vscode.CompletionItem(c.label, c.kind === 'flag' ? vscode.CompletionItemKind.Property : vscode.CompletionItemKind.EnumMember);
          item.detail = c.detail;
          if (c.documentation) item.documentation = new vscode.MarkdownString(c.documentation);
          item.insertText = c.insertText;
          item.range = new vscode.Range(position.line, position.character - c.replaceLength, position.line, position.character);
          return item;
        });
      },
    },
    '-',
    ' ',
  );

  const lenses = vscode.languages.registerCodeLensProvider(scriptSelector, {
    onDidChangeCodeLenses: lensChanged.event,
    async provideCodeLenses(document, token) {
      await ensureAnalyzed(document);
      const state = states.get(document.uri.toString());
      if (token.isCancellationRequested || !state || state.version !== document.version) return [];
      const { gpu, source: gpuSource } = gpuContext(document.uri);
      return state.lenses.map((lens) => {
        const args = [document.uri, lens.launchIndex];
        const tooltip = `Estimated peak GPU memory per GPU (${gpuSource}); click for the breakdown and suggestions`;
        if (lens.peakBytesPerGpu === undefined) {
          return new vscode.CodeLens(toRange(lens.range), { title: `Memory estimate unavailable: ${lens.missing}`, command: 'finetuneWorkbench.estimateMemory', arguments: args });
        }
        const amount = `≈ ${formatGiB(lens.peakBytesPerGpu).replace(' GiB', '')} GiB of ${gpu.memoryGiB} GiB per GPU`;
        const title = lens.fits ? amount : `$(warning) ${amount}: does not fit${lens.firstSuggestion ? ` (try ${lens.firstSuggestion})` : ''}`;
        return new vscode.CodeLens(toRange(lens.range), { title, tooltip, command: 'finetuneWorkbench.estimateMemory', arguments: args });
      });
    },
  });

  const command = vscode.commands.registerCommand('finetuneWorkbench.estimateMemory', async (uri?: vscode.Uri, launchIndex = 0) => {
    const document = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
    if (!document || kindOf(document) !== 'script') {
      void vscode.window.showWarningMessage('Open a finetune shell script (torchrun, deepspeed, accelerate launch or python) to estimate its GPU memory.');
      return undefined;
    }
    const answer = await ask(document, () => worker.request({ op: 'estimate', uri: document.uri.toString(), version: document.version, launchIndex }));
    if (!answer || answer.peakBytesPerGpu === undefined || !answer.breakdown) {
      void vscode.window.showWarningMessage(`No memory estimate for ${path.basename(document.fileName)}: ${answer?.missing ?? 'the analysis failed (see the log)'}.`);
      return undefined;
    }
    const b = answer.breakdown;
    const gpuBytes = answer.gpu.memoryGiB * 1024 ** 3;
    const fits = (answer.requiredBytesPerGpu ?? answer.peakBytesPerGpu) <= gpuBytes;
    const summary = `≈ ${formatGiB(answer.peakBytesPerGpu)} of ${answer.gpu.memoryGiB} GiB per GPU (${gpuContext(document.uri).source})`;
    const parts = `weights ${formatGiB(b.weights)}, gradients ${formatGiB(b.gradients)}, optimizer ${formatGiB(b.optimizer)}, activations ${formatGiB(b.activations)}, overhead ${formatGiB(b.overhead)}`;
    const advice = fits
      ? []
      : answer.suggestions.length
        ? ['Would fit with:', ...answer.suggestions.map((s, i) => `${i + 1}. ${s.change} (≈ ${formatGiB(s.peakBytesPerGpu)})`)]
        : ['Does not fit even with ZeRO-3 offload.'];
    log.info(`memory estimate for ${document.fileName}:\n  ${[summary, parts, ...answer.notes, ...advice].join('\n  ')}`);
    const show = fits ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
    void show(`${summary}. ${parts}.${advice.length ? ` ${advice.join(' ')}` : ''}`, 'Show Log').then((choice) => {
      if (choice) log.show(true);
    });
    return { peakBytesPerGpu: answer.peakBytesPerGpu, breakdown: b, fits, suggestions: answer.suggestions.map((s) => s.change), gpu: answer.gpu };
  });

  const lintAllOpen = () => {
    states.clear();
    vscode.workspace.textDocuments.forEach(schedule);
  };
  vscode.workspace.textDocuments.forEach(schedule);
  return vscode.Disposable.from(
    diagnostics,
    codeActions,
    hovers,
    completions,
    lenses,
    command,
    lensChanged,
    vscode.workspace.onDidOpenTextDocument(schedule),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length === 0) return;
      schedule(e.document);
      // Scripts read the DeepSpeed config they name: re-lint open scripts when it changes.
      if (kindOf(e.document) === 'deepspeed') vscode.workspace.textDocuments.filter((d) => kindOf(d) === 'script').forEach((d) => {
        states.delete(d.uri.toString());
        schedule(d);
      });
    }),
    vscode.workspace.onDidCloseTextDocument((document) => {
      const key = document.uri.toString();
      clearTimeout(timers.get(key));
      timers.delete(key);
      states.delete(key);
      diagnostics.delete(document.uri);
      if (kindOf(document)) void worker.request({ op: 'close', uri: key }).catch(() => undefined);
    }),
    settings.onDidChange(['gpu.default', 'script.transformersVersion'], lintAllOpen),
    launchTarget.onDidChange(lintAllOpen),
    { dispose: () => timers.forEach((t) => clearTimeout(t)) },
    worker,
  );
}

import path from 'node:path';
import * as vscode from 'vscode';
import { lintDeepSpeedConfig } from '../../core/deepspeed/config';
import { estimateMemory, formatGiB, suggestFits, type Estimate, type FitSuggestion } from '../../core/estimate/estimate';
import { estimateInputFromLaunch } from '../../core/estimate/fromScript';
import type { GpuFacts } from '../../core/gpu/nvidiaSmi';
import type { Range as CoreRange, Severity } from '../../core/lint/findings';
import type { FixableFinding, TextFix } from '../../core/lint/fixes';
import { findQuantizationCalls } from '../../core/python/quantization';
import { isDeepSpeedConfigName } from '../../core/script/linters';
import { lintShellScript, type ScriptLintResult } from '../../core/script/rules';
import type { FeatureContext } from '../shared/context';
import { flagCompletions, hoverAt } from '../../core/script/assist';

const source = 'Finetune Workbench';
const lintDelayMs = 300;
const GiB = 1024 ** 3;

type Kind = 'script' | 'deepspeed' | 'python';

/** DeepSpeed configs named by open scripts' --deepspeed flags, whatever their file name. */
const referencedConfigs = new Set<string>();

function kindOf(document: vscode.TextDocument): Kind | undefined {
  if (document.uri.scheme !== 'file' && document.uri.scheme !== 'untitled') return undefined;
  const name = document.fileName;
  if (document.languageId === 'shellscript' || /\.(sh|bash)$/i.test(name)) return 'script';
  if (/\.json$/i.test(name) && (isDeepSpeedConfigName(name) || referencedConfigs.has(name))) return 'deepspeed';
  if (document.languageId === 'python' || /\.py$/i.test(name)) return 'python';
  return undefined;
}

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
  script?: ScriptLintResult;
}

export function registerScriptLint({ log, settings }: FeatureContext): vscode.Disposable {
  const diagnostics = vscode.languages.createDiagnosticCollection('finetuneWorkbench.script');
  const states = new Map<string, DocumentState>();
  const timers = new Map<string, NodeJS.Timeout>();
  const lensChanged = new vscode.EventEmitter<void>();

  const gpuFor = (uri: vscode.Uri): GpuFacts => settings.get('gpu.default', uri);

  async function lint(document: vscode.TextDocument): Promise<void> {
    const kind = kindOf(document);
    if (!kind) return;
    const key = document.uri.toString();
    const version = document.version;
    const text = document.getText();
    let findings: FixableFinding[] = [];
    let script: ScriptLintResult | undefined;
    try {
      if (kind === 'script') {
        const transformersVersion = settings.get('script.transformersVersion', document.uri) || undefined;
        const gpu = gpuFor(document.uri);
        script = await lintShellScript(text, {
          launchDir: path.dirname(document.fileName),
          gpu,
          gpuSource: `gpu.default setting: ${gpu.count}× ${gpu.name}`,
          transformersVersion,
          readText: (file) => openText(file),
        });
        findings = script.findings;
        for (const analysis of script.launches) {
          const config = analysis.deepspeed?.path;
          if (config && !referencedConfigs.has(config)) {
            referencedConfigs.add(config);
            const open = vscode.workspace.textDocuments.find((d) => d.fileName === config);
            if (open) schedule(open);
          }
        }
      } else if (kind === 'deepspeed') {
        findings = lintDeepSpeedConfig(text).findings;
      } else {
        findings = (await findQuantizationCalls(text)).findings;
      }
    } catch (error) {
      log.error(`lint of ${document.fileName} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      return;
    }
    // A newer edit arrived while this one ran: its own run publishes.
    if (document.isClosed || document.version !== version) return;
    const fixes = new Map<string, TextFix[]>();
    const result = findings.map((finding) => {
      const range = toRange(finding.range);
      const diagnostic = new vscode.Diagnostic(range, finding.message, severities[finding.severity]);
      diagnostic.source = source;
      diagnostic.code = finding.rule;
      if (finding.fixes?.length) fixes.set(fixKey(range, finding.rule, finding.message), finding.fixes);
      return diagnostic;
    });
    states.set(key, { version, fixes, script });
    diagnostics.set(document.uri, result);
    if (kind === 'script') lensChanged.fire();
  }

  /** Reads a file the script names, preferring the editor's unsaved text. */
  function openText(file: string): string | undefined {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.fileName === file);
    if (open) return open.getText();
    try {
      return require('node:fs').readFileSync(file, 'utf8') as string;
    } catch {
      return undefined;
    }
  }

  function schedule(document: vscode.TextDocument): void {
    if (!kindOf(document)) return;
    const key = document.uri.toString();
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => {
      timers.delete(key);
      void lint(document);
    }, lintDelayMs));
  }

  async function scriptState(document: vscode.TextDocument): Promise<ScriptLintResult | undefined> {
    const state = states.get(document.uri.toString());
    if (state?.version === document.version && state.script) return state.script;
    await lint(document);
    return states.get(document.uri.toString())?.script;
  }

  function estimateFor(document: vscode.TextDocument, result: ScriptLintResult, launchIndex: number): { estimate?: Estimate; suggestions: FitSuggestion[]; gpuBytes: number; missing?: string } {
    const gpu = gpuFor(document.uri);
    const gpuBytes = gpu.memoryGiB * GiB;
    const { input, missing } = estimateInputFromLaunch(result.launches[launchIndex], path.dirname(document.fileName));
    if (!input) return { missing, suggestions: [], gpuBytes };
    const estimate = estimateMemory(input);
    return { estimate, gpuBytes, suggestions: estimate.peakBytesPerGpu > gpuBytes ? suggestFits(input, gpuBytes) : [] };
  }

  const selector: vscode.DocumentSelector = [
    { scheme: 'file', language: 'shellscript' },
    { scheme: 'file', pattern: '**/*.sh' },
    { scheme: 'file', language: 'json' },
    { scheme: 'file', language: 'jsonc' },
    { scheme: 'file', language: 'python' },
  ];

  const codeActions = vscode.languages.registerCodeActionsProvider(
    selector,
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

  const scriptSelector: vscode.DocumentSelector = [
    { scheme: 'file', language: 'shellscript' },
    { scheme: 'file', pattern: '**/*.sh' },
  ];

  const hovers = vscode.languages.registerHoverProvider(scriptSelector, {
    async provideHover(document, position) {
      const result = await scriptState(document);
      if (!result) return undefined;
      const hover = hoverAt(result, { line: position.line, character: position.character });
      if (!hover) return undefined;
      const markdown = new vscode.MarkdownString(hover.markdown);
      return new vscode.Hover(markdown, toRange(hover.range));
    },
  });

  const completions = vscode.languages.registerCompletionItemProvider(
    scriptSelector,
    {
      async provideCompletionItems(document, position) {
        const result = await scriptState(document);
        if (!result) return undefined;
        const lineText = document.lineAt(position.line).text.slice(0, position.character);
        return flagCompletions(result, position.line, lineText).map((c) => {
          const item = new vscode.CompletionItem(c.label, c.kind === 'flag' ? vscode.CompletionItemKind.Property : vscode.CompletionItemKind.EnumMember);
          item.detail = c.detail;
          if (c.documentation) item.documentation = new vscode.MarkdownString(c.documentation);
          item.insertText = c.insertText;
          const start = position.character - c.replaceLength;
          item.range = new vscode.Range(position.line, start, position.line, position.character);
          return item;
        });
      },
    },
    '-',
    ' ',
  );

  const lenses = vscode.languages.registerCodeLensProvider(scriptSelector, {
    onDidChangeCodeLenses: lensChanged.event,
    async provideCodeLenses(document) {
      const result = await scriptState(document);
      if (!result) return [];
      return result.launches.map((analysis, index) => {
        const range = toRange(analysis.launch.launcherRange);
        const { estimate, suggestions, gpuBytes, missing } = estimateFor(document, result, index);
        const args = [document.uri, index];
        if (!estimate) {
          return new vscode.CodeLens(range, { title: `Memory estimate unavailable: ${missing}`, command: 'finetuneWorkbench.estimateMemory', arguments: args });
        }
        const fits = estimate.peakBytesPerGpu <= gpuBytes;
        const title = fits
          ? `≈ ${formatGiB(estimate.peakBytesPerGpu).replace(' GiB', '')} GiB of ${gpuFor(document.uri).memoryGiB} GiB per GPU`
          : `$(warning) ≈ ${formatGiB(estimate.peakBytesPerGpu).replace(' GiB', '')} GiB of ${gpuFor(document.uri).memoryGiB} GiB per GPU: does not fit${suggestions[0] ? ` (try ${suggestions[0].change})` : ''}`;
        return new vscode.CodeLens(range, { title, tooltip: 'Estimated peak GPU memory per GPU; click for the breakdown and suggestions', command: 'finetuneWorkbench.estimateMemory', arguments: args });
      });
    },
  });

  const command = vscode.commands.registerCommand('finetuneWorkbench.estimateMemory', async (uri?: vscode.Uri, launchIndex = 0) => {
    const document = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
    if (!document || kindOf(document) !== 'script') {
      void vscode.window.showWarningMessage('Open a finetune shell script (torchrun/deepspeed/accelerate/python launch) to estimate its GPU memory.');
      return undefined;
    }
    const result = await scriptState(document);
    if (!result?.launches.length) {
      void vscode.window.showWarningMessage(`${path.basename(document.fileName)} has no torchrun, deepspeed, accelerate launch or python training command.`);
      return undefined;
    }
    const { estimate, suggestions, gpuBytes, missing } = estimateFor(document, result, Math.min(launchIndex, result.launches.length - 1));
    if (!estimate) {
      void vscode.window.showWarningMessage(`No memory estimate: ${missing}.`);
      return undefined;
    }
    const b = estimate.breakdown;
    const gpu = gpuFor(document.uri);
    const lines = [
      `≈ ${formatGiB(estimate.peakBytesPerGpu)} of ${gpu.memoryGiB} GiB per GPU (${gpu.name}, gpu.default setting)`,
      `weights ${formatGiB(b.weights)}, gradients ${formatGiB(b.gradients)}, optimizer ${formatGiB(b.optimizer)}, activations ${formatGiB(b.activations)}, overhead ${formatGiB(b.overhead)}`,
      ...estimate.notes,
      ...(estimate.peakBytesPerGpu > gpuBytes ? [suggestions.length ? 'Would fit with:' : 'Does not fit even with ZeRO-3 offload.', ...suggestions.map((s, i) => `${i + 1}. ${s.change} (≈ ${formatGiB(s.estimate.peakBytesPerGpu)})`)] : []),
    ];
    log.info(`memory estimate for ${document.fileName}:\n  ${lines.join('\n  ')}`);
    const fits = estimate.peakBytesPerGpu <= gpuBytes;
    const show = fits ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
    void show(`${lines[0]}. ${lines[1]}.${fits ? '' : ` ${lines.slice(2 + estimate.notes.length).join(' ')}`}`, 'Show Log').then((choice) => {
      if (choice) log.show(true);
    });
    return { peakBytesPerGpu: estimate.peakBytesPerGpu, breakdown: b, fits, suggestions: suggestions.map((s) => s.change) };
  });

  const lintAllOpen = () => vscode.workspace.textDocuments.forEach((d) => schedule(d));
  lintAllOpen();
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
      schedule(e.document);
      // Scripts read the DeepSpeed config and data files they name: re-lint open scripts when those change.
      if (kindOf(e.document) === 'deepspeed') vscode.workspace.textDocuments.filter((d) => kindOf(d) === 'script').forEach(schedule);
    }),
    vscode.workspace.onDidSaveTextDocument(schedule),
    vscode.workspace.onDidCloseTextDocument((document) => {
      const key = document.uri.toString();
      clearTimeout(timers.get(key));
      timers.delete(key);
      states.delete(key);
      diagnostics.delete(document.uri);
    }),
    settings.onDidChange(['gpu.default', 'script.transformersVersion'], lintAllOpen),
    { dispose: () => timers.forEach((t) => clearTimeout(t)) },
  );
}

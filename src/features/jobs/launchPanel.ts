import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as vscode from 'vscode';
import { formatGiB } from '../../core/estimate/estimate';
import { scriptArgv, type LaunchRequest } from '../../core/jobs/job';
import { chosenGpus, type PreflightResult } from '../../core/jobs/preflight';
import { shellCommand } from '../../core/jobs/shellQuote';
import { emptyForm, parseEnvLines, type HostToLaunch, type LaunchForm, type LaunchToHost, type PreflightItem, type PreflightSummary } from '../../protocol/launch';
import type { FeatureContext } from '../shared/context';
import { launchTarget } from '../shared/launchTarget';
import type { JobsApi } from './index';

export const launchViewType = 'finetuneWorkbench.launch';

interface PreflightView {
  items: PreflightItem[];
  /** Where each item's link goes (same order as items). */
  files: Array<{ file: string; line: number; character: number }>;
  result?: PreflightResult;
  summary: PreflightSummary;
}
const formKey = 'finetuneWorkbench.launchForm';

/**
 * The Launch panel: script, target, GPUs from the probe, env, the resolved (editable) command, preflight
 * findings, Launch / Launch on save. No retainContextWhenHidden: the webview keeps its form with setState,
 * the host keeps a copy in workspaceState, and a serializer restores the panel after a reload.
 */
export function registerLaunchPanel({ extension, log }: FeatureContext, jobs: JobsApi, untrustedMessage: string): vscode.Disposable {
  let current: { panel: vscode.WebviewPanel; form: () => LaunchForm; preflight: () => Promise<PreflightView> } | undefined;
  const distWebview = vscode.Uri.joinPath(extension.extensionUri, 'dist', 'webview');
  const webviewOptions: vscode.WebviewOptions = { enableScripts: true, localResourceRoots: [distWebview, vscode.Uri.joinPath(extension.extensionUri, 'media')] };

  async function scripts(): Promise<string[]> {
    const found = await vscode.workspace.findFiles('**/*.{sh,py}', '{**/node_modules/**,**/.git/**,**/output/**}', 500);
    return found.map((u) => vscode.workspace.asRelativePath(u, false)).sort((a, b) => Number(b.endsWith('.sh')) - Number(a.endsWith('.sh')) || a.localeCompare(b));
  }

  function scriptUri(relative: string): vscode.Uri | undefined {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder || !relative) return undefined;
    return path.isAbsolute(relative) ? vscode.Uri.file(relative) : vscode.Uri.joinPath(folder.uri, relative);
  }

  async function requestFor(form: LaunchForm): Promise<LaunchRequest> {
    const uri = scriptUri(form.script);
    if (!uri) throw new Error('Choose a script to launch.');
    const { env, badLines } = parseEnvLines(form.env);
    if (badLines.length) throw new Error(`Environment line(s) ${badLines.join(', ')} are not NAME=VALUE.`);
    const request = await jobs.buildRequest({ script: uri, target: form.target, gpus: form.gpus.length ? form.gpus : undefined, env });
    const command = form.commandOverride.trim() || (form.args.trim() ? `${shellCommand(request.argv)} ${form.args.trim()}` : '');
    // An edited command or typed arguments are shell syntax, as in a terminal.
    if (command) request.argv = ['bash', '-c', command];
    return request;
  }

  function preview(form: LaunchForm): { command: string; problems: PreflightItem[] } {
    const problems: PreflightItem[] = [];
    if (!vscode.workspace.isTrusted) problems.push({ severity: 'error', message: untrustedMessage });
    const { env, badLines } = parseEnvLines(form.env);
    if (badLines.length) problems.push({ severity: 'error', message: `Environment line(s) ${badLines.join(', ')} are not NAME=VALUE.` });
    const prefix = [
      ...(form.gpus.length ? [`CUDA_VISIBLE_DEVICES=${form.gpus.join(',')}`] : []),
      'MASTER_PORT=<free port picked on the target>',
      ...Object.keys(env).map((k) => `${k}=${shellCommand([env[k]])}`),
    ].join(' ');
    const base = form.script ? shellCommand(scriptArgv(form.script)) : '<choose a script>';
    const command = form.commandOverride.trim() || `${base}${form.args.trim() ? ` ${form.args.trim()}` : ''}`;
    return { command: `${prefix} ${command}`, problems };
  }

  /** The jobs feature's preflight (one worker for every launch path), for the form's script, target and checked GPUs. */
  async function runPreflight(form: LaunchForm): Promise<PreflightView> {
    const uri = scriptUri(form.script);
    const none: PreflightView = { items: [], files: [], summary: { state: 'none', estimates: [] } };
    if (!uri) return none;
    const result = await jobs.preflight(uri, form.target, form.gpus);
    if (!result) return none;
    // The probe is the one the preflight used (cached per target).
    const probe = await jobs.hosts.probe(form.target);
    const gpus = chosenGpus(probe.gpus, form.gpus).map(({ processes: _p, ...gpu }) => gpu);
    if (gpus.length) launchTarget.set({ target: form.target, gpus, transformersVersion: probe.transformersVersion, chosenIn: 'Launch panel' });
    const files = result.findings.map((f) => ({ file: f.file, line: f.range.start.line, character: f.range.start.character }));
    const items: PreflightItem[] = result.findings.map((f, id) => ({
      severity: f.severity === 'hint' ? 'info' : f.severity,
      rule: f.rule,
      message: f.message,
      file: vscode.workspace.asRelativePath(f.file, false),
      line: f.range.start.line,
      id,
    }));
    const estimates = result.estimates.map((e) =>
      e.peakBytesPerGpu !== undefined && e.availableBytesPerGpu !== undefined
        ? `Memory estimate (line ${e.range.start.line + 1}): ≈ ${formatGiB(e.peakBytesPerGpu)} per GPU of ${formatGiB(e.availableBytesPerGpu)} ${e.availableKind === 'free' ? 'free on the chosen GPUs' : 'per GPU'}: ${e.fits ? 'fits' : `does not fit${e.suggestion ? ` (try ${e.suggestion})` : ''}`}`
        : `Memory estimate (line ${e.range.start.line + 1}) unavailable: ${e.missing ?? 'unknown'}`,
    );
    const gpu = result.gpu ? `${result.gpu.count}× ${result.gpu.name} (compute capability ${result.gpu.computeCapability}, ${result.gpu.memoryGiB} GiB), ${result.gpuSource ?? ''}` : undefined;
    return { items, files, result, summary: { state: 'done', verdict: result.verdict, gpu, transformersVersion: result.transformersVersion, estimates } };
  }

  function html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(distWebview, 'launch.js'));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource}; font-src ${webview.cspSource}; style-src ${webview.cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Launch</title>
<style nonce="${nonce}">
  body { padding: 0 16px 16px; max-width: 900px; }
  .row { margin: 10px 0; }
  vscode-single-select, vscode-textarea, vscode-textfield { width: 100%; }
  pre { white-space: pre-wrap; word-break: break-all; background: var(--vscode-textCodeBlock-background); padding: 8px; }
  li.error { color: var(--vscode-errorForeground); }
  li.warning { color: var(--vscode-editorWarning-foreground); }
  #untrusted { color: var(--vscode-errorForeground); }
</style>
</head>
<body>
<h2>Launch a fine-tuning job</h2>
<p id="untrusted"></p>
<div class="row"><vscode-label for="script">Script</vscode-label><vscode-single-select id="script" combobox></vscode-single-select></div>
<div class="row"><vscode-label for="target">Target</vscode-label><vscode-single-select id="target"></vscode-single-select></div>
<div class="row"><vscode-label>GPUs (CUDA_VISIBLE_DEVICES; none checked = all)</vscode-label><div id="gpus">Probing GPUs…</div><small id="transformers"></small></div>
<div class="row"><vscode-label for="args">Script arguments (shell syntax)</vscode-label><vscode-textfield id="args" placeholder="--num_train_epochs 1"></vscode-textfield></div>
<div class="row"><vscode-label for="env">Environment (NAME=VALUE per line; secrets belong in “Set Secret”)</vscode-label><vscode-textarea id="env" rows="3"></vscode-textarea></div>
<div class="row"><vscode-label>Resolved command</vscode-label><pre id="resolved"></pre>
<vscode-label for="command">Edit the command (empty: use the resolved one)</vscode-label><vscode-textarea id="command" rows="2"></vscode-textarea></div>
<div class="row"><vscode-label>Preflight (lint of the script, its datasets and DeepSpeed config; GPU checks; memory estimate)</vscode-label><div id="preflightFacts"></div><ul id="preflight"></ul></div>
<vscode-divider></vscode-divider>
<div class="row"><vscode-button id="launch">Launch</vscode-button> <vscode-checkbox id="launchOnSave" label="Launch on save of the script"></vscode-checkbox> <vscode-checkbox id="overridePreflight" label="Launch despite preflight errors"></vscode-checkbox></div>
<p id="status" role="status"></p>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  function setup(panel: vscode.WebviewPanel, restored?: LaunchForm): void {
    let form: LaunchForm = { ...emptyForm, ...extension.workspaceState.get<LaunchForm>(formKey), ...(restored ?? {}) };
    panel.webview.options = webviewOptions;
    panel.webview.html = html(panel.webview);
    const post = (message: HostToLaunch) => void panel.webview.postMessage(message);
    let view: PreflightView = { items: [], files: [], summary: { state: 'none', estimates: [] } };
    let latest: Promise<PreflightView> | undefined;
    let preflightKey = '';
    const send = () => {
      const { command, problems } = preview(form);
      post({ type: 'preview', command, preflight: [...problems, ...view.items], summary: view.summary });
    };
    /** Runs the preflight again (script, target or GPUs changed, a file was saved); the newest run wins. */
    const refreshPreflight = (): Promise<PreflightView> => {
      preflightKey = JSON.stringify([form.script, form.target, form.gpus]);
      view = { ...view, summary: { ...view.summary, state: 'running' } };
      send();
      const run = runPreflight({ ...form }).catch((error: Error): PreflightView => {
        log.error(`preflight failed: ${error.message}`);
        return { items: [{ severity: 'error', message: `The preflight failed: ${error.message}` }], files: [], summary: { state: 'done', estimates: [] } };
      });
      latest = run;
      void run.then((done) => {
        if (latest !== run) return;
        view = done;
        send();
      });
      return run;
    };
    const sendPreview = () => {
      if (JSON.stringify([form.script, form.target, form.gpus]) !== preflightKey) void refreshPreflight();
      else send();
    };
    const launch = async (f: LaunchForm) => {
      if (!vscode.workspace.isTrusted) {
        post({ type: 'error', message: untrustedMessage });
        return;
      }
      try {
        const checked = await (latest ?? refreshPreflight());
        if (checked.result?.verdict === 'blocked' && !f.overridePreflight) {
          post({ type: 'error', message: `Not launched: the preflight found ${checked.result.errorCount} error(s). Fix them, or check “Launch despite preflight errors”.` });
          return;
        }
        const job = jobs.runner.submit(await requestFor(f));
        post({ type: 'launched', jobId: job.id, target: f.target });
      } catch (error) {
        post({ type: 'error', message: (error as Error).message });
      }
    };
    const subscriptions: vscode.Disposable[] = [
      panel.webview.onDidReceiveMessage(async (message: LaunchToHost) => {
        switch (message.type) {
          case 'ready':
            post({ type: 'init', form, scripts: await scripts(), targets: jobs.hosts.targets(), trusted: vscode.workspace.isTrusted, untrustedMessage });
            sendPreview();
            break;
          case 'changed':
            form = message.form;
            void extension.workspaceState.update(formKey, form);
            sendPreview();
            break;
          case 'probe': {
            const probe = await jobs.hosts.probe(message.target);
            post({
              type: 'gpus',
              target: message.target,
              gpus: probe.gpus.map((g) => ({ index: g.index, name: g.name, usedMiB: g.memoryUsedMiB, totalMiB: g.memoryTotalMiB, processes: g.processes.length })),
              error: probe.error,
              transformersVersion: probe.transformersVersion,
            });
            break;
          }
          case 'launch':
            form = message.form;
            await launch(form);
            break;
          case 'openFinding': {
            // Only files this preflight reported: the webview names an index, never a path.
            const target = view.files[message.id];
            if (target) {
              const at = new vscode.Position(target.line, target.character);
              // Beside the panel, never over it (a hidden webview is torn down).
              const viewColumn = panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One;
              await vscode.window.showTextDocument(vscode.Uri.file(target.file), { selection: new vscode.Range(at, at), viewColumn, preserveFocus: false });
            }
            break;
          }
        }
      }),
      vscode.workspace.onDidSaveTextDocument((doc) => {
        const uri = scriptUri(form.script);
        // The preflight reads saved files: the script, its DeepSpeed config, its datasets.
        if (/\.(sh|bash|json|jsonl|py)$/i.test(doc.fileName)) void refreshPreflight();
        if (form.launchOnSave && uri && doc.uri.toString() === uri.toString()) void launch(form);
      }),
    ];
    panel.onDidDispose(() => {
      subscriptions.forEach((s) => s.dispose());
      if (current?.panel === panel) current = undefined;
    });
    current = { panel, form: () => form, preflight: refreshPreflight };
    log.info('launch panel opened');
  }

  return vscode.Disposable.from(
    // Runs the open Launch panel's preflight again and returns what the panel shows (findings and estimate).
    vscode.commands.registerCommand('finetuneWorkbench.runPreflight', async () => {
      if (!current) {
        await vscode.commands.executeCommand('finetuneWorkbench.openLaunchPanel', vscode.window.activeTextEditor?.document.uri);
        for (let i = 0; i < 50 && !current; i++) await new Promise((r) => setTimeout(r, 100));
      }
      if (!current) return undefined;
      current.panel.reveal(undefined, true);
      const { items, summary } = await current.preflight();
      return { items, summary };
    }),
    vscode.commands.registerCommand('finetuneWorkbench.openLaunchPanel', (uri?: vscode.Uri) => {
      if (uri instanceof vscode.Uri) void extension.workspaceState.update(formKey, { ...emptyForm, ...extension.workspaceState.get<LaunchForm>(formKey), script: vscode.workspace.asRelativePath(uri, false) });
      if (current) {
        current.panel.reveal();
        return;
      }
      const panel = vscode.window.createWebviewPanel(launchViewType, 'Launch', vscode.ViewColumn.Beside, webviewOptions);
      setup(panel);
    }),
    vscode.window.registerWebviewPanelSerializer(launchViewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        setup(panel, state && typeof state === 'object' ? (state as LaunchForm) : undefined);
      },
    }),
  );
}

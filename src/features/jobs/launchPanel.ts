import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as vscode from 'vscode';
import { scriptArgv, type LaunchRequest } from '../../core/jobs/job';
import { shellCommand } from '../../core/jobs/shellQuote';
import { emptyForm, parseEnvLines, type HostToLaunch, type LaunchForm, type LaunchToHost, type PreflightItem } from '../../protocol/launch';
import type { FeatureContext } from '../shared/context';
import type { JobsApi } from './index';

export const launchViewType = 'finetuneWorkbench.launch';
const formKey = 'finetuneWorkbench.launchForm';

/**
 * The Launch panel: script, target, GPUs from the probe, env, the resolved (editable) command, preflight
 * findings, Launch / Launch on save. No retainContextWhenHidden: the webview keeps its form with setState,
 * the host keeps a copy in workspaceState, and a serializer restores the panel after a reload.
 */
export function registerLaunchPanel({ extension, log }: FeatureContext, jobs: JobsApi, untrustedMessage: string): vscode.Disposable {
  let current: { panel: vscode.WebviewPanel; form: () => LaunchForm } | undefined;
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

  function preview(form: LaunchForm): { command: string; preflight: PreflightItem[] } {
    const uri = scriptUri(form.script);
    const preflight: PreflightItem[] = [];
    if (!vscode.workspace.isTrusted) preflight.push({ severity: 'error', message: untrustedMessage });
    if (uri) {
      for (const d of vscode.languages.getDiagnostics(uri)) {
        const severity = d.severity === vscode.DiagnosticSeverity.Error ? 'error' : d.severity === vscode.DiagnosticSeverity.Warning ? 'warning' : 'info';
        preflight.push({ severity, message: `${d.source ? `${d.source}: ` : ''}${d.message}`, line: d.range.start.line });
      }
    }
    const { env, badLines } = parseEnvLines(form.env);
    if (badLines.length) preflight.push({ severity: 'error', message: `Environment line(s) ${badLines.join(', ')} are not NAME=VALUE.` });
    const prefix = [
      ...(form.gpus.length ? [`CUDA_VISIBLE_DEVICES=${form.gpus.join(',')}`] : []),
      'MASTER_PORT=<free port picked on the target>',
      ...Object.keys(env).map((k) => `${k}=${shellCommand([env[k]])}`),
    ].join(' ');
    const base = form.script ? shellCommand(scriptArgv(form.script)) : '<choose a script>';
    const command = form.commandOverride.trim() || `${base}${form.args.trim() ? ` ${form.args.trim()}` : ''}`;
    return { command: `${prefix} ${command}`, preflight };
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
<div class="row"><vscode-label>Preflight</vscode-label><ul id="preflight"></ul></div>
<vscode-divider></vscode-divider>
<div class="row"><vscode-button id="launch">Launch</vscode-button> <vscode-checkbox id="launchOnSave" label="Launch on save of the script"></vscode-checkbox></div>
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
    const sendPreview = () => post({ type: 'preview', ...preview(form) });
    const launch = async (f: LaunchForm) => {
      if (!vscode.workspace.isTrusted) {
        post({ type: 'error', message: untrustedMessage });
        return;
      }
      try {
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
            const uri = scriptUri(form.script);
            if (uri) await vscode.window.showTextDocument(uri, { selection: new vscode.Range(message.line, 0, message.line, 0), viewColumn: vscode.ViewColumn.One });
            break;
          }
        }
      }),
      vscode.languages.onDidChangeDiagnostics((e) => {
        const uri = scriptUri(form.script);
        if (uri && e.uris.some((u) => u.toString() === uri.toString())) sendPreview();
      }),
      vscode.workspace.onDidSaveTextDocument((doc) => {
        const uri = scriptUri(form.script);
        if (form.launchOnSave && uri && doc.uri.toString() === uri.toString()) void launch(form);
      }),
    ];
    panel.onDidDispose(() => {
      subscriptions.forEach((s) => s.dispose());
      if (current?.panel === panel) current = undefined;
    });
    current = { panel, form: () => form };
    log.info('launch panel opened');
  }

  return vscode.Disposable.from(
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

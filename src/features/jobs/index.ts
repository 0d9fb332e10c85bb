import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { locateCauseInScript } from '../../core/jobs/failureCause';
import { isFinal, scriptArgv, type JobRecord, type JobState, type LaunchRequest } from '../../core/jobs/job';
import { formatProgress } from '../../core/jobs/progress';
import { JobRegistry } from '../../core/jobs/registry';
import { probeTargetFacts } from '../../core/jobs/gpuProbe';
import { chosenGpus, formatPreflight, type PreflightResult } from '../../core/jobs/preflight';
import { JobRunner } from '../../core/jobs/runner';
import { LintWorkerClient } from '../scriptLint/worker';
import { sshConfigHosts } from '../../core/jobs/transport';
import type { FeatureContext } from '../shared/context';
import { HostsTree } from './hostsTree';
import { jobLabel, JobsTree } from './jobsTree';
import { registerLaunchPanel } from './launchPanel';
import { JobLogDocuments, jobLogScheme, jobLogUri } from './logDocuments';
import { registerFinetuneTasks, type FinetuneTaskDefinition } from './tasks';

const secretKey = (name: string) => `finetuneWorkbench.secret.${name}`;
const secretNamesKey = 'finetuneWorkbench.secretNames';

export const untrustedMessage =
  'Launching jobs runs code from this workspace, so it is disabled until you trust the workspace. Linting keeps working.';

/** Returns true when the workspace is trusted; otherwise explains why launching is disabled. */
export function ensureTrusted(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(untrustedMessage, 'Manage Workspace Trust').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}

export interface JobsApi {
  readonly runner: JobRunner;
  readonly hosts: HostsTree;
  /** Builds a launch request for a script (the Launch panel and the task type use it). */
  buildRequest(options: { script: vscode.Uri; target: string; gpus?: number[]; env?: Record<string, string>; args?: string[] }): Promise<LaunchRequest>;
  /** The core preflight of a shell script on a target and its chosen GPUs (none: all), in a worker; undefined for other files. */
  preflight(script: vscode.Uri, target: string, gpuIndices?: number[]): Promise<PreflightResult | undefined>;
}

let api: JobsApi | undefined;
/** The jobs feature's runner and helpers, for the Launch panel (undefined before activation). */
export const jobsApi = () => api;

export function registerJobs(context: FeatureContext): vscode.Disposable {
  const { extension, log, settings } = context;
  const disposables: vscode.Disposable[] = [];
  const runner = new JobRunner({
    registry: new JobRegistry(path.join(extension.globalStorageUri.fsPath, 'jobs')),
    remoteRoot: () => settings.get('launch.remoteRoot'),
    logger: log,
    maxConcurrentPerTarget: () => settings.get('launch.maxConcurrentJobsPerTarget'),
    syncExclude: (localDir) => settings.get('launch.syncExclude', vscode.Uri.file(localDir)),
    secretLookup: async (name) => extension.secrets.get(secretKey(name)),
    python: settings.get('launch.pythonPath'),
  });
  disposables.push({ dispose: () => void runner.dispose() });

  const diagnostics = vscode.languages.createDiagnosticCollection('finetune-jobs');
  const jobsTree = new JobsTree(runner);
  const hosts = new HostsTree(runner, settings);
  const logs = new JobLogDocuments(runner, log);
  disposables.push(
    diagnostics,
    jobsTree,
    hosts,
    logs,
    vscode.window.createTreeView('finetuneWorkbench.jobs', { treeDataProvider: jobsTree }),
    vscode.window.createTreeView('finetuneWorkbench.hosts', { treeDataProvider: hosts }),
    vscode.workspace.registerTextDocumentContentProvider(jobLogScheme, logs),
    settings.onDidChange(['launch.targets'], () => hosts.refresh()),
  );

  async function secretsForLaunch(): Promise<Record<string, string>> {
    const names = extension.globalState.get<string[]>(secretNamesKey, []);
    const values: Record<string, string> = {};
    for (const name of names) {
      const value = await extension.secrets.get(secretKey(name));
      if (value !== undefined) values[name] = value;
    }
    return values;
  }

  async function buildRequest(o: { script: vscode.Uri; target: string; gpus?: number[]; env?: Record<string, string>; args?: string[] }): Promise<LaunchRequest> {
    const folder = vscode.workspace.getWorkspaceFolder(o.script);
    const localDir = folder?.uri.fsPath ?? path.dirname(o.script.fsPath);
    const relative = path.relative(localDir, o.script.fsPath);
    return {
      target: o.target,
      argv: scriptArgv(relative, o.args ?? []),
      localDir,
      gpus: o.gpus,
      env: { ...settings.get('launch.env', o.script), ...(o.env ?? {}) },
      secrets: await secretsForLaunch(),
      scriptPath: o.script.fsPath,
      label: path.basename(o.script.fsPath),
    };
  }
  // Its own worker thread: a preflight lints whole datasets, off the extension host thread and without holding up
  // the editor's script lint.
  let preflightWorker: LintWorkerClient | undefined;
  disposables.push({ dispose: () => preflightWorker?.dispose() });
  /** The core preflight (src/core/jobs/preflight.ts) for a script on a target, as `ftw run` runs it. */
  async function preflightFor(script: vscode.Uri, target: string, gpuIndices?: number[]): Promise<PreflightResult | undefined> {
    if (!/\.(sh|bash)$/i.test(script.fsPath)) return undefined;
    const probe = await hosts.probe(target);
    const gpus = chosenGpus(probe.gpus, gpuIndices).map(({ processes: _p, ...gpu }) => gpu);
    // A plain copy: configuration values are proxies that cannot be posted to a worker.
    const { name, memoryGiB, computeCapability, count } = settings.get('gpu.default');
    preflightWorker ??= new LintWorkerClient(path.join(extension.extensionPath, 'dist', 'workers', 'scriptLint.js'), log);
    return preflightWorker.request({
      op: 'preflight',
      scriptPath: script.fsPath,
      // Jobs run from the workspace folder (what gets synced); relative paths in the script resolve there.
      launchDir: vscode.workspace.getWorkspaceFolder(script)?.uri.fsPath ?? path.dirname(script.fsPath),
      gpus,
      fallbackGpu: gpus.length ? undefined : { name: String(name), memoryGiB: Number(memoryGiB), computeCapability: String(computeCapability), count: Number(count) },
      gpuSource: gpus.length ? `probe of ${target}` : 'gpu.default setting',
      transformersVersion: probe.transformersVersion ?? (settings.get('script.transformersVersion') || undefined),
      ...probeTargetFacts(probe, target),
    }) as Promise<PreflightResult>;
  }

  /** Runs the preflight before a launch; true when the launch goes ahead (no errors, forced, or the user chose to). */
  async function passesPreflight(script: vscode.Uri, target: string, gpus: number[] | undefined, force: boolean): Promise<boolean> {
    if (force) return true;
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Preflight…' }, () => preflightFor(script, target, gpus));
    if (!result || result.verdict !== 'blocked') return true;
    const first = result.findings.find((f) => f.severity === 'error') ?? result.findings[0];
    const where = first ? `${vscode.workspace.asRelativePath(first.file, false)}:${first.range.start.line + 1}: ${first.message}` : '';
    const choice = await vscode.window.showWarningMessage(
      `Preflight found ${result.errorCount} error(s) in ${path.basename(script.fsPath)}; the launch would probably fail.`,
      { modal: true, detail: where },
      'Show Findings',
      'Launch Anyway',
    );
    if (choice === 'Launch Anyway') return true;
    if (choice === 'Show Findings' && first) {
      const position = new vscode.Position(first.range.start.line, first.range.start.character);
      await vscode.window.showTextDocument(vscode.Uri.file(first.file), { selection: new vscode.Range(position, position) });
    }
    return false;
  }

  api = { runner, hosts, buildRequest, preflight: preflightFor };
  disposables.push({ dispose: () => (api = undefined) });

  // Status bar: running and queued jobs.
  const status = vscode.window.createStatusBarItem('finetuneWorkbench.jobs', vscode.StatusBarAlignment.Left, 50);
  status.name = 'Fine-tuning jobs';
  status.command = 'finetuneWorkbench.jobs.focus';
  const updateStatus = () => {
    const jobs = runner.registry.all();
    const running = jobs.filter((j) => j.state === 'running');
    const queued = jobs.filter((j) => j.state === 'queued').length;
    if (running.length === 0 && queued === 0) {
      status.hide();
      return;
    }
    const first = running[0];
    const progress = first?.progress ? ` ${formatProgress(first.progress)}` : '';
    status.text = `$(sync~spin) ${running.length} job${running.length === 1 ? '' : 's'}${queued ? ` (+${queued} queued)` : ''}${progress}`;
    status.tooltip = running.map((j) => `${jobLabel(j)} on ${j.request.target}${j.progress ? `: ${formatProgress(j.progress)}` : ''}`).join('\n') || 'Jobs waiting in the queue';
    status.show();
  };
  disposables.push(status);

  // Notifications and diagnostics when a job ends.
  const lastState = new Map<string, JobState>(runner.registry.all().map((j) => [j.id, j.state]));
  disposables.push(
    runner.onDidChange((job) => {
      updateStatus();
      const before = lastState.get(job.id);
      lastState.set(job.id, job.state);
      if (before === job.state || !isFinal(job.state)) return;
      onJobEnded(job);
    }),
  );

  function onJobEnded(job: JobRecord): void {
    const name = `${jobLabel(job)} on ${job.request.target}`;
    if (job.state === 'succeeded') {
      void vscode.window.showInformationMessage(`Fine-tuning job ${name} finished successfully.`, 'Open Log').then((c) => c && openLog(job));
      return;
    }
    if (job.state === 'cancelled') return;
    const why = job.cause ? `${job.cause.summary} ${job.cause.hint}` : (job.message ?? `exit code ${job.exitCode ?? '?'}`);
    void vscode.window.showErrorMessage(`Fine-tuning job ${name} ${job.state}: ${why}`, 'Open Log').then((c) => c && openLog(job));
    const script = job.request.scriptPath;
    if (script && job.cause) {
      let text = '';
      try {
        text = readFileSync(script, 'utf8');
      } catch {
        return;
      }
      const line = locateCauseInScript(job.cause, text) ?? 0;
      const lineText = text.split(/\r?\n/)[line] ?? '';
      const range = new vscode.Range(line, lineText.length - lineText.trimStart().length, line, lineText.length);
      const diagnostic = new vscode.Diagnostic(range, `Job ${job.id} failed: ${job.cause.summary} ${job.cause.hint}\n${job.cause.evidence}`, vscode.DiagnosticSeverity.Error);
      diagnostic.source = 'finetune job';
      diagnostic.code = `JOB-${job.cause.kind.toUpperCase()}`;
      diagnostics.set(vscode.Uri.file(script), [diagnostic]);
    }
  }

  async function openLog(job: JobRecord): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(jobLogUri(job.id));
    await vscode.window.showTextDocument(doc, { preview: false });
  }

  async function pickJob(filter: (j: JobRecord) => boolean, placeHolder: string): Promise<JobRecord | undefined> {
    const jobs = runner.registry.all().filter(filter).reverse();
    if (jobs.length === 0) {
      void vscode.window.showInformationMessage('No matching jobs.');
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      jobs.map((j) => ({ label: jobLabel(j), description: `${j.state} · ${j.request.target}`, detail: j.id, job: j })),
      { placeHolder },
    );
    return pick?.job;
  }

  async function pickTarget(): Promise<string | undefined> {
    const pick = await vscode.window.showQuickPick(
      hosts.targets().map((t) => ({ label: t })),
      { placeHolder: 'Where should the job run?', title: 'Launch target' },
    );
    return pick?.label;
  }

  async function pickGpus(target: string): Promise<number[] | undefined | null> {
    const probe = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Probing GPUs on ${target}` }, () => hosts.probe(target));
    if (probe.gpus.length === 0) return undefined;
    const picks = await vscode.window.showQuickPick(
      probe.gpus.map((g) => ({ label: `${g.index}: ${g.name}`, description: `${g.memoryUsedMiB}/${g.memoryTotalMiB} MiB used, ${g.processes.length} process(es)`, picked: g.processes.length === 0, index: g.index })),
      { canPickMany: true, placeHolder: 'GPUs for CUDA_VISIBLE_DEVICES' },
    );
    if (!picks) return null;
    return picks.length === probe.gpus.length ? undefined : picks.map((p) => p.index);
  }

  async function launch(uri?: vscode.Uri, target?: string, force = false): Promise<JobRecord | undefined> {
    if (!ensureTrusted()) return undefined;
    const script = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!script || script.scheme !== 'file') {
      void vscode.window.showWarningMessage('Open a finetune script (.sh or .py) to launch it.');
      return undefined;
    }
    const chosen = target ?? (await pickTarget());
    if (!chosen) return undefined;
    const gpus = await pickGpus(chosen);
    if (gpus === null) return undefined;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === script.toString());
    if (doc?.isDirty) await doc.save();
    if (!(await passesPreflight(script, chosen, gpus, force))) return undefined;
    const job = runner.submit(await buildRequest({ script, target: chosen, gpus }));
    void vscode.commands.executeCommand('finetuneWorkbench.jobs.focus');
    return job;
  }

  disposables.push(
    vscode.commands.registerCommand('finetuneWorkbench.launchScript', (uri?: vscode.Uri, target?: string, force?: boolean) => launch(uri, target, force === true)),
    vscode.commands.registerCommand('finetuneWorkbench.openJobLog', async (job?: JobRecord) => {
      const chosen = job ?? (await pickJob(() => true, 'Job whose log to open'));
      if (chosen) await openLog(chosen);
    }),
    vscode.commands.registerCommand('finetuneWorkbench.cancelJob', async (job?: JobRecord) => {
      const chosen = job ?? (await pickJob((j) => !isFinal(j.state), 'Job to cancel'));
      if (!chosen) return;
      try {
        await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Cancelling ${jobLabel(chosen)} (SIGINT, then SIGTERM, then SIGKILL)…` }, () => runner.cancel(chosen.id));
      } catch (error) {
        void vscode.window.showErrorMessage(`Cancel failed: ${(error as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('finetuneWorkbench.rerunJob', async (job?: JobRecord) => {
      const chosen = job ?? (await pickJob(isFinalJob, 'Job to run again'));
      if (!chosen || !ensureTrusted()) return;
      const { secretNames: _names, ...request } = chosen.request;
      runner.submit({ ...request, secrets: await secretsForLaunch() });
    }),
    vscode.commands.registerCommand('finetuneWorkbench.copyJobCommand', async (job?: JobRecord) => {
      const chosen = job ?? (await pickJob(() => true, 'Job whose command to copy'));
      if (!chosen) return;
      const text = chosen.remoteCwd ? `cd ${JSON.stringify(chosen.remoteCwd)} && ${chosen.command ?? chosen.request.argv.join(' ')}` : chosen.request.argv.join(' ');
      await vscode.env.clipboard.writeText(text);
      void vscode.window.setStatusBarMessage('Job command copied', 3000);
    }),
    vscode.commands.registerCommand('finetuneWorkbench.revealJobFolder', async (job?: JobRecord) => {
      const chosen = job ?? (await pickJob((j) => j.jobDir !== undefined, 'Job whose folder to reveal'));
      if (!chosen?.jobDir) return;
      if (chosen.request.target === 'local' || chosen.request.target === 'slurm:local') {
        await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(chosen.jobDir));
      } else {
        await vscode.env.clipboard.writeText(chosen.jobDir);
        void vscode.window.showInformationMessage(`The job folder on ${chosen.request.target} is ${chosen.jobDir} (copied): log, pid, exit_code, run.sh.`);
      }
    }),
    vscode.commands.registerCommand('finetuneWorkbench.setSecret', async () => {
      const name = await vscode.window.showInputBox({
        title: 'Secret environment variable',
        prompt: 'Name, e.g. HF_TOKEN or WANDB_API_KEY. Stored in VS Code secret storage, passed to jobs through their environment, masked in logs.',
        validateInput: (v) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) ? undefined : 'Letters, digits and _, not starting with a digit'),
      });
      if (!name) return;
      const value = await vscode.window.showInputBox({ title: `Value of ${name}`, password: true, ignoreFocusOut: true });
      if (value === undefined) return;
      await extension.secrets.store(secretKey(name), value);
      const names = new Set(extension.globalState.get<string[]>(secretNamesKey, []));
      names.add(name);
      await extension.globalState.update(secretNamesKey, [...names]);
      log.info(`secret ${name} stored (value not logged)`);
    }),
    vscode.commands.registerCommand('finetuneWorkbench.refreshHosts', () => hosts.refresh()),
    vscode.commands.registerCommand('finetuneWorkbench.useHostForScriptLint', (node?: { target: string }) => hosts.useForScriptLint(node)),
    vscode.commands.registerCommand('finetuneWorkbench.addHost', async (given?: string) => {
      let target = given;
      if (!target) {
        let configured: string[] = [];
        try {
          configured = sshConfigHosts(readFileSync(path.join(os.homedir(), '.ssh', 'config'), 'utf8'));
        } catch {
          // no ~/.ssh/config: the user types the host
        }
        const picker = vscode.window.createQuickPick();
        picker.title = 'Add launch target';
        picker.placeholder = 'An SSH host from ~/.ssh/config, user@host[:port], or slurm:<login-host>';
        picker.items = configured.flatMap((h) => [{ label: h, description: 'SSH host' }, { label: `slurm:${h}`, description: 'Slurm login node' }]);
        target = await new Promise<string | undefined>((resolve) => {
          picker.onDidAccept(() => resolve(picker.selectedItems[0]?.label ?? (picker.value || undefined)));
          picker.onDidHide(() => resolve(undefined));
          picker.show();
        });
        picker.dispose();
      }
      if (!target) return;
      const current = settings.get('launch.targets');
      if (!current.includes(target)) {
        await vscode.workspace.getConfiguration('finetuneWorkbench').update('launch.targets', [...current, target], vscode.ConfigurationTarget.Global);
      }
      hosts.refresh();
    }),
    registerFinetuneTasks(runner, async (definition: FinetuneTaskDefinition, folder) => {
      if (!vscode.workspace.isTrusted) throw new Error(untrustedMessage);
      const base = folder?.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
      if (!base) throw new Error('A finetune task needs a workspace folder');
      const script = vscode.Uri.joinPath(base, definition.script);
      const target = definition.target ?? 'local';
      const preflight =
        definition.preflight === false ? undefined : await preflightFor(script, target, definition.gpus).then((result) => result && { lines: formatPreflight(result, base.fsPath), blocked: result.verdict === 'blocked' });
      return { request: await buildRequest({ script, target, gpus: definition.gpus, env: definition.env, args: definition.args }), preflight };
    }),
  );

  disposables.push(registerLaunchPanel(context, api, untrustedMessage));
  runner.reattach();
  updateStatus();
  return vscode.Disposable.from(...disposables.reverse());
}

function isFinalJob(job: JobRecord): boolean {
  return isFinal(job.state);
}

import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { isFinal, type JobRecord } from '../../core/jobs/job';
import { metricDirsOf } from '../../core/jobs/runDirs';
import { jobsApi } from '../jobs';
import { jobLabel } from '../jobs/jobsTree';
import type { FeatureContext } from '../shared/context';
import { curvesRunsView, type OpenCurvesResult } from './index';
import { CurvesPanel, type RunSpec } from './panel';
import { RunItem } from './runsView';

/** The Runs view lists the newest jobs only (the registry keeps every job ever launched). */
const maxListedJobs = 50;

/** Targets whose job folder is on this machine (the runner uses the local transport for them). */
const isLocalTarget = (job: JobRecord) => job.request.target === 'local' || job.request.target === 'slurm:local';

/**
 * Curves of launched jobs: `finetuneWorkbench.openJobCurves` (Jobs view) opens the Curves panel for a job — its
 * log, plus its `--output_dir`/`--logging_dir` when they are on this machine — and keeps it live while the job
 * runs; the Runs view lists every job of the registry. Remote jobs are plotted from a local copy of their log,
 * written from the runner's stream (their output folders are on the remote machine and are not read).
 */
export function registerJobCurves(context: FeatureContext): vscode.Disposable {
  const jobs = jobsApi();
  const runsView = curvesRunsView();
  if (!jobs || !runsView) return new vscode.Disposable(() => undefined);
  const { runner } = jobs;
  const mirrorRoot = path.join(context.extension.globalStorageUri.fsPath, 'job-logs');
  /** Jobs whose log is being followed for the panel (local: to refresh at once; remote: to copy it here). */
  const following = new Map<string, AbortController>();

  function specOf(job: JobRecord): RunSpec & { jobId: string } {
    const name = `${jobLabel(job)} · ${job.id}`;
    if (!isLocalTarget(job) || !job.jobDir) {
      const mirror = path.join(mirrorRoot, job.id);
      return { folder: mirror, extra: [path.join(mirror, 'log')], name, jobId: job.id };
    }
    let script: string | undefined;
    try {
      script = job.request.scriptPath ? readFileSync(job.request.scriptPath, 'utf8') : undefined;
    } catch {
      script = undefined; // moved or deleted since the launch: the command line alone
    }
    const cwd = job.remoteCwd ?? path.join(job.request.localDir, job.request.relativeCwd ?? '');
    const dirs = metricDirsOf({ command: job.command, script, cwd, scriptDir: job.request.scriptPath ? path.dirname(job.request.scriptPath) : undefined });
    const log = path.join(job.jobDir, 'log');
    const folder = dirs.output_dir ?? job.jobDir;
    const extra = [log];
    if (dirs.logging_dir && !dirs.logging_dir.startsWith(folder + path.sep)) extra.push(dirs.logging_dir);
    return { folder, extra, name, jobId: job.id };
  }

  /** Follows a job's log while the panel shows it; for remote jobs writes the local copy the panel reads. */
  function follow(job: JobRecord, spec: RunSpec): Promise<void> {
    const local = isLocalTarget(job);
    if (local && isFinal(job.state)) return Promise.resolve();
    if (following.has(job.id)) return Promise.resolve();
    const controller = new AbortController();
    following.set(job.id, controller);
    let copy: WriteStream | undefined;
    if (!local) {
      mkdirSync(spec.folder, { recursive: true });
      // The runner hands the log from its start: the copy is written afresh (a shrunk file is re-read whole).
      copy = createWriteStream(path.join(spec.folder, 'log'), { flags: 'w' });
    }
    let first: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (first = resolve));
    const done = runner
      .follow(
        job.id,
        (text) => {
          if (copy) copy.write(text, () => CurvesPanel.instance?.noteGrowth(spec.folder));
          else CurvesPanel.instance?.noteGrowth(spec.folder);
          first();
        },
        { signal: controller.signal, fromStart: !local },
      )
      .catch((error: Error) => context.log.warn(`curves of job ${job.id}: cannot follow its log (${error.message})`))
      .finally(() => {
        following.delete(job.id);
        first();
        copy?.end(() => CurvesPanel.instance?.noteGrowth(spec.folder));
      });
    // A remote copy waits for its first text (bounded), so the panel does not open empty.
    return local ? Promise.resolve() : Promise.race([started, done.then(() => undefined), new Promise<void>((r) => setTimeout(r, 5000))]);
  }

  function jobOf(arg: unknown): JobRecord | undefined {
    if (arg instanceof RunItem && arg.spec) return runner.registry.get(arg.spec.jobId);
    if (typeof arg === 'string') return runner.registry.get(arg);
    if (arg && typeof arg === 'object' && typeof (arg as JobRecord).id === 'string') return runner.registry.get((arg as JobRecord).id);
    return undefined;
  }

  async function openJobCurves(arg?: unknown): Promise<OpenCurvesResult> {
    let job = jobOf(arg);
    if (!job) {
      const all = runner.registry.all().filter((j) => j.jobDir).reverse();
      const pick = await vscode.window.showQuickPick(
        all.map((j) => ({ label: jobLabel(j), description: `${j.state} · ${j.request.target}`, detail: j.id, job: j })),
        { placeHolder: 'Job whose training curves to open' },
      );
      job = pick?.job;
    }
    if (!job) return { opened: false, runs: CurvesPanel.instance?.folders ?? [], points: CurvesPanel.instance?.pointCount() ?? 0 };
    if (!job.jobDir) {
      void vscode.window.showInformationMessage(`Job ${jobLabel(job)} has not started yet; its curves appear once it writes a log.`);
      return { opened: false, runs: CurvesPanel.instance?.folders ?? [], points: CurvesPanel.instance?.pointCount() ?? 0 };
    }
    const spec = specOf(job);
    await follow(job, spec);
    const panel = await CurvesPanel.show(context, [spec]);
    context.log.info(`Training curves of job ${job.id}: ${[spec.folder, ...(spec.extra ?? [])].join(', ')}`);
    return { opened: true, runs: panel.folders, points: panel.pointCount() };
  }

  // The Runs view lists every job that has a folder; it is told again when a job appears or changes state.
  let signature = '';
  const jobItems = () =>
    runner.registry
      .all()
      .filter((j) => j.jobDir)
      .reverse()
      .slice(0, maxListedJobs)
      .map((job) => {
        const spec = specOf(job);
        return new RunItem(vscode.Uri.file(spec.folder), `${job.state} · ${job.request.target}`, spec);
      });
  const resolver = (folder: string) => {
    const job = runner.registry.all().find((j) => j.jobDir && specOf(j).folder === folder);
    if (!job) return undefined;
    const spec = specOf(job);
    void follow(job, spec);
    return spec;
  };
  CurvesPanel.specResolvers.push(resolver);

  return vscode.Disposable.from(
    vscode.commands.registerCommand('finetuneWorkbench.openJobCurves', openJobCurves),
    runsView.setJobRuns(jobItems),
    runner.onDidChange(() => {
      const now = runner.registry
        .all()
        .map((j) => `${j.id}:${j.state}:${j.jobDir ? 1 : 0}`)
        .join(',');
      if (now === signature) return;
      signature = now;
      runsView.jobsChanged();
    }),
    {
      dispose: () => {
        for (const controller of following.values()) controller.abort();
        following.clear();
        CurvesPanel.specResolvers = CurvesPanel.specResolvers.filter((r) => r !== resolver);
      },
    },
  );
}

import path from 'node:path';
import { exportedSeries, toCsv, toJson } from '../../core/metrics/export';
import { readRuns } from '../../core/metrics/run';
import { parseCliArgs } from '../args';
import { ExitCode, UsageError } from '../exitCodes';
import type { Subcommand } from './types';

const usage = `Usage: ftw curves <run-folder|file...> (--csv | --json) [--tag <regex>] [--smooth <weight>]

Prints the training curves the Curves panel draws: every scalar of each run folder (TensorBoard event files,
trainer_state.json, HF Trainer logs, trainer_log.jsonl, CSV exports), a resumed run's repeated steps replaced
by the newest, smoothed with TensorBoard's debiased EMA.
  --csv              long format: run,tag,step,epoch,wall_time,value,smoothed (nan/inf spelled out)
  --json             {runs: [{name, folder, resumes, metadata, warnings, series: [{tag, source, points}]}]}
  --tag <regex>      only tags matching the regular expression (e.g. 'loss$')
  --smooth <weight>  smoothing weight in [0, 1) (default 0.6; 0 = none)

Warnings about damaged files go to stderr. Exit codes: 0 ok, 2 usage error or nothing readable.`;

export const curvesCommand: Subcommand = {
  name: 'curves',
  summary: 'print the training curves of run folders as CSV or JSON',
  usage,
  async run(args, io) {
    const parsed = parseCliArgs(args, { csv: { type: 'boolean' }, json: { type: 'boolean' }, tag: { type: 'string' }, smooth: { type: 'string' } });
    const { values, positionals } = parsed;
    if (positionals.length === 0) throw new UsageError('name at least one run folder or metrics file');
    if (Boolean(values.csv) === Boolean(values.json)) throw new UsageError('choose one of --csv and --json');
    const smoothing = values.smooth === undefined ? 0.6 : Number(values.smooth);
    if (!Number.isFinite(smoothing) || smoothing < 0 || smoothing >= 1) throw new UsageError(`--smooth must be a number in [0, 1), not '${values.smooth}'`);
    let tagPattern: RegExp | undefined;
    if (values.tag !== undefined) {
      try {
        tagPattern = new RegExp(values.tag);
      } catch (error) {
        throw new UsageError(`--tag is not a valid regular expression: ${(error as Error).message}`);
      }
    }
    const folders = positionals.map((p) => path.resolve(io.cwd, p));
    const runs = await readRuns(folders, { onWarning: (w) => io.stderr(`ftw curves: warning: ${w.file}: ${w.message}\n`) });
    let failed = false;
    for (const run of runs) {
      if (run.files.length === 0) {
        io.stderr(`ftw curves: ${path.relative(io.cwd, run.folder) || run.folder}: no metrics files found (trainer_state.json, events.out.tfevents.*, *.log, trainer_log.jsonl, *.csv)\n`);
        failed = true;
      }
    }
    const series = exportedSeries(runs, { tagPattern, smoothing });
    if (values.csv) io.stdout(toCsv(series));
    else io.stdout(`${JSON.stringify(toJson(runs, series), null, 1)}\n`);
    if (tagPattern && series.length === 0) io.stderr(`ftw curves: no tag matches /${values.tag}/\n`);
    return failed ? ExitCode.UsageOrIo : ExitCode.Clean;
  },
};

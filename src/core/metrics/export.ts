import type { RunSnapshot } from './run';
import { epochsAt } from './axes';
import { smoothDebiasedEma } from './smoothing';

export interface ExportOptions {
  tagPattern?: RegExp;
  /** Smoothing weight in [0, 1); 0 leaves `smoothed` equal to `value`. */
  smoothing: number;
}

export interface ExportedSeries {
  run: string;
  folder: string;
  tag: string;
  source: string;
  steps: Float64Array;
  values: Float64Array;
  smoothed: Float64Array;
  wallTimes: Float64Array;
  epochs: Float64Array;
}

/** The series the chart draws: tag-filtered, smoothed with TensorBoard's debiased EMA. */
export function exportedSeries(runs: RunSnapshot[], options: ExportOptions): ExportedSeries[] {
  const out: ExportedSeries[] = [];
  for (const run of runs) {
    const epochSeries = run.series.find((s) => s.tag === 'train/epoch');
    for (const series of run.series) {
      if (options.tagPattern && !options.tagPattern.test(series.tag)) continue;
      out.push({
        run: run.name,
        folder: run.folder,
        tag: series.tag,
        source: series.kind,
        steps: series.steps,
        values: series.values,
        smoothed: smoothDebiasedEma(series.values, options.smoothing),
        wallTimes: series.wallTimes,
        epochs: epochsAt(series.steps, epochSeries?.steps, epochSeries?.values),
      });
    }
  }
  return out;
}

/** A number as CSV shows it: NaN and infinities spelled out, others in shortest round-trip form. */
function csvNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Long-format CSV of every run and tag: run,tag,step,epoch,wall_time,value,smoothed. */
export function toCsv(series: ExportedSeries[]): string {
  const lines = ['run,tag,step,epoch,wall_time,value,smoothed'];
  for (const s of series) {
    const prefix = `${csvCell(s.run)},${csvCell(s.tag)},`;
    for (let i = 0; i < s.steps.length; i++) {
      const epoch = Number.isNaN(s.epochs[i]) ? '' : String(Math.round(s.epochs[i] * 1e6) / 1e6);
      const wall = Number.isNaN(s.wallTimes[i]) ? '' : String(s.wallTimes[i]);
      lines.push(`${prefix}${s.steps[i]},${epoch},${wall},${csvNumber(s.values[i])},${csvNumber(s.smoothed[i])}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** JSON cannot hold NaN or infinities: they become the strings "NaN", "Infinity", "-Infinity". */
function jsonNumber(value: number): number | string | null {
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

export function toJson(runs: RunSnapshot[], series: ExportedSeries[]): unknown {
  return {
    runs: runs.map((run) => ({
      name: run.name,
      folder: run.folder,
      resumes: run.resumes.map((r) => ({ step: r.step, replacedPoints: r.replaced, tag: r.tag })),
      metadata: { summary: run.metadata.summary, hparams: run.metadata.hparams, textTags: Object.keys(run.metadata.text) },
      warnings: run.warnings.map((w) => `${w.file}: ${w.message}`),
      series: series
        .filter((s) => s.folder === run.folder)
        .map((s) => ({
          tag: s.tag,
          source: s.source,
          points: Array.from(s.steps, (step, i) => ({
            step,
            value: jsonNumber(s.values[i]),
            smoothed: jsonNumber(s.smoothed[i]),
            ...(Number.isNaN(s.wallTimes[i]) ? {} : { wallTime: s.wallTimes[i] }),
            ...(Number.isNaN(s.epochs[i]) ? {} : { epoch: Math.round(s.epochs[i] * 1e6) / 1e6 }),
          })),
        })),
    })),
  };
}

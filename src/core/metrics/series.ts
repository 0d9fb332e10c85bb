import type { ScalarSink } from './types';

/** One tag's points, columnar. Steps ascend strictly: a repeated step replaces, an earlier step truncates. */
export class SeriesColumns {
  steps: Float64Array;
  values: Float64Array;
  wallTimes: Float64Array;
  length = 0;

  constructor(readonly tag: string, capacity = 64) {
    this.steps = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.wallTimes = new Float64Array(capacity);
  }

  get lastStep(): number {
    return this.length ? this.steps[this.length - 1] : -Infinity;
  }

  /** Index of the first point whose step is >= step. */
  lowerBound(step: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.steps[mid] < step) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Room for `more` points after the current ones. */
  reserve(more: number): void {
    while (this.length + more > this.steps.length) this.grow();
  }

  push(step: number, value: number, wallTime: number): void {
    const n = this.length;
    if (n === this.steps.length) this.grow();
    this.steps[n] = step;
    this.values[n] = value;
    this.wallTimes[n] = wallTime;
    this.length = n + 1;
  }

  private grow(): void {
    // Four times while below a million points: a 1M-point file then copies a third of what doubling copies, and
    // fresh typed-array memory (zeroed, page-faulted on first write) is most of what growing costs.
    const capacity = this.steps.length * (this.steps.length < 1 << 20 ? 4 : 2);
    this.steps = grown(this.steps, capacity);
    this.values = grown(this.values, capacity);
    this.wallTimes = grown(this.wallTimes, capacity);
  }

  toPoints(): { step: number; value: number; wallTime: number }[] {
    const points = [];
    for (let i = 0; i < this.length; i++) points.push({ step: this.steps[i], value: this.values[i], wallTime: this.wallTimes[i] });
    return points;
  }
}

function grown(array: Float64Array, capacity: number): Float64Array {
  const next = new Float64Array(capacity);
  next.set(array);
  return next;
}

/** A resume: the training restarted from a checkpoint, so the steps from `step` on were logged again. */
export interface ResumeMark {
  step: number;
  /** Points of earlier logging that the newer ones replaced (the tag that showed it first). */
  replaced: number;
  tag: string;
}

/**
 * The scalars of one source kind of a run (all its event files in order, or its logs), keeping the newest point
 * per step: when a tag's step goes backwards the training was resumed from a checkpoint; the older points from that
 * step on are dropped and the resume is recorded.
 */
export class SeriesStore implements ScalarSink {
  readonly series = new Map<string, SeriesColumns>();
  readonly resumes: ResumeMark[] = [];
  /** Bumped on every change, so views can tell whether to redraw. */
  version = 0;
  private lastTag = '';
  private lastSeries: SeriesColumns | undefined;

  add(tag: string, step: number, value: number, wallTime: number): void {
    const series = this.seriesOf(tag);
    this.version++;
    const n = series.length;
    if (n === 0 || step > series.steps[n - 1]) {
      series.push(step, value, wallTime);
      return;
    }
    if (step === series.steps[n - 1]) {
      // Same step logged again (HF logs `epoch` with both the train and the eval dict): the newest wins.
      series.values[n - 1] = value;
      series.wallTimes[n - 1] = wallTime;
      return;
    }
    const from = series.lowerBound(step);
    if (!this.resumes.some((r) => r.step === step)) this.resumes.push({ step, replaced: n - from, tag });
    series.length = from;
    series.push(step, value, wallTime);
  }

  appendRun(tag: string, steps: Float64Array, wallTimes: Float64Array, from: number, count: number, values: Float64Array, valueOffset: number, valueStride: number): boolean {
    const series = this.seriesOf(tag);
    const n = series.length;
    if (count <= 0) return true;
    if (n > 0 && !(steps[from]! > series.steps[n - 1]!)) return false;
    series.reserve(count);
    series.steps.set(steps.subarray(from, from + count), n);
    series.wallTimes.set(wallTimes.subarray(from, from + count), n);
    const target = series.values;
    for (let k = 0; k < count; k++) target[n + k] = values[valueOffset + k * valueStride]!;
    series.length = n + count;
    this.version += count;
    return true;
  }

  /** The tag's series (made on first use), through a one-entry cache: points mostly come tag after same tag. */
  private seriesOf(tag: string): SeriesColumns {
    if (tag === this.lastTag && this.lastSeries) return this.lastSeries;
    let series = this.series.get(tag);
    if (!series) {
      series = new SeriesColumns(tag);
      this.series.set(tag, series);
    }
    this.lastTag = tag;
    this.lastSeries = series;
    return series;
  }

  clear(): void {
    this.series.clear();
    this.resumes.length = 0;
    this.lastTag = '';
    this.lastSeries = undefined;
    this.version++;
  }
}

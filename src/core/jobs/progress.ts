/** Training progress read from a job's log: tqdm bars (`k/N [elapsed<eta, rate]`) and the Trainer's log dicts. */
export interface Progress {
  step?: number;
  total?: number;
  /** Seconds, as tqdm printed them. */
  elapsedS?: number;
  etaS?: number;
  /** The last Trainer log dict with numeric values, e.g. {loss: 5.56, learning_rate: 0.0005, epoch: 0.02}. */
  lastMetrics?: Record<string, number>;
  /** The last eval dict (keys starting with eval_). */
  lastEval?: Record<string, number>;
  /** The end-of-training summary dict (train_runtime, train_loss, ...). */
  summary?: Record<string, number>;
}

/** `04:32`, `1:02:03`, `?` → seconds. */
export function parseClock(text: string): number | undefined {
  if (!/^\d+(:\d+){1,2}$/.test(text)) return undefined;
  return text.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

/** ANSI CSI sequences such as tqdm's cursor-up `ESC[A`. */
// eslint-disable-next-line no-control-regex -- matching the escape character is the point
const ansiEscape = /\x1b\[[0-9;]*[A-Za-z]/g;

const tqdmBar = /(\d+)\/(\d+) \[(\d+(?::\d+){1,2})<(\d+(?::\d+){1,2}|\?)/;

/**
 * A Python dict literal as printed by the HF Trainer: transformers 4 prints numbers (`{'loss': 1.07, 'grad_norm': nan}`),
 * transformers 5 prints strings (`{'loss': '5.56'}`). Returns the numeric entries, or undefined for any other line.
 */
export function parseLogDict(line: string): Record<string, number> | undefined {
  const text = line.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  const entry = /'([^']+)':\s*(?:'([^']*)'|([-+0-9.eE]+|nan|inf|-inf|NaN|Infinity|-Infinity))\s*(?:,|$)/g;
  const body = text.slice(1, -1);
  const values: Record<string, number> = {};
  let count = 0;
  for (const m of body.matchAll(entry)) {
    count++;
    const raw = (m[2] ?? m[3]).trim();
    const n = /^[-+]?inf(inity)?$/i.test(raw) ? (raw.startsWith('-') ? -Infinity : Infinity) : /^nan$/i.test(raw) ? NaN : Number(raw);
    // Strings that are not numbers (e.g. a run name) are not metrics.
    if (raw !== '' && (!Number.isNaN(n) || /^nan$/i.test(raw))) values[m[1]] = n;
  }
  return count > 0 ? values : undefined;
}

/**
 * Feeds log text in any chunking; tqdm redraws with `\r`, so both `\r` and `\n` end a segment. Nested bars
 * (the evaluation bar, drawn with the cursor-up escape `ESC[A`) and bars of a different total than the
 * training bar are not taken for the training step.
 */
export class ProgressTracker {
  private partial = '';
  readonly progress: Progress = {};

  push(chunk: string): boolean {
    const text = this.partial + chunk;
    const segments = text.split(/\r|\n/);
    this.partial = segments.pop() ?? '';
    let changed = false;
    for (const segment of segments) changed = this.segment(segment) || changed;
    // A bar line is often not terminated until the next redraw; read it now so the view is not one step behind.
    if (this.partial.length > 0 && this.partial.length < 4096 && tqdmBar.test(this.partial)) changed = this.segment(this.partial, true) || changed;
    return changed;
  }

  private segment(segment: string, provisional = false): boolean {
    // tqdm's cursor-up escape can share a segment with the next print (seen on the H100 acceptance run).
    const dict = provisional ? undefined : parseLogDict(segment.replace(ansiEscape, ''));
    if (dict) {
      const keys = Object.keys(dict);
      if (keys.some((k) => k.startsWith('eval_'))) this.progress.lastEval = dict;
      else if (keys.some((k) => k.startsWith('train_'))) this.progress.summary = dict;
      else this.progress.lastMetrics = dict;
      return true;
    }
    if (segment.includes('\x1b[A') || segment.endsWith('[A')) return false;
    const m = tqdmBar.exec(segment);
    if (!m) return false;
    const step = Number(m[1]);
    const total = Number(m[2]);
    // The training bar is the first bar seen; a different total is a nested (eval/predict) bar.
    if (this.progress.total !== undefined && total !== this.progress.total && total < this.progress.total) return false;
    this.progress.step = step;
    this.progress.total = total;
    this.progress.elapsedS = parseClock(m[3]);
    this.progress.etaS = m[4] === '?' ? undefined : parseClock(m[4]);
    return true;
  }
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export function formatProgress(p: Progress): string {
  if (p.step === undefined || p.total === undefined) return '';
  return `step ${p.step}/${p.total}${p.etaS !== undefined ? `, ETA ${formatDuration(p.etaS)}` : ''}`;
}

import { hfTag, nonMetricKeys, parseNumber, summaryKey } from './tags';
import type { ParseOutput, ScalarSink, StreamParser } from './types';

/** What helps place a log dict without a step on the step axis. */
export interface StepHints {
  /** `logging_steps` of the run (trainer_state.json or the launch script). */
  loggingSteps?: number;
  /** Optimizer steps per epoch (trainer_state.json: global_step / epoch). */
  stepsPerEpoch?: number;
}

/** A Python dict literal as the Trainer prints it: `{'loss': 1.0778, 'grad_norm': nan}` or `{'loss': '5.56'}` (v5). */
const entryPattern = /(['"])((?:(?!\1)[^\\]|\\.)*)\1\s*:\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|tensor\([^)]*\)|[^,}]+)/g;

export function parsePythonDict(text: string): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  let any = false;
  for (const match of text.matchAll(entryPattern)) {
    let raw = match[3].trim();
    if (raw.startsWith('tensor(')) raw = raw.slice(7).split(/[,)]/)[0];
    else if ((raw.startsWith("'") && raw.endsWith("'")) || (raw.startsWith('"') && raw.endsWith('"'))) raw = raw.slice(1, -1);
    const value = parseNumber(raw);
    if (value === undefined) continue;
    out[match[2]] = value;
    any = true;
  }
  return any ? out : undefined;
}

/** tqdm's `| 485/1200 [` counter; the eval bar of the Trainer is drawn one line down and carries ESC[A. */
const barPattern = /\|\s*(\d+)\/(\d+)\s*\[/;

/**
 * HF Trainer stdout/stderr (also LLaMA-Factory and most scripts built on the Trainer). Lines are split on
 * `\n` and on tqdm's carriage returns. A dict without a step is placed by, in order: its epoch and the run's
 * steps per epoch; the training progress bar printed next to it (combined logs); the order of the dicts times
 * `logging_steps`.
 */
export class HfLogParser implements StreamParser {
  private readonly decoder = new TextDecoder('utf-8');
  private tail = '';
  private line = 0;
  private lastTrainStep = 0;
  private barStep: number | undefined;
  private trainDicts = 0;

  constructor(
    readonly file: string,
    readonly hints: StepHints = {},
  ) {}

  push(chunk: Uint8Array, sink: ScalarSink): ParseOutput {
    const text = this.tail + this.decoder.decode(chunk, { stream: true });
    const out: ParseOutput = { warnings: [] };
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) {
        if (c === 10) this.line++;
        this.segment(text.slice(start, i), sink, out);
        start = i + 1;
      }
    }
    this.tail = text.slice(start);
    return out;
  }

  end(sink: ScalarSink): ParseOutput {
    const out: ParseOutput = { warnings: [] };
    const rest = this.tail + this.decoder.decode();
    this.tail = '';
    // A last line without a newline is complete only when the file ended for good.
    if (rest) this.segment(rest, sink, out);
    return out;
  }

  private segment(segment: string, sink: ScalarSink, out: ParseOutput): void {
    const brace = segment.indexOf('{');
    if (brace < 0 || !segment.includes('}', brace)) {
      if (!segment.includes('\x1b[')) {
        const bar = barPattern.exec(segment);
        if (bar) this.barStep = Number(bar[1]);
      }
      return;
    }
    const dict = parsePythonDict(segment.slice(brace, segment.lastIndexOf('}') + 1));
    if (!dict) return;
    if (Object.keys(dict).some((k) => summaryKey(k))) {
      out.summary ??= {};
      for (const [key, value] of Object.entries(dict)) if (summaryKey(key)) out.summary[key] = value;
      return;
    }
    const isEval = Object.keys(dict).some((k) => k.startsWith('eval_'));
    const step = this.stepOf(dict, isEval);
    for (const [key, value] of Object.entries(dict)) {
      if (nonMetricKeys.has(key)) continue;
      sink.add(hfTag(key), step, value, NaN);
    }
  }

  private stepOf(dict: Record<string, number>, isEval: boolean): number {
    const logging = this.hints.loggingSteps && this.hints.loggingSteps > 0 ? this.hints.loggingSteps : 1;
    const explicit = dict.step ?? dict.global_step;
    let step: number;
    if (explicit !== undefined && Number.isFinite(explicit)) step = explicit;
    else if (isEval && this.trainDicts > 0) step = this.lastTrainStep;
    else {
      const expected = this.trainDicts === 0 ? logging : this.lastTrainStep + logging;
      const spe = this.hints.stepsPerEpoch;
      const epoch = dict.epoch;
      if (spe && spe > 0 && epoch !== undefined && Number.isFinite(epoch)) {
        const fromEpoch = epoch * spe;
        // The printed epoch is rounded to 2 decimals: it places a dict within 0.005 epochs.
        const slack = 0.0051 * spe + logging / 2;
        step = Math.abs(fromEpoch - expected) <= slack ? expected : Math.max(logging, Math.round(fromEpoch / logging) * logging);
      } else if (this.barStep !== undefined) {
        const fromBar = Math.ceil(this.barStep / logging) * logging;
        step = fromBar >= expected - logging ? Math.max(fromBar, expected) : expected;
      } else step = expected;
    }
    if (!isEval) {
      this.lastTrainStep = step;
      this.trainDicts++;
    }
    return step;
  }
}

import type { StepHints } from './hfLog';
import { hfTag, nonMetricKeys, parseNumber, summaryKey } from './tags';
import type { ParseOutput, ScalarSink, StreamParser } from './types';

export interface TrainerStateInfo extends StepHints {
  globalStep?: number;
  maxSteps?: number;
}

/** Step hints from a parsed trainer_state.json. */
export function trainerStateInfo(state: unknown): TrainerStateInfo {
  if (!state || typeof state !== 'object') return {};
  const s = state as Record<string, unknown>;
  const info: TrainerStateInfo = {};
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  info.loggingSteps = num(s.logging_steps);
  info.globalStep = num(s.global_step);
  info.maxSteps = num(s.max_steps);
  const epoch = num(s.epoch);
  if (info.globalStep && epoch && epoch > 0) info.stepsPerEpoch = info.globalStep / epoch;
  return info;
}

/**
 * `trainer_state.json`: the Trainer rewrites it whole at every checkpoint, so it is parsed when complete
 * (on end()). Each `log_history` entry has its `step`; keys become the same tags the event file uses.
 */
export class TrainerStateParser implements StreamParser {
  private readonly decoder = new TextDecoder('utf-8');
  private text = '';
  info: TrainerStateInfo = {};

  constructor(private readonly file: string) {}

  push(chunk: Uint8Array): ParseOutput {
    this.text += this.decoder.decode(chunk, { stream: true });
    return { warnings: [] };
  }

  end(sink: ScalarSink): ParseOutput {
    this.text += this.decoder.decode();
    const out: ParseOutput = { warnings: [] };
    let state: unknown;
    try {
      // Python's json writes NaN/Infinity bare; JSON.parse does not accept them, so quote them first.
      state = JSON.parse(this.text.replace(/(:\s*)(-?Infinity|NaN)(\s*[,}\n])/g, '$1"$2"$3'));
    } catch (error) {
      out.warnings.push({ file: this.file, message: `not valid JSON (${(error as Error).message}); the Trainer may be rewriting it, it is read again when it changes` });
      return out;
    }
    this.info = trainerStateInfo(state);
    const history = (state as { log_history?: unknown }).log_history;
    if (!Array.isArray(history)) {
      out.warnings.push({ file: this.file, message: 'has no log_history array; is this a trainer_state.json?' });
      return out;
    }
    history.forEach((entry, index) => {
      if (!entry || typeof entry !== 'object') return;
      const record = entry as Record<string, unknown>;
      const step = parseNumber(record.step);
      if (step === undefined) {
        out.warnings.push({ file: this.file, message: `log_history[${index}] has no step; skipped` });
        return;
      }
      const isSummary = Object.keys(record).some((k) => summaryKey(k));
      for (const [key, raw] of Object.entries(record)) {
        if (nonMetricKeys.has(key)) continue;
        const value = parseNumber(raw);
        if (value === undefined) continue;
        const summary = summaryKey(key);
        if (summary) {
          out.summary ??= {};
          out.summary[summary] = value;
        } else if (!isSummary) sink.add(hfTag(key), step, value, NaN);
      }
    });
    return out;
  }
}

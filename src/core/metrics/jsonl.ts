import { hfTag, nonMetricKeys, parseNumber } from './tags';
import type { ParseOutput, ScalarSink, StreamParser } from './types';

/** LLaMA-Factory's names for what the Trainer calls `learning_rate`. */
const aliases: Record<string, string> = { lr: 'learning_rate' };
const stepKeys = ['step', 'global_step', 'current_steps', '_step', 'iteration', 'iter'];
const timeKeys = ['_timestamp', 'timestamp', 'wall_time', 'walltime', 'time'];

/**
 * JSONL metrics, one object per line: LLaMA-Factory's `trainer_log.jsonl` (`current_steps`, `loss`, `lr`,
 * `eval_loss`, nulls for what a line lacks), W&B-style (`_step`, `_timestamp`) and generic `{"step":..,"loss":..}`.
 */
export class JsonlMetricsParser implements StreamParser {
  private readonly decoder = new TextDecoder('utf-8');
  private tail = '';
  private line = 0;
  private order = 0;
  /** What each key is (step, time, metric with its tag), decided once per key. */
  private readonly kinds = new Map<string, KeyKind>();
  private readonly lineTags: string[] = [];
  private readonly lineValues: number[] = [];

  constructor(private readonly file: string) {}

  push(chunk: Uint8Array, sink: ScalarSink): ParseOutput {
    const text = this.tail + this.decoder.decode(chunk, { stream: true });
    const out: ParseOutput = { warnings: [] };
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf('\n', start)) >= 0) {
      this.line++;
      this.parseLine(text.slice(start, newline), sink, out);
      start = newline + 1;
    }
    this.tail = text.slice(start);
    return out;
  }

  end(sink: ScalarSink): ParseOutput {
    const out: ParseOutput = { warnings: [] };
    const rest = this.tail + this.decoder.decode();
    this.tail = '';
    if (rest.trim()) {
      this.line++;
      this.parseLine(rest, sink, out);
    }
    return out;
  }

  private parseLine(line: string, sink: ScalarSink, out: ParseOutput): void {
    const text = line.charCodeAt(0) === 123 /* { */ ? line : line.trim();
    if (!text) return;
    let object: unknown;
    try {
      // Python's json writes bare NaN/Infinity, which JSON.parse rejects: quote them (only when present; this is hot).
      object = JSON.parse(text.includes('NaN') || text.includes('Infinity') ? text.replace(/(:\s*)(-?Infinity|NaN)(\s*[,}])/g, '$1"$2"$3') : text);
    } catch (error) {
      out.warnings.push({ file: this.file, line: this.line, message: `line ${this.line} is not valid JSON (${(error as Error).message}); skipped` });
      return;
    }
    if (!object || typeof object !== 'object' || Array.isArray(object)) return;
    const record = object as Record<string, unknown>;
    this.order++;
    // One pass over the keys, each classified once per file (this loop runs a million times on big logs).
    let step = this.order;
    let stepRank = Infinity;
    let wallTime = NaN;
    let timeRank = Infinity;
    let count = 0;
    for (const key in record) {
      let kind = this.kinds.get(key);
      if (kind === undefined) {
        kind = classifyKey(key);
        this.kinds.set(key, kind);
      }
      const raw = record[key];
      if (kind.role === 'skip') continue;
      const value = typeof raw === 'number' ? raw : raw === null || typeof raw === 'object' || typeof raw === 'boolean' ? undefined : parseNumber(raw);
      if (value === undefined) continue;
      if (kind.role === 'step') {
        if (kind.rank < stepRank && Number.isFinite(value)) {
          step = value;
          stepRank = kind.rank;
        }
      } else if (kind.role === 'time') {
        if (kind.rank < timeRank && typeof raw === 'number' && Number.isFinite(value)) {
          wallTime = value > 1e11 ? value / 1000 : value;
          timeRank = kind.rank;
        }
      } else {
        this.lineTags[count] = kind.tag;
        this.lineValues[count] = value;
        count++;
      }
    }
    for (let i = 0; i < count; i++) sink.add(this.lineTags[i], step, this.lineValues[i], wallTime);
  }
}

type KeyKind = { role: 'step'; rank: number } | { role: 'time'; rank: number } | { role: 'skip' } | { role: 'metric'; tag: string };

function classifyKey(key: string): KeyKind {
  if (stepKeys.includes(key)) return { role: 'step', rank: stepKeys.indexOf(key) };
  if (timeKeys.includes(key)) return { role: 'time', rank: timeKeys.indexOf(key) };
  if (nonMetricKeys.has(key)) return { role: 'skip' };
  return { role: 'metric', tag: hfTag(aliases[key] ?? key) };
}

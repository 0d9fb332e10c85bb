import { hfTag, nonMetricKeys, parseNumber } from './tags';
import type { ParseOutput, ScalarSink, StreamParser } from './types';

/** LLaMA-Factory's names for what the Trainer calls `learning_rate`. */
const aliases: Record<string, string> = { lr: 'learning_rate' };
const stepKeys = ['step', 'global_step', 'current_steps', '_step', 'iteration', 'iter'];
const timeKeys = ['_timestamp', 'timestamp', 'wall_time', 'walltime', 'time'];
const skippedKeys = new Set([...nonMetricKeys, ...stepKeys, ...timeKeys]);

/**
 * JSONL metrics, one object per line: LLaMA-Factory's `trainer_log.jsonl` (`current_steps`, `loss`, `lr`,
 * `eval_loss`, nulls for what a line lacks), W&B-style (`_step`, `_timestamp`) and generic `{"step":..,"loss":..}`.
 */
export class JsonlMetricsParser implements StreamParser {
  private readonly decoder = new TextDecoder('utf-8');
  private tail = '';
  private line = 0;
  private order = 0;
  /** Key → tag, computed once per key (a million lines repeat the same few keys). */
  private readonly tags = new Map<string, string>();

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
    const text = line.trim();
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
    let step = this.order;
    for (const key of stepKeys) {
      const value = parseNumber(record[key]);
      if (value !== undefined && Number.isFinite(value)) {
        step = value;
        break;
      }
    }
    let wallTime = NaN;
    for (const key of timeKeys) {
      const value = record[key];
      if (typeof value === 'number' && Number.isFinite(value)) {
        wallTime = value > 1e11 ? value / 1000 : value;
        break;
      }
    }
    for (const key in record) {
      if (skippedKeys.has(key)) continue;
      const raw = record[key];
      const value = typeof raw === 'number' ? raw : raw === null || typeof raw === 'object' || typeof raw === 'boolean' ? undefined : parseNumber(raw);
      if (value === undefined) continue;
      let tag = this.tags.get(key);
      if (tag === undefined) {
        tag = hfTag(aliases[key] ?? key);
        this.tags.set(key, tag);
      }
      sink.add(tag, step, value, wallTime);
    }
  }
}

import { hfTag, parseNumber } from './tags';
import type { ParseOutput, ScalarSink, StreamParser } from './types';

/** Splits one CSV line (RFC 4180 quoting). */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

/** The tag of a TensorBoard CSV download named like `run-foo-tag-train_loss.csv`, else the file's base name. */
export function tagFromCsvName(file: string): string {
  const base = file.replace(/^.*[\\/]/, '').replace(/\.csv$/i, '');
  const tagged = /-tag-(.+)$/.exec(base);
  return tagged ? tagged[1] : base;
}

type Layout =
  | { kind: 'tensorboard'; wall: number; step: number; value: number; tag: string }
  | { kind: 'wide'; step: number; wall: number; columns: { index: number; tag: string }[] };

/**
 * CSV exported by TensorBoard (`Wall time,Step,Value`, one tag per file) or W&B (`Step,<run> - loss,
 * <run> - loss__MIN,<run> - loss__MAX`), or any table with a step column and numeric columns.
 */
export class CsvMetricsParser implements StreamParser {
  private readonly decoder = new TextDecoder('utf-8');
  private tail = '';
  private line = 0;
  private layout: Layout | undefined;

  constructor(private readonly file: string) {}

  push(chunk: Uint8Array, sink: ScalarSink): ParseOutput {
    const text = this.tail + this.decoder.decode(chunk, { stream: true });
    const out: ParseOutput = { warnings: [] };
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf('\n', start)) >= 0) {
      this.parseLine(text.slice(start, newline).replace(/\r$/, ''), sink, out);
      start = newline + 1;
    }
    this.tail = text.slice(start);
    return out;
  }

  end(sink: ScalarSink): ParseOutput {
    const out: ParseOutput = { warnings: [] };
    const rest = this.tail + this.decoder.decode();
    this.tail = '';
    if (rest.trim()) this.parseLine(rest.replace(/\r$/, ''), sink, out);
    return out;
  }

  private parseLine(line: string, sink: ScalarSink, out: ParseOutput): void {
    this.line++;
    if (!line.trim()) return;
    const cells = splitCsvLine(line);
    if (!this.layout) {
      this.layout = this.readHeader(cells.map((c) => c.trim()));
      if (!this.layout) out.warnings.push({ file: this.file, line: this.line, message: 'no step column (Step, step, _step or global_step) in the CSV header; file skipped' });
      return;
    }
    const layout = this.layout;
    const step = parseNumber(cells[layout.step]);
    if (step === undefined) {
      out.warnings.push({ file: this.file, line: this.line, message: `line ${this.line}: step '${cells[layout.step] ?? ''}' is not a number; skipped` });
      return;
    }
    const wall = layout.wall >= 0 ? (parseNumber(cells[layout.wall]) ?? NaN) : NaN;
    if (layout.kind === 'tensorboard') {
      const value = parseNumber(cells[layout.value]);
      if (value !== undefined) sink.add(layout.tag, step, value, wall);
      return;
    }
    for (const column of layout.columns) {
      const value = parseNumber(cells[column.index]);
      if (value !== undefined) sink.add(column.tag, step, value, wall);
    }
  }

  private readHeader(header: string[]): Layout | undefined {
    const lower = header.map((h) => h.toLowerCase());
    const step = lower.findIndex((h) => h === 'step' || h === '_step' || h === 'global_step' || h === 'trainer/global_step');
    if (step < 0) return undefined;
    const wall = lower.findIndex((h) => h === 'wall time' || h === 'wall_time' || h === '_timestamp');
    const value = lower.indexOf('value');
    if (value >= 0 && header.length <= 3) return { kind: 'tensorboard', wall, step, value, tag: tagFromCsvName(this.file) };
    const columns: { index: number; tag: string }[] = [];
    header.forEach((name, index) => {
      if (index === step || index === wall || /__(MIN|MAX)$/.test(name) || lower[index] === '_runtime') return;
      // W&B prefixes each column with the run name: "<run> - train/loss".
      const dash = name.lastIndexOf(' - ');
      const metric = dash >= 0 ? name.slice(dash + 3) : name;
      columns.push({ index, tag: hfTag(metric) });
    });
    return { kind: 'wide', step, wall, columns };
  }
}

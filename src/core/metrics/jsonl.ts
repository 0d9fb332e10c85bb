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
  /** Bytes of an unfinished last line, kept until its newline arrives. */
  private carry: Uint8Array | undefined;
  /** Bytes of the file read before the carry (a BOM is only skipped at byte 0). */
  private consumed = 0;
  private line = 0;
  private order = 0;
  /** What each key is (step, time, metric with its tag), decided once per key. */
  private readonly kinds = new Map<string, KeyKind>();
  private readonly lineTags: string[] = [];
  private readonly lineValues: number[] = [];
  private readonly scanner = new FlatLineScanner();
  private readonly kindAt: KeyKind[] = [];
  private readonly kindKeyAt: string[] = [];
  private readonly fallbackDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

  /** `options.scan: false` sends every line through JSON.parse (the reference the scanner is tested against). */
  constructor(
    private readonly file: string,
    private readonly options: { scan?: boolean } = {},
  ) {}

  push(chunk: Uint8Array, sink: ScalarSink): ParseOutput {
    const out: ParseOutput = { warnings: [] };
    let bytes = chunk;
    let base = this.consumed;
    if (this.carry) {
      bytes = new Uint8Array(this.carry.length + chunk.length);
      bytes.set(this.carry, 0);
      bytes.set(chunk, this.carry.length);
      this.carry = undefined;
    }
    // One char per byte: offsets in the text are byte offsets; the scanner rejects any char >= 0x80.
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf('\n', start)) >= 0) {
      this.line++;
      this.lineBytes(bytes, text, start, newline, base + start === 0, sink, out);
      start = newline + 1;
    }
    base += start;
    this.consumed = base;
    // The carry must be a copy: the caller reuses its read buffer, and Buffer#slice (unlike Uint8Array#slice)
    // returns a view into it.
    if (start < bytes.length) this.carry = new Uint8Array(bytes.subarray(start));
    return out;
  }

  end(sink: ScalarSink): ParseOutput {
    const out: ParseOutput = { warnings: [] };
    const rest = this.carry;
    this.carry = undefined;
    if (rest && this.decodeLine(rest, 0, rest.length, this.consumed === 0).trim()) {
      this.line++;
      this.lineBytes(rest, Buffer.from(rest.buffer, rest.byteOffset, rest.length).toString('latin1'), 0, rest.length, this.consumed === 0, sink, out);
    }
    this.consumed += rest?.length ?? 0;
    return out;
  }

  /** One line of bytes: the flat shapes are scanned in place; anything else is decoded and goes through JSON.parse. */
  private lineBytes(bytes: Uint8Array, text: string, start: number, end: number, atFileStart: boolean, sink: ScalarSink, out: ParseOutput): void {
    const scan = this.scanner;
    if (this.options.scan !== false && scan.scan(text, start, end)) {
      this.emit(scan, sink);
      return;
    }
    this.parseLine(this.decodeLine(bytes, start, end, atFileStart), sink, out);
  }

  private decodeLine(bytes: Uint8Array, start: number, end: number, atFileStart: boolean): string {
    // TextDecoder drops a BOM only at the start of the stream, as the file-wide decoder did.
    if (atFileStart && end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf) start += 3;
    return this.fallbackDecoder.decode(bytes.subarray(start, end));
  }

  /** The same per-key rules as parseLine, for a line the scanner understood. */
  private emit(scan: FlatLineScanner, sink: ScalarSink): void {
    this.order++;
    let step = this.order;
    let stepRank = Infinity;
    let wallTime = NaN;
    let timeRank = Infinity;
    let count = 0;
    for (let i = 0; i < scan.count; i++) {
      // The scanner reuses a position's key string while lines repeat it: so is its kind.
      let kind = this.kindAt[i];
      const key = scan.keys[i];
      if (this.kindKeyAt[i] !== key) {
        let known = this.kinds.get(key);
        if (known === undefined) {
          known = classifyKey(key);
          this.kinds.set(key, known);
        }
        kind = this.kindAt[i] = known;
        this.kindKeyAt[i] = key;
      }
      if (kind.role === 'skip') continue;
      const type = scan.types[i];
      if (type === valueOther) continue;
      const value = type === valueNumber ? scan.numbers[i] : parseNumber(scan.strings[i]);
      if (value === undefined) continue;
      if (kind.role === 'step') {
        if (kind.rank < stepRank && Number.isFinite(value)) {
          step = value;
          stepRank = kind.rank;
        }
      } else if (kind.role === 'time') {
        if (kind.rank < timeRank && type === valueNumber && Number.isFinite(value)) {
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

/** A JSON number value. */
const valueNumber = 0;
/** A string value, or a bare NaN/Infinity/-Infinity as Python's json writes them (parseLine quotes those). */
const valueString = 1;
/** null, true or false: never a metric. */
const valueOther = 2;

const isSpace = (b: number) => b === 32 || b === 9 || b === 13 || b === 10;
const isDigit = (b: number) => b >= 48 && b <= 57;

const hasPythonSpecial = (text: string) => text.includes('NaN') || text.includes('Infinity');


/**
 * Scans one line that is a flat JSON object — `{"step": 12, "loss": 1.5, "lr": "1e-4", "x": null}` — without
 * JSON.parse: keys without escapes, values that are numbers, strings without escapes, null/true/false or
 * Python's bare NaN/Infinity. Anything else (nesting, escapes, non-ASCII, duplicate or integer-like keys, whose
 * order JSON.parse changes, or invalid JSON) makes scan() return false, and the caller uses JSON.parse. Numbers are
 * converted with Number() on exactly the JSON number text (integers up to 15 digits are summed, which is exact).
 */
export class FlatLineScanner {
  count = 0;
  readonly keys: string[] = [];
  readonly types: number[] = [];
  readonly numbers: number[] = [];
  readonly strings: string[] = [];
  /** Positions of `keys` holding a key of an earlier line (lines of one log repeat their keys: no new strings). */
  private known = 0;

  scan(t: string, start: number, end: number): boolean {
    let i = start;
    while (i < end && isSpace(t.charCodeAt(i))) i++;
    if (i >= end || t.charCodeAt(i) !== 123 /* { */) return false;
    i++;
    this.count = 0;
    while (i < end && isSpace(t.charCodeAt(i))) i++;
    if (t.charCodeAt(i) === 125 /* } */) return this.finish(t, i + 1, end);
    for (;;) {
      // "key"
      if (t.charCodeAt(i) !== 34) return false;
      const keyStart = ++i;
      const n = this.count;
      let key: string | undefined;
      const previous = this.keys[n];
      // Lines of one log repeat their keys: a match with the previous line's key at this position skips the scan.
      if (n < this.known && t.startsWith(previous, keyStart) && t.charCodeAt(keyStart + previous.length) === 34 && keyStart + previous.length < end) {
        key = previous;
        i = keyStart + previous.length + 1;
        for (let k = 0; k < n; k++) if (this.keys[k] === key) return false;
      } else {
        for (;;) {
          if (i >= end) return false;
          const c = t.charCodeAt(i);
          if (c === 34) break;
          if (c === 92 || c >= 0x80 || c < 0x20) return false;
          i++;
        }
        key = this.key(t, keyStart, i, n);
        i++;
        if (key === undefined) return false;
      }
      while (i < end && isSpace(t.charCodeAt(i))) i++;
      if (t.charCodeAt(i) !== 58 /* : */) return false;
      i++;
      while (i < end && isSpace(t.charCodeAt(i))) i++;
      if (i >= end) return false;
      const c = t.charCodeAt(i);
      if (c === 34) {
        const valueStart = ++i;
        for (;;) {
          if (i >= end) return false;
          const ch = t.charCodeAt(i);
          if (ch === 34) break;
          if (ch === 92 || ch >= 0x80 || ch < 0x20) return false;
          i++;
        }
        const text = t.slice(valueStart, i);
        // parseLine quotes bare NaN/Infinity with a regex that also reaches into strings: those lines go its way.
        if (hasPythonSpecial(text)) return false;
        this.types[n] = valueString;
        this.strings[n] = text;
        i++;
      } else if (c === 45 /* - */ || isDigit(c)) {
        const numberStart = i;
        let negative = false;
        if (c === 45) {
          negative = true;
          i++;
          // -Infinity, bare
          if (t.charCodeAt(i) === 73 /* I */) {
            if (!this.word(t, i, end, 'Infinity')) return false;
            i += 8;
            this.types[n] = valueString;
            this.strings[n] = '-Infinity';
            if (!this.valueEnds(t, i, end)) return false;
            this.count = n + 1;
            i = this.afterValue;
            if (this.done) return this.finish(t, i, end);
            continue;
          }
        }
        if (!isDigit(t.charCodeAt(i))) return false;
        let integer = 0;
        let digits = 0;
        if (t.charCodeAt(i) === 48) {
          i++;
          digits = 1;
        } else {
          while (i < end && isDigit(t.charCodeAt(i))) {
            integer = integer * 10 + (t.charCodeAt(i) - 48);
            digits++;
            i++;
          }
        }
        let simple = true;
        if (t.charCodeAt(i) === 46 /* . */) {
          simple = false;
          i++;
          if (!isDigit(t.charCodeAt(i))) return false;
          while (i < end && isDigit(t.charCodeAt(i))) i++;
        }
        if (t.charCodeAt(i) === 101 || t.charCodeAt(i) === 69 /* e E */) {
          simple = false;
          i++;
          if (t.charCodeAt(i) === 43 || t.charCodeAt(i) === 45) i++;
          if (!isDigit(t.charCodeAt(i))) return false;
          while (i < end && isDigit(t.charCodeAt(i))) i++;
        }
        this.types[n] = valueNumber;
        this.numbers[n] = simple && digits <= 15 ? (negative ? -integer : integer) : Number(t.slice(numberStart, i));
      } else if (c === 110 /* n */ && this.word(t, i, end, 'null')) {
        this.types[n] = valueOther;
        i += 4;
      } else if (c === 116 /* t */ && this.word(t, i, end, 'true')) {
        this.types[n] = valueOther;
        i += 4;
      } else if (c === 102 /* f */ && this.word(t, i, end, 'false')) {
        this.types[n] = valueOther;
        i += 5;
      } else if (c === 78 /* N */ && this.word(t, i, end, 'NaN')) {
        this.types[n] = valueString;
        this.strings[n] = 'NaN';
        i += 3;
      } else if (c === 73 /* I */ && this.word(t, i, end, 'Infinity')) {
        this.types[n] = valueString;
        this.strings[n] = 'Infinity';
        i += 8;
      } else return false;
      if (!this.valueEnds(t, i, end)) return false;
      this.count = n + 1;
      i = this.afterValue;
      if (this.done) return this.finish(t, i, end);
    }
  }

  private afterValue = 0;
  private done = false;

  /** After a value: `,` and the next key, or `}`. */
  private valueEnds(t: string, i: number, end: number): boolean {
    while (i < end && isSpace(t.charCodeAt(i))) i++;
    if (t.charCodeAt(i) === 44 /* , */) {
      i++;
      while (i < end && isSpace(t.charCodeAt(i))) i++;
      this.afterValue = i;
      this.done = false;
      return i < end;
    }
    if (t.charCodeAt(i) === 125 /* } */) {
      this.afterValue = i + 1;
      this.done = true;
      return true;
    }
    return false;
  }

  /** Only whitespace may follow the closing brace. */
  private finish(t: string, i: number, end: number): boolean {
    while (i < end && isSpace(t.charCodeAt(i))) i++;
    return i === end;
  }

  private word(t: string, i: number, end: number, word: string): boolean {
    if (i + word.length > end) return false;
    for (let k = 0; k < word.length; k++) if (t.charCodeAt(i + k) !== word.charCodeAt(k)) return false;
    return true;
  }

  /** A key not seen at this position on the previous line; undefined where JSON.parse would reorder keys. */
  private key(t: string, start: number, end: number, n: number): string | undefined {
    const key = t.slice(start, end);
    // Integer-like keys come first in an object's key order; a repeated key keeps its first position.
    if (/^(0|[1-9]\d*)$/.test(key) || hasPythonSpecial(key)) return undefined;
    for (let k = 0; k < n; k++) if (this.keys[k] === key) return undefined;
    this.keys[n] = key;
    if (n >= this.known) this.known = n + 1;
    return key;
  }

}

import { hfTag, nonMetricKeys, parseNumber } from './tags';
import { latin1, readJsonNumber } from './jsonNumber';
import { JsonlKernel, type PrefixSource } from './jsonlKernel';
import { KernelBackoff, kernelSuits, type KernelOptions } from './kernelMemory';
import type { ParseOutput, ScalarSink, StreamParser } from './types';

/** LLaMA-Factory's names for what the Trainer calls `learning_rate`. */
const aliases: Record<string, string> = { lr: 'learning_rate' };
const stepKeys = ['step', 'global_step', 'current_steps', '_step', 'iteration', 'iter'];
const timeKeys = ['_timestamp', 'timestamp', 'wall_time', 'walltime', 'time'];

/**
 * JSONL metrics, one object per line: LLaMA-Factory's `trainer_log.jsonl` (`current_steps`, `loss`, `lr`,
 * `eval_loss`, nulls for what a line lacks), W&B-style (`_step`, `_timestamp`) and generic `{"step":..,"loss":..}`.
 */
/** A logged wall time in seconds: values above 1e11 (year 5138 in seconds) are milliseconds. */
function wallSeconds(time: number): number {
  return time > 1e11 ? time / 1000 : time;
}

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
  /** Per scanner position: the key id it was classified for, and the kind as role, rank and tag. */
  private readonly keyIdAt: number[] = [];
  private readonly roleAt: number[] = [];
  private readonly rankAt: number[] = [];
  private readonly tagAt: string[] = [];
  private readonly fallbackDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

  /** When to ask the kernel again after it could not take a line. */
  private readonly kernelBackoff = new KernelBackoff();

  /**
   * `options.scan: false` sends every line through JSON.parse (the reference the scanner is tested against); see
   * KernelOptions for the rest.
   */
  constructor(
    private readonly file: string,
    private readonly options: { scan?: boolean } & KernelOptions = {},
  ) {}

  push(input: Uint8Array, sink: ScalarSink): ParseOutput {
    const out: ParseOutput = { warnings: [] };
    // A plain Uint8Array view, Buffer or not: the scanner's code then sees one kind of array (and stays optimised).
    const chunk = new Uint8Array(input.buffer, input.byteOffset, input.length);
    let start = 0;
    if (this.carry) {
      // Only the line cut by the previous read is joined; the rest of the chunk is read where it lies.
      const carry = this.carry;
      const newline = chunk.indexOf(10);
      this.carry = concat(carry, newline < 0 ? chunk : chunk.subarray(0, newline + 1));
      if (newline < 0) return out;
      this.lines(this.carry, 0, this.consumed, sink, out);
      this.carry = undefined;
      this.consumed += carry.length + newline + 1;
      start = newline + 1;
    }
    const chunkOffset = this.consumed - start;
    const done = this.lines(chunk, start, chunkOffset, sink, out);
    this.consumed = chunkOffset + done;
    // The carry must be a copy: the caller reuses its read buffer, and Buffer#slice (unlike Uint8Array#slice)
    // returns a view into it.
    if (done < chunk.length) this.carry = new Uint8Array(chunk.subarray(done));
    return out;
  }

  end(sink: ScalarSink): ParseOutput {
    const out: ParseOutput = { warnings: [] };
    const rest = this.carry;
    this.carry = undefined;
    if (rest && this.decodeLine(rest, 0, rest.length, this.consumed === 0).trim()) {
      // The last line, ended as if its newline had come.
      const line = new Uint8Array(rest.length + 1);
      line.set(rest);
      line[rest.length] = 10;
      this.lines(line, 0, this.consumed, sink, out);
    }
    this.consumed += rest?.length ?? 0;
    return out;
  }

  /**
   * The complete lines of bytes[start..]: flat ones scanned in place, anything else decoded for JSON.parse.
   * Returns where the first incomplete line starts (bytes.length if none). `offset` is bytes[0]'s file offset.
   */
  private lines(bytes: Uint8Array, start: number, offset: number, sink: ScalarSink, out: ParseOutput): number {
    const scanner = this.options.scan === false ? undefined : this.scanner;
    // Only complete lines are read: every byte looked at lies before a newline, so no loop runs past `end`.
    const end = bytes.lastIndexOf(10) + 1;
    // Large reads go through the WebAssembly kernel first (small appends of a live log are not worth the copy).
    const size = end - start;
    const kernel = scanner && kernelSuits(size, this.options) ? JsonlKernel.get() : undefined;
    if (kernel) kernel.load(bytes, start, end);
    while (start < end) {
      if (this.kernelBackoff.ready() && kernel && scanner!.knownPositions > 0) {
        kernel.useTemplate(scanner!);
        const plan = this.planForKernel(kernel);
        const taken = kernel.scan(start, end);
        this.emitKernelLines(kernel, taken, bytes, sink, plan);
        start = kernel.stoppedAt;
        // A line the kernel cannot take goes to the scanner (below).
        this.kernelBackoff.took(taken);
        if (start >= end) break;
      }
      let newline = scanner ? scanner.scan(bytes, start, end) : -1;
      if (newline >= 0) {
        this.line++;
        this.emit(scanner!, sink);
      } else {
        newline = bytes.indexOf(10, start);
        this.line++;
        this.parseLine(this.decodeLine(bytes, start, newline, offset + start === 0), sink, out);
      }
      start = newline + 1;
    }
    return start;
  }

  private decodeLine(bytes: Uint8Array, start: number, end: number, atFileStart: boolean): string {
    // TextDecoder drops a BOM only at the start of the stream, as the file-wide decoder did.
    if (atFileStart && end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf) start += 3;
    return this.fallbackDecoder.decode(bytes.subarray(start, end));
  }

  /**
   * The plan for lines of the shape last seen (the same keys at the same positions): the position of the
   * best-ranked step key and of the best-ranked time key (-1: none), and the metric positions with their tags.
   */
  private planCount = -1;
  private planKeyId = -1;
  private planStep = -1;
  private planTime = -1;
  private readonly planMetrics: number[] = [];
  private readonly planTags: string[] = [];

  /**
   * The same per-key rules as parseLine, for a line the scanner understood. Lines of one shape whose step, time
   * and metric values are all plain numbers (nearly every line of a log) follow the shape's plan; the rest go
   * through the rules key by key.
   */
  private emit(scan: FlatLineScanner, sink: ScalarSink): void {
    if (scan.count !== this.planCount || scan.lastKeyId !== this.planKeyId) this.plan(scan);
    const types = scan.types;
    const numbers = scan.numbers;
    const stepAt = this.planStep;
    const timeAt = this.planTime;
    // The plan picked the best-ranked keys; the rules pass over one whose value is not a finite number.
    if (stepAt >= 0 && (types[stepAt] !== valueNumber || !Number.isFinite(numbers[stepAt]))) return this.emitByKey(scan, sink);
    if (timeAt >= 0 && (types[timeAt] !== valueNumber || !Number.isFinite(numbers[timeAt]))) return this.emitByKey(scan, sink);
    const metrics = this.planMetrics;
    const count = metrics.length;
    for (let k = 0; k < count; k++) {
      const type = types[metrics[k]];
      if (type !== valueNumber && type !== valueBare) return this.emitByKey(scan, sink);
    }
    this.order++;
    const step = stepAt >= 0 ? numbers[stepAt] : this.order;
    let wallTime = NaN;
    if (timeAt >= 0) {
      const time = numbers[timeAt];
      wallTime = wallSeconds(time);
    }
    const tags = this.planTags;
    for (let k = 0; k < count; k++) sink.add(tags[k], step, numbers[metrics[k]], wallTime);
  }

  /**
   * emit() for the lines the kernel took. The kernel had the current plan (when it is for the scanner's current
   * keys) and checked emit's conditions itself: lines that follow it (kind 1) come with their step, wall time and
   * metric values ready; the rest become the scanner's line and go through emit().
   */
  private emitKernelLines(kernel: JsonlKernel, taken: number, bytes: Uint8Array, sink: ScalarSink, plan: KernelPlan): void {
    const scanner = this.scanner;
    const { kinds, fastSteps, fastWalls, fastValues } = kernel;
    const { tags, stepAt } = plan;
    const metrics = tags.length;
    // Line numbers only name lines in warnings, which these lines do not raise.
    this.line += taken;
    let order = this.order;
    for (let k = 0; k < taken; ) {
      if (kinds[k] !== 1) {
        this.order = order;
        scanner.takeKernelLine(kernel, k, bytes);
        this.emit(scanner, sink);
        order = this.order;
        k++;
        continue;
      }
      // A run of planned lines whose steps strictly increase: each tag's points are pure appends, so a sink that
      // takes runs gets them per tag at once (no resume or replaced point can depend on the order across tags).
      let end = k + 1;
      if (stepAt >= 0 && sink.appendRun) while (end < taken && kinds[end] === 1 && fastSteps[end]! > fastSteps[end - 1]!) end++;
      for (let m = 0; m < metrics; m++) {
        if (end - k > 1 && sink.appendRun!(tags[m]!, fastSteps, fastWalls, k, end - k, fastValues, k * metrics + m, metrics)) continue;
        for (let j = k; j < end; j++) sink.add(tags[m]!, stepAt >= 0 ? fastSteps[j]! : order + 1 + (j - k), fastValues[j * metrics + m]!, fastWalls[j]!);
      }
      order += end - k;
      k = end;
    }
    this.order = order;
  }

  /** Hands the current plan to the kernel when it is for the scanner's current keys; what emitKernelLines needs of it. */
  private planForKernel(kernel: JsonlKernel): KernelPlan {
    if (this.planCount < 0 || this.scanner.lastKeyId !== this.planKeyId) {
      kernel.setPlan(-1, -1, -1, []);
      return noKernelPlan;
    }
    kernel.setPlan(this.planCount, this.planStep, this.planTime, this.planMetrics);
    // A copy: plan() refills these arrays when a line of another shape comes through emit().
    return { tags: this.planTags.slice(), stepAt: this.planStep };
  }

  /** Makes the plan for the scanner's current line shape. */
  private plan(scan: FlatLineScanner): void {
    let stepRank = Infinity;
    let timeRank = Infinity;
    this.planStep = -1;
    this.planTime = -1;
    this.planMetrics.length = 0;
    this.planTags.length = 0;
    for (let i = 0; i < scan.count; i++) {
      if (this.keyIdAt[i] !== scan.keyIds[i]) this.classifyAt(i, scan.keys[i], scan.keyIds[i]);
      const role = this.roleAt[i];
      if (role === roleStep && this.rankAt[i] < stepRank) {
        stepRank = this.rankAt[i];
        this.planStep = i;
      } else if (role === roleTime && this.rankAt[i] < timeRank) {
        timeRank = this.rankAt[i];
        this.planTime = i;
      } else if (role === roleMetric) {
        this.planMetrics.push(i);
        this.planTags.push(this.tagAt[i]);
      }
    }
    this.planCount = scan.count;
    this.planKeyId = scan.lastKeyId;
  }

  /** The per-key rules of parseLine, key by key. */
  private emitByKey(scan: FlatLineScanner, sink: ScalarSink): void {
    this.order++;
    let step = this.order;
    let stepRank = Infinity;
    let wallTime = NaN;
    let timeRank = Infinity;
    let count = 0;
    const keyIds = scan.keyIds;
    const types = scan.types;
    const numbers = scan.numbers;
    const { keyIdAt, roleAt, rankAt, tagAt, lineTags, lineValues } = this;
    const positions = scan.count;
    for (let i = 0; i < positions; i++) {
      // A position's kind stays while the scanner keeps its key (lines of one log repeat their keys).
      if (keyIdAt[i] !== keyIds[i]) this.classifyAt(i, scan.keys[i], keyIds[i]);
      const role = roleAt[i];
      if (role === roleSkip) continue;
      const type = types[i];
      if (type === valueOther) continue;
      // Strings are decoded only here, for keys that are not skipped.
      const value = type === valueString ? parseNumber(scan.stringAt(i)) : numbers[i];
      if (value === undefined) continue;
      if (role === roleStep) {
        const rank = rankAt[i];
        if (rank < stepRank && Number.isFinite(value)) {
          step = value;
          stepRank = rank;
        }
      } else if (role === roleTime) {
        const rank = rankAt[i];
        if (rank < timeRank && type === valueNumber && Number.isFinite(value)) {
          wallTime = wallSeconds(value);
          timeRank = rank;
        }
      } else {
        lineTags[count] = tagAt[i];
        lineValues[count] = value;
        count++;
      }
    }
    for (let i = 0; i < count; i++) sink.add(lineTags[i], step, lineValues[i], wallTime);
  }

  /** Caches the kind of the key at a scanner position, as numbers (emit runs once per line). */
  private classifyAt(i: number, key: string, keyId: number): void {
    let kind = this.kinds.get(key);
    if (kind === undefined) {
      kind = classifyKey(key);
      this.kinds.set(key, kind);
    }
    this.keyIdAt[i] = keyId;
    this.roleAt[i] = kind.role === 'step' ? roleStep : kind.role === 'time' ? roleTime : kind.role === 'skip' ? roleSkip : roleMetric;
    this.rankAt[i] = kind.role === 'step' || kind.role === 'time' ? kind.rank : 0;
    this.tagAt[i] = kind.role === 'metric' ? kind.tag : '';
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
          wallTime = wallSeconds(value);
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

/** The plan the kernel was given for a scan: the metric tags in order and the step position (-1: none). */
interface KernelPlan {
  tags: string[];
  stepAt: number;
}
const noKernelPlan: KernelPlan = { tags: [], stepAt: -1 };

type KeyKind = { role: 'step'; rank: number } | { role: 'time'; rank: number } | { role: 'skip' } | { role: 'metric'; tag: string };

function classifyKey(key: string): KeyKind {
  if (stepKeys.includes(key)) return { role: 'step', rank: stepKeys.indexOf(key) };
  if (timeKeys.includes(key)) return { role: 'time', rank: timeKeys.indexOf(key) };
  if (nonMetricKeys.has(key)) return { role: 'skip' };
  return { role: 'metric', tag: hfTag(aliases[key] ?? key) };
}

const roleMetric = 0;
const roleStep = 1;
const roleTime = 2;
const roleSkip = 3;

/** A JSON number: `numbers` holds it. */
const valueNumber = 0;
/** A string value: `stringAt` decodes it. */
const valueString = 1;
/** null, true or false: never a metric. */
const valueOther = 2;
/** Python's bare NaN, Infinity or -Infinity (parseLine quotes those, so they count as strings, not JSON numbers). */
const valueBare = 3;

const hasPythonSpecial = (text: string) => text.includes('NaN') || text.includes('Infinity');

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

/** JSON whitespace within a line: space, tab, CR (the newline ends the line, and the loop). */
function skipSpace(b: Uint8Array, i: number): number {
  let c;
  while ((c = b[i]) === 32 || c === 9 || c === 13) i++;
  return i;
}

/** Whether bytes[i..] starts with the ASCII word (within end). */
function startsWithWord(b: Uint8Array, i: number, end: number, word: string): boolean {
  if (i + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return false;
  return true;
}

/**
 * Scans one line that is a flat JSON object — `{"step": 12, "loss": 1.5, "lr": "1e-4", "x": null}` — straight
 * from its bytes, without JSON.parse: keys without escapes, values that are numbers, strings without escapes,
 * null/true/false or Python's bare NaN/Infinity. Anything else (nesting, escapes, non-ASCII, duplicate or
 * integer-like keys, whose order JSON.parse changes, or invalid JSON) makes scan() return -1, and the caller uses
 * JSON.parse. Numbers are read by readJsonNumber, to the same double as JSON.parse.
 *
 * Lines of one log repeat their keys and spacing: the bytes between two values (`, "loss": `) are kept per
 * position and compared four at a time; only a line that differs there is scanned byte by byte.
 */
export class FlatLineScanner implements PrefixSource {
  count = 0;
  /** Bumped whenever a prefix is learned or forgotten (the kernel copies them when it changes). */
  templateVersion = 0;
  readonly keys: string[] = [];
  /** A new id whenever a position gets a key (so callers can cache per position what they derive from it). */
  readonly keyIds: number[] = [];
  types = new Uint8Array(16);
  numbers = new Float64Array(16);
  private stringStarts = new Int32Array(16);
  private stringEnds = new Int32Array(16);
  /**
   * Per position n < known: the bytes from the end of value n - 1 (or the line start) to the start of value n as
   * an earlier line had them with the key keys[n] (`{"step": `, `, "loss": `), copied (the read buffer is reused).
   * keys[0..known) are distinct, so a line whose prefixes all match has no repeated key.
   */
  private readonly prefixes: Uint8Array[] = [];
  /**
   * The same bytes as little-endian 32-bit words: at 0, 4, 8, ... and, where the length is not a multiple of four,
   * one more word ending at the last byte (overlapping the one before), so no byte is compared on its own.
   */
  private readonly prefixWords: Int32Array[] = [];
  private known = 0;
  /** The last key id given out: it changes whenever any position gets another key. */
  lastKeyId = 0;
  private bytes: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(this.bytes.buffer);

  get knownPositions(): number {
    return this.known;
  }

  prefix(n: number): Uint8Array {
    return this.prefixes[n]!;
  }

  /**
   * Makes line slot `line` of the kernel's last scan this scanner's current line, as if scan() had read it from
   * `bytes` (the array the kernel's input was loaded from).
   */
  takeKernelLine(kernel: JsonlKernel, line: number, bytes: Uint8Array): void {
    const count = kernel.counts[line]!;
    while (this.types.length < count) this.grow();
    const at = line * kernel.stride;
    const types = kernel.types;
    const numbers = kernel.numbers;
    for (let n = 0; n < count; n++) {
      const type = types[at + n]!;
      this.types[n] = type;
      if (type === valueString) {
        const strings = kernel.strings;
        this.stringStarts[n] = strings[2 * (at + n)]! + kernel.base;
        this.stringEnds[n] = strings[2 * (at + n) + 1]! + kernel.base;
        this.useBytes(bytes);
      } else this.numbers[n] = numbers[at + n]!;
    }
    this.count = count;
  }

  /** The string value at position n of the last scanned line (valid until its bytes change). */
  stringAt(n: number): string {
    return latin1(this.bytes, this.stringStarts[n], this.stringEnds[n]);
  }

  /**
   * Scans the line starting at bytes[start]: the index of its newline if it is a flat object (with whitespace
   * around), else -1. bytes[end - 1] must be a newline: every loop stops at one, which spares bound checks.
   */
  scan(b: Uint8Array, start: number, end: number): number {
    this.useBytes(b);
    const view = this.view;
    this.count = 0;
    let i = start;
    let c = 0;
    for (;;) {
      const n = this.count;
      if (n === this.types.length) this.grow();
      if (n < this.known && this.samePrefix(b, view, i, end, n)) {
        // The key is keys[n], and keys[0..n) are this line's and distinct from it (see prefixes). More spaces
        // before the value than the prefix has are fine.
        i = skipSpace(b, i + this.prefixes[n].length);
      } else {
        const segment = i;
        i = skipSpace(b, i);
        c = b[i];
        if (n === 0) {
          if (c !== 123 /* { */) return -1;
          i = skipSpace(b, i + 1);
          if (b[i] === 125 /* } */) return this.finish(b, i + 1);
        } else if (c === 125) return this.finish(b, i + 1);
        else if (c === 44 /* , */) i = skipSpace(b, i + 1);
        else return -1;
        // "key"
        if (b[i] !== 34) return -1;
        const keyStart = ++i;
        for (;;) {
          c = b[i];
          if (c === 34) break;
          if (c === 92 || c >= 0x80 || c < 0x20) return -1;
          i++;
        }
        const keyEnd = i;
        i = skipSpace(b, i + 1);
        if (b[i] !== 58 /* : */) return -1;
        i = skipSpace(b, i + 1);
        if (!this.newKey(b, keyStart, keyEnd, n, segment, i)) return -1;
      }
      c = b[i];
      if (c === 34) {
        const valueStart = ++i;
        let maybeSpecial = false;
        for (;;) {
          c = b[i];
          if (c === 34) break;
          if (c === 92 || c >= 0x80 || c < 0x20) return -1;
          if (c === 78 || c === 73) maybeSpecial = true;
          i++;
        }
        // parseLine quotes bare NaN/Infinity with a regex that also reaches into strings: those lines go its way.
        if (maybeSpecial && hasPythonSpecial(latin1(b, valueStart, i))) return -1;
        this.types[n] = valueString;
        this.stringStarts[n] = valueStart;
        this.stringEnds[n] = i;
        i++;
      } else if ((c >= 48 && c <= 57) || (c === 45 && b[i + 1] !== 73)) {
        i = readJsonNumber(b, view, i, end, this.numbers, n);
        if (i < 0) return -1;
        this.types[n] = valueNumber;
      } else if (c === 110 /* n */ && startsWithWord(b, i, end, 'null')) {
        this.types[n] = valueOther;
        i += 4;
      } else if (c === 116 /* t */ && startsWithWord(b, i, end, 'true')) {
        this.types[n] = valueOther;
        i += 4;
      } else if (c === 102 /* f */ && startsWithWord(b, i, end, 'false')) {
        this.types[n] = valueOther;
        i += 5;
      } else if (c === 78 /* N */ && startsWithWord(b, i, end, 'NaN')) {
        this.types[n] = valueBare;
        this.numbers[n] = NaN;
        i += 3;
      } else if (c === 73 /* I */ && startsWithWord(b, i, end, 'Infinity')) {
        this.types[n] = valueBare;
        this.numbers[n] = Infinity;
        i += 8;
      } else if (c === 45 /* - */ && startsWithWord(b, i, end, '-Infinity')) {
        this.types[n] = valueBare;
        this.numbers[n] = -Infinity;
        i += 9;
      } else return -1;
      this.count = n + 1;
      // Most lines end right after their last value; anything else is the next prefix or the general path.
      if (b[i] === 125 && b[i + 1] === 10) return i + 1;
    }
  }

  private useBytes(b: Uint8Array): void {
    if (b !== this.bytes) {
      this.bytes = b;
      this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
  }

  /** Whether bytes[i..] repeat position n's prefix. */
  private samePrefix(b: Uint8Array, view: DataView, i: number, end: number, n: number): boolean {
    const prefix = this.prefixes[n];
    const length = prefix.length;
    if (i + length > end) return false;
    const words = this.prefixWords[n];
    const full = length >> 2;
    for (let k = 0; k < full; k++) if (view.getInt32(i + 4 * k, true) !== words[k]) return false;
    if (words.length > full) return view.getInt32(i + length - 4, true) === words[full];
    for (let k = full * 4; k < length; k++) if (b[i + k] !== prefix[k]) return false;
    return true;
  }

  /** Only whitespace may follow the closing brace, then the newline. */
  private finish(b: Uint8Array, i: number): number {
    i = skipSpace(b, i);
    return b[i] === 10 ? i : -1;
  }

  /**
   * Takes the key bytes[start..end) at position n, whose prefix is bytes[segment..valueStart); false where JSON.parse
   * would reorder keys.
   */
  private newKey(b: Uint8Array, start: number, end: number, n: number, segment: number, valueStart: number): boolean {
    const key = latin1(b, start, end);
    // Integer-like keys come first in an object's key order; a repeated key keeps its first position.
    if (/^(0|[1-9]\d*)$/.test(key) || hasPythonSpecial(key)) return false;
    for (let k = 0; k < n; k++) if (this.keys[k] === key) return false;
    const prefix = new Uint8Array(b.subarray(segment, valueStart));
    const full = prefix.length >> 2;
    const words = new Int32Array(full + (prefix.length > 4 && prefix.length % 4 !== 0 ? 1 : 0));
    const prefixView = new DataView(prefix.buffer);
    for (let k = 0; k < full; k++) words[k] = prefixView.getInt32(4 * k, true);
    if (words.length > full) words[full] = prefixView.getInt32(prefix.length - 4, true);
    if (n >= this.known || this.keys[n] !== key) {
      this.keyIds[n] = ++this.lastKeyId;
      this.keys[n] = key;
    }
    this.prefixes[n] = prefix;
    this.prefixWords[n] = words;
    this.templateVersion++;
    // Keep keys[0..known) distinct: a later position holding this key is forgotten, with all after it.
    if (n >= this.known) this.known = n + 1;
    else for (let k = n + 1; k < this.known; k++) if (this.keys[k] === key) this.known = k;
    return true;
  }

  private grow(): void {
    const capacity = this.types.length * 2;
    const types = new Uint8Array(capacity);
    types.set(this.types);
    this.types = types;
    const numbers = new Float64Array(capacity);
    numbers.set(this.numbers);
    this.numbers = numbers;
    const starts = new Int32Array(capacity);
    starts.set(this.stringStarts);
    this.stringStarts = starts;
    const ends = new Int32Array(capacity);
    ends.set(this.stringEnds);
    this.stringEnds = ends;
  }
}

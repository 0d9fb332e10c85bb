import type { Position } from '../lint/findings';

/** How the top level of a dataset file is laid out. */
export type Container = 'array' | 'jsonl' | 'objects' | 'empty' | 'invalid';

/** One top-level sample: its bytes, its text, and where it starts in the file. */
export class RawSample {
  private utf8: string | undefined;
  private oneByte: string | undefined;
  private view: Buffer | undefined;
  /** Position just after the last character (set by the splitter when asked for exact ends). */
  end: Position | undefined;

  constructor(
    /** 0-based index among the top-level values of the file. */
    readonly index: number,
    /** The buffer holding the sample, and where in it (no view is made unless asked for: samples are many). */
    private readonly source: Buffer,
    private readonly from: number,
    private readonly to: number,
    /** Position of the first character (0-based line, UTF-16 character; a leading BOM is not counted, as in VS Code). */
    readonly start: Position,
    /** Byte offset of the first byte in the file. */
    readonly byteOffset: number,
  ) {}

  /** Owns a copy of a sample's bytes (for samples kept after their read buffer is reused). */
  static detached(raw: RawSample): RawSample {
    const copy = new RawSample(raw.index, Buffer.from(raw.bytes), 0, raw.length, raw.start, raw.byteOffset);
    copy.end = raw.end;
    return copy;
  }

  get length(): number {
    return this.to - this.from;
  }

  get bytes(): Buffer {
    this.view ??= this.source.subarray(this.from, this.to);
    return this.view;
  }

  /** The sample's text, decoded as UTF-8 (what an editor shows; offsets are UTF-16 as in VS Code). */
  get text(): string {
    this.utf8 ??= this.source.toString('utf8', this.from, this.to);
    return this.utf8;
  }

  /**
   * The bytes as a one-byte (latin1) string: several times cheaper to make and to JSON.parse than UTF-8, and
   * structurally identical (every byte of a multi-byte character is >= 0x80, which JSON allows inside strings).
   * Only ASCII markup may be read from values parsed from it; positions must come from {@link text}.
   */
  get latin1(): string {
    this.oneByte ??= this.source.toString('latin1', this.from, this.to);
    return this.oneByte;
  }

  /** Drops the cached strings (they are recomputed if asked for again). */
  release(): void {
    this.utf8 = undefined;
    this.oneByte = undefined;
  }
}

/** A text edit in file coordinates (0-based line / UTF-16 character). */
export interface PositionEdit {
  start: Position;
  end: Position;
  newText: string;
}

/** A problem in the file's top-level structure (between samples), found while splitting. */
export interface StructureIssue {
  message: string;
  severity: 'error' | 'warning';
  start: Position;
  end: Position;
  fix?: { title: string; edits: PositionEdit[] };
}

export interface SplitterOptions {
  /** Samples longer than this are not held in memory or checked (reported instead). */
  maxSampleBytes?: number;
  /** Give every sample its end position (JSON Lines records otherwise skip it: the newline resets the column). */
  exactEnds?: boolean;
}

const emptyBuffer = Buffer.alloc(0);
const BRACE_OPEN = 0x7b;
const BRACE_CLOSE = 0x7d;
const BRACKET_OPEN = 0x5b;
const BRACKET_CLOSE = 0x5d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

/** Bytes the container scan must look at: quotes and brackets. */
const containerStops = new Uint8Array(256);
for (const c of [DQUOTE, SQUOTE, BRACE_OPEN, BRACE_CLOSE, BRACKET_OPEN, BRACKET_CLOSE]) containerStops[c] = 1;
/** Bytes that end a bare scalar or start a string. */
const scalarStops = new Uint8Array(256);
for (const c of [DQUOTE, SQUOTE, BRACE_OPEN, BRACE_CLOSE, BRACKET_OPEN, BRACKET_CLOSE, COMMA, 0x20, 0x0a, 0x0d, 0x09]) scalarStops[c] = 1;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Number of UTF-16 code units the UTF-8 bytes decode to (invalid bytes count as one U+FFFD each, roughly). */
function utf16Length(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x80 || c >= 0xc0) n += c >= 0xf0 ? 2 : 1;
  }
  return n;
}

type Phase = 'start' | 'arrayGap' | 'afterArray' | 'jsonlGap' | 'objectsGap' | 'sample' | 'skipSample' | 'done';

/**
 * Splits a JSON array, JSON Lines or concatenated-objects dataset into top-level samples while the bytes stream in,
 * without holding more than the current sample. It never parses values: it only tracks strings and bracket depth
 * (with `memchr`-speed jumps over string contents), so a malformed sample stays confined to itself. Problems between
 * samples (missing/extra/trailing commas, truncation, a BOM, garbage) become {@link StructureIssue}s with positions.
 */
export class SampleSplitter {
  container: Container = 'empty';
  readonly issues: StructureIssue[] = [];
  private readonly maxSampleBytes: number;
  private readonly exactEnds: boolean;
  private buf: Buffer = emptyBuffer;
  /** Absolute byte offset of buf[0]. */
  private bufAbs = 0;
  /** Scan cursor in buf. */
  private i = 0;
  private phase: Phase = 'start';
  /** Position of buf[i] while in a gap phase. */
  private line = 0;
  private col = 0;
  private index = 0;
  private expectValue = true;
  private lastComma: Position | undefined;
  private afterArrayReported = false;
  /** Sample in progress. */
  private sampleStart = 0;
  private samplePos: Position = { line: 0, character: 0 };
  private sampleKind: 'container' | 'string' | 'scalar' | 'line' = 'container';
  private depth = 0;
  private firstObjectPending = false;
  private jsonlNotice = false;

  constructor(options: SplitterOptions = {}) {
    this.maxSampleBytes = options.maxSampleBytes ?? 64 * 1024 * 1024;
    this.exactEnds = options.exactEnds ?? false;
  }

  /**
   * Feeds the next bytes; returns the samples completed by them. The samples' bytes are views into `chunk`, valid
   * until the caller reuses it; the splitter copies what it keeps, so the caller may reuse one read buffer.
   */
  push(chunk: Buffer): RawSample[] {
    if (this.phase === 'done') return [];
    const region = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const { samples, keep } = this.pushRegion(region);
    this.buf = Buffer.from(region.subarray(keep));
    return samples;
  }

  /**
   * Zero-copy variant for callers that manage one buffer: `region` must start with the bytes the previous call
   * said to keep, followed by new bytes. Returns the samples (views into `region`) and the offset from which the
   * caller must keep `region`'s bytes for the next call (or for {@link end}).
   */
  pushRegion(region: Buffer): { samples: RawSample[]; keep: number } {
    const out: RawSample[] = [];
    if (this.phase === 'done') return { samples: out, keep: region.length };
    this.buf = region;
    this.scan(out, false);
    const keep = this.phase === 'sample' || this.phase === 'skipSample' ? Math.min(this.sampleStart, this.i) : this.i;
    this.bufAbs += keep;
    this.sampleStart -= keep;
    this.i -= keep;
    this.buf = emptyBuffer;
    return { samples: out, keep };
  }

  /** Signals end of input; returns the last (possibly truncated) sample. `rest`: the kept bytes, for {@link pushRegion} callers. */
  end(rest?: Buffer): RawSample[] {
    if (rest) this.buf = rest;
    const out: RawSample[] = [];
    this.scan(out, true);
    const here = this.here();
    switch (this.phase) {
      case 'start':
        this.container = 'empty';
        this.issues.push({ message: 'The file is empty: a dataset is a JSON array of samples (or JSON Lines).', severity: 'error', start: here, end: here });
        break;
      case 'arrayGap':
        this.issues.push({
          message: 'The file ends before the closing "]" of the top-level array (truncated?). Python\'s json.load fails on it.',
          severity: 'error',
          start: here,
          end: here,
          fix: { title: 'Close the array with "]"', edits: [{ start: here, end: here, newText: this.lastComma && this.expectValue ? ']' : '\n]' }] },
        });
        break;
      case 'sample':
      case 'skipSample':
        // scan() with final=true always completes the sample.
        break;
    }
    this.phase = 'done';
    return out;
  }

  private here(): Position {
    return { line: this.line, character: this.col };
  }

  private advanceGap(c: number): void {
    if (c === NEWLINE) {
      this.line++;
      this.col = 0;
    } else this.col++;
    this.i++;
  }

  private scan(out: RawSample[], final: boolean): void {
    const buf = this.buf;
    while (this.phase !== 'done') {
      if (this.phase === 'sample' || this.phase === 'skipSample') {
        if (!this.scanSample(out, final)) return;
        continue;
      }
      if (this.i >= buf.length) return;
      const c = buf[this.i]!;
      switch (this.phase) {
        case 'start': {
          if (this.bufAbs + this.i === 0 && c === 0xef) {
            if (buf.length < 3 && !final) return;
            if (buf[1] === 0xbb && buf[2] === 0xbf) {
              this.i += 3; // VS Code hides the BOM, so it takes no column
              this.issues.push({
                message: "The file starts with a UTF-8 byte order mark; Python's json.load fails with 'Unexpected UTF-8 BOM'. Save the file as UTF-8 without BOM.",
                severity: 'error',
                start: this.here(),
                end: this.here(),
              });
              continue;
            }
          }
          if (isWhitespace(c)) {
            this.advanceGap(c);
          } else if (c === BRACKET_OPEN) {
            this.container = 'array';
            this.phase = 'arrayGap';
            this.expectValue = true;
            this.advanceGap(c);
          } else if (c === BRACE_OPEN) {
            // JSON Lines or one/concatenated objects: decided once the first object ends.
            this.container = 'jsonl';
            this.firstObjectPending = true;
            this.beginSample('container');
          } else {
            this.container = 'invalid';
            const start = this.here();
            this.issues.push({
              message: `Not a JSON dataset: the file must start with "[" (a JSON array) or "{" (JSON Lines), found ${describeByte(buf, this.i)}.`,
              severity: 'error',
              start,
              end: { line: start.line, character: start.character + 1 },
            });
            this.phase = 'done';
          }
          break;
        }
        case 'arrayGap': {
          if (isWhitespace(c)) {
            this.advanceGap(c);
          } else if (c === COMMA) {
            const at = this.here();
            const end = { line: at.line, character: at.character + 1 };
            if (this.expectValue) {
              this.issues.push({
                message: 'Extra comma: no sample between two commas (Python: "Expecting value"). Remove it.',
                severity: 'error',
                start: at,
                end,
                fix: { title: 'Remove the extra comma', edits: [{ start: at, end, newText: '' }] },
              });
            }
            this.expectValue = true;
            this.lastComma = at;
            this.advanceGap(c);
          } else if (c === BRACKET_CLOSE) {
            if (this.expectValue && this.lastComma) {
              const at = this.lastComma;
              const end = { line: at.line, character: at.character + 1 };
              this.issues.push({
                message: 'Trailing comma after the last sample (README-style pseudo-JSON); Python fails with "Expecting value". Remove the comma.',
                severity: 'error',
                start: at,
                end,
                fix: { title: 'Remove the trailing comma', edits: [{ start: at, end, newText: '' }] },
              });
            }
            this.phase = 'afterArray';
            this.advanceGap(c);
          } else {
            if (!this.expectValue) {
              const at = this.here();
              this.issues.push({
                message: 'Missing comma between two samples (Python: "Expecting \',\' delimiter"). Insert a comma.',
                severity: 'error',
                start: at,
                end: at,
                fix: { title: 'Insert the missing comma', edits: [{ start: at, end: at, newText: ',' }] },
              });
            }
            this.beginSample(c === BRACE_OPEN || c === BRACKET_OPEN ? 'container' : c === DQUOTE || c === SQUOTE ? 'string' : 'scalar');
          }
          break;
        }
        case 'afterArray': {
          if (isWhitespace(c)) {
            this.advanceGap(c);
          } else {
            if (!this.afterArrayReported) {
              const at = this.here();
              this.issues.push({
                message: 'Content after the end of the top-level array (Python: "Extra data"). Move it inside the array or remove it.',
                severity: 'error',
                start: at,
                end: { line: at.line, character: at.character + 1 },
              });
              this.afterArrayReported = true;
            }
            this.phase = 'done';
          }
          break;
        }
        case 'jsonlGap': {
          if (isWhitespace(c)) this.advanceGap(c);
          else this.beginSample('line');
          break;
        }
        case 'objectsGap': {
          if (isWhitespace(c)) this.advanceGap(c);
          else if (c === COMMA) {
            this.advanceGap(c);
          } else this.beginSample(c === BRACE_OPEN || c === BRACKET_OPEN ? 'container' : 'line');
          break;
        }
        default:
          return;
      }
    }
  }

  private beginSample(kind: 'container' | 'string' | 'scalar' | 'line'): void {
    this.sampleStart = this.i;
    this.samplePos = this.here();
    this.sampleKind = kind;
    this.depth = 0;
    this.phase = 'sample';
  }

  /** Scans the current sample; returns false when more bytes are needed. */
  private scanSample(out: RawSample[], final: boolean): boolean {
    const buf = this.buf;
    let j = this.i;
    let end = -1;
    switch (this.sampleKind) {
      case 'line': {
        const nl = buf.indexOf(NEWLINE, j);
        if (nl >= 0) {
          end = nl;
          j = nl;
        } else j = buf.length;
        break;
      }
      case 'string':
      case 'scalar':
      case 'container': {
        const len = buf.length;
        const stops = this.sampleKind === 'scalar' ? scalarStops : containerStops;
        while (j < len) {
          // Skip bytes that cannot change the structure (most of a pretty-printed file is indentation).
          while (j < len && stops[buf[j]!] === 0) j++;
          if (j >= len) break;
          const c = buf[j]!;
          if (this.sampleKind === 'scalar' && (c === COMMA || c === BRACKET_CLOSE || c === BRACE_CLOSE || isWhitespace(c))) {
            // A stray "}" where a sample should start is itself the (invalid) sample; always make progress.
            end = j === this.sampleStart ? j + 1 : j;
            break;
          }
          if (c === DQUOTE || c === SQUOTE) {
            const close = findClosingQuote(buf, j, c);
            if (close < 0) break; // need more bytes; rescan this string then
            j = close + 1;
            if (this.sampleKind === 'string') {
              end = j;
              break;
            }
            continue;
          }
          if (c === BRACE_OPEN || c === BRACKET_OPEN) this.depth++;
          else if (c === BRACE_CLOSE || c === BRACKET_CLOSE) {
            this.depth--;
            if (this.depth <= 0) {
              end = j + 1;
              j = end;
              break;
            }
          }
          j++;
        }
        break;
      }
    }
    if (end < 0 && final) end = buf.length;
    if (end < 0) {
      this.i = j;
      if (j - this.sampleStart > this.maxSampleBytes && this.phase === 'sample') this.startSkipping();
      if (this.phase === 'skipSample') this.dropSkippedBytes();
      return false;
    }
    // Trim trailing \r of a JSON Lines record.
    let textEnd = end;
    if (this.sampleKind === 'line') while (textEnd > this.sampleStart && isWhitespace(buf[textEnd - 1]!)) textEnd--;
    if (this.phase === 'skipSample') {
      this.advancePositionOver(this.sampleStart, end);
      this.i = end;
    } else if (end - this.sampleStart > this.maxSampleBytes) {
      this.reportTooLarge();
      this.advancePositionOver(this.sampleStart, end);
      this.i = end;
    } else {
      const sample = new RawSample(this.index, buf, this.sampleStart, textEnd, this.samplePos, this.bufAbs + this.sampleStart);
      out.push(sample);
      this.advancePositionOverSample(sample);
      this.col += end - textEnd; // trailing whitespace of a JSON Lines record (ASCII)
      this.i = end;
      if (this.firstObjectPending) {
        this.firstObjectPending = false;
        if (sample.latin1.includes('\n')) this.container = 'objects';
      }
    }
    this.index++;
    if (this.container === 'array') {
      this.phase = 'arrayGap';
      this.expectValue = false;
    } else if (this.container === 'jsonl') {
      this.phase = 'jsonlGap';
    } else {
      this.phase = 'objectsGap';
      if (!this.jsonlNotice && this.index === 1) {
        this.jsonlNotice = true;
        this.issues.push({
          message: 'The top level is a multi-line JSON object, not an array of samples nor JSON Lines (one sample per line). Wrap the samples in "[ ]", or put each on one line.',
          severity: 'error',
          start: this.samplePos,
          end: { line: this.samplePos.line, character: this.samplePos.character + 1 },
        });
      }
    }
    if (final && this.i >= buf.length && this.container === 'array' && this.phase === 'arrayGap') {
      // truncated inside the last sample: end() reports the missing "]"
    }
    return true;
  }

  private startSkipping(): void {
    this.reportTooLarge();
    this.phase = 'skipSample';
  }

  private reportTooLarge(): void {
    const mb = Math.round(this.maxSampleBytes / (1024 * 1024));
    this.issues.push({
      message: `Sample ${this.index} is larger than ${mb} MB; it was not checked (a training loader would hold it in memory at once). Split or shorten it.`,
      severity: 'error',
      start: this.samplePos,
      end: { line: this.samplePos.line, character: this.samplePos.character + 1 },
    });
  }

  /** While skipping an oversized sample, forget the bytes scanned so far (keeping an unfinished string's start). */
  private dropSkippedBytes(): void {
    const keep = Math.min(this.i, this.buf.length);
    this.advancePositionOver(this.sampleStart, keep);
    this.sampleStart = keep;
  }

  private advancePositionOver(start: number, end: number): void {
    const buf = this.buf;
    let p = start;
    let lastLineStart = -1;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, p);
      if (nl < 0 || nl >= end) break;
      this.line++;
      lastLineStart = nl + 1;
      p = nl + 1;
    }
    if (lastLineStart >= 0) this.col = utf16Length(buf, lastLineStart, end);
    else this.col += utf16Length(buf, start, end);
  }

  private advancePositionOverSample(sample: RawSample): void {
    const text = sample.latin1;
    let nl = text.indexOf('\n');
    let last = -1;
    while (nl >= 0) {
      this.line++;
      last = nl;
      nl = text.indexOf('\n', nl + 1);
    }
    // A JSON Lines record ends at a newline, which resets the column anyway.
    if (this.sampleKind === 'line' && !this.exactEnds) return;
    const ascii = !/[\x80-\xff]/.test(last < 0 ? text : text.slice(last + 1));
    // Decode non-ASCII tails: invalid UTF-8 becomes U+FFFD exactly as the editor shows it.
    const tailLength = ascii ? text.length - last - 1 : last < 0 ? sample.text.length : sample.bytes.toString('utf8', last + 1).length;
    if (last < 0) this.col += tailLength;
    else this.col = tailLength;
    sample.end = { line: this.line, character: this.col };
  }
}

/** Index of the quote closing the string opened at `open`, or -1 if it is not in `buf` yet. */
function findClosingQuote(buf: Buffer, open: number, quote: number): number {
  let k = buf.indexOf(quote, open + 1);
  while (k >= 0) {
    let backslashes = 0;
    let b = k - 1;
    while (b > open && buf[b] === BACKSLASH) {
      backslashes++;
      b--;
    }
    if (backslashes % 2 === 0) return k;
    k = buf.indexOf(quote, k + 1);
  }
  return -1;
}

function describeByte(buf: Buffer, i: number): string {
  const c = buf[i]!;
  if (c >= 0x20 && c < 0x7f) return `"${String.fromCharCode(c)}"`;
  return `byte 0x${c.toString(16).padStart(2, '0')}${c === 0 || c < 0x09 ? ' (a binary file?)' : ''}`;
}

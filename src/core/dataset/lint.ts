import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { printParseErrorCode, type Node } from 'jsonc-parser';
import { compareFindings, type Finding, type Position, type Range } from '../lint/findings';
import { detectFormat, isDatasetFormat, type DatasetFormat } from './formats';
import { ImageChecker } from './images';
import { SampleLocator, type JsonPath } from './locate';
import { applyOffsetEdits, equalLengthRepair, pseudoJsonEdits } from './pseudoJson';
import { checkSample, cleanMiniCpmFacts, modelSupportsMultiImage, type FixOp, type SampleFacts, type SampleIssue } from './rules';
import { sampleValidator, type ErrorObject } from './schemas';
import { lintDatasetFilePipelined, pipelineWorkerFor, splitTableWidth, type PipelineOptions } from './pipeline';
import { RawSample, SampleSplitter, type Container, type StructureIssue } from './splitter';

export interface TextEdit {
  range: Range;
  newText: string;
}

/** A quick fix: minimal edits, or a whole-file conversion between a JSON array and JSON Lines. */
export type DatasetFix = { title: string; edits: TextEdit[] } | { title: string; convert: 'array' | 'jsonl' };

export interface DatasetFinding extends Finding {
  /** Index of the sample the finding is in (absent for file-level findings). */
  sample?: number;
  fix?: DatasetFix;
}

export interface SampleInfo {
  index: number;
  id?: string;
  range: Range;
  images: number;
  turns: number;
}

/**
 * Where each sample is, compactly (it crosses from the worker thread to the extension host for every edit):
 * per sample [startLine, startCharacter, endLine, endCharacter, images, turns], and the ids joined by U+0000
 * (U+0001 for a sample without id).
 */
export interface SampleTable {
  ranges: Int32Array;
  ids: string;
}

/** The sample whose text contains the position (samples are in file order), with its id and counts. */
export function sampleAt(table: SampleTable, position: Position, idList: string[] = table.ids.split('\u0000')): SampleInfo | undefined {
  const r = table.ranges;
  const n = r.length / 6;
  const before = (line: number, character: number) => line < position.line || (line === position.line && character <= position.character);
  let lo = 0;
  let hi = n - 1;
  if (n === 0 || !before(r[0]!, r[1]!)) return undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (before(r[mid * 6]!, r[mid * 6 + 1]!)) lo = mid;
    else hi = mid - 1;
  }
  const k = lo * 6;
  if (!(position.line < r[k + 2]! || (position.line === r[k + 2]! && position.character <= r[k + 3]!))) return undefined;
  const id = idList[lo];
  return {
    index: lo,
    id: id === undefined || id === '\u0001' ? undefined : id,
    range: { start: { line: r[k]!, character: r[k + 1]! }, end: { line: r[k + 2]!, character: r[k + 3]! } },
    images: r[k + 4]!,
    turns: r[k + 5]!,
  };
}

export interface DatasetLintOptions {
  /** Forced format; undefined or 'auto' detects it from the first samples. */
  format?: string;
  /** Folder relative media paths resolve against (default: the dataset's folder, or the cwd without a file). */
  baseDir?: string;
  /** Path of the dataset (for the default base folder and extension hints). */
  filePath?: string;
  /** Warn about samples estimated longer than this many tokens (0: off). */
  modelMaxLength?: number;
  /** The model to be fine-tuned (Hugging Face id or path), where known: enables model-specific rules (DS-MULTI-MODEL). */
  model?: string;
  /** Check that media files exist and are images (default true). */
  checkMediaFiles?: boolean;
  /** Record each sample's range, id and counts (for hovers). */
  collectSamples?: boolean;
  maxSampleBytes?: number;
  /**
   * {@link lintDatasetFile} only: how large files are read on this thread and parsed and checked on a worker
   * thread (same findings; see pipeline.ts). false: always on this thread.
   */
  pipeline?: PipelineOptions | false;
  signal?: AbortSignal;
  /** Called after each chunk read from disk. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export interface DatasetLintResult {
  format: DatasetFormat;
  /** True when the format was detected rather than forced. */
  detected: boolean;
  container: Container;
  samples: number;
  findings: DatasetFinding[];
  /** With `collectSamples`: where each sample is (hovers). */
  sampleTable?: SampleTable;
}

const detectionWindow = 32;
const readChunkBytes = 4 * 1024 * 1024;

interface Parsed {
  raw: RawSample;
  value: unknown;
  /** Locator over a same-length repair of the text, when the sample only parsed after repair. */
  locator?: SampleLocator;
  /** The parse failed and nothing could be checked. */
  unparsed?: boolean;
  /** Parsed from the one-byte (latin1) view: good for checks of ASCII markup, not for positions or messages. */
  oneByte?: boolean;
  /** `cleanMiniCpmFacts` of the one-byte view, computed by the reading thread (`value` is then not parsed here). */
  facts?: SampleFacts;
}

/** Lints a dataset pushed in byte chunks; memory stays bounded by the largest sample. */
export class DatasetLintSession {
  private readonly splitter: SampleSplitter;
  private readonly findings: DatasetFinding[] = [];
  private readonly pending: Parsed[] = [];
  private format: DatasetFormat | undefined;
  private readonly forced: boolean;
  /** First sample index of each id (keyed by the id's bytes), and each sample's first line. */
  private readonly ids = new Map<string, number>();
  private sampleLines = new Int32Array(1024);
  private readonly images = new ImageChecker();
  /** Media paths as written in the file → their problem (false: fine). */
  private readonly media = [0, 1, 2, 3].map(() => new Map<string, { file: string; detail: string } | false>());
  private readonly baseDir: string;
  private sampleRanges: Int32Array | undefined;
  private readonly sampleIds: string[] = [];
  private count = 0;
  private recorded = 0;
  /** Check samples on their one-byte view first and decode UTF-8 only for samples with findings. */
  private readonly fast: boolean;

  constructor(private readonly options: DatasetLintOptions = {}) {
    this.splitter = new SampleSplitter({ maxSampleBytes: options.maxSampleBytes, exactEnds: options.collectSamples });
    this.forced = isDatasetFormat(options.format);
    if (isDatasetFormat(options.format)) this.format = options.format;
    this.baseDir = options.baseDir ?? (options.filePath ? path.dirname(options.filePath) : process.cwd());
    if (options.collectSamples) this.sampleRanges = new Int32Array(6 * 256);
    this.fast = true;
  }

  push(chunk: Buffer): void {
    for (const raw of this.splitter.push(chunk)) this.accept(raw);
  }

  /** See {@link SampleSplitter.pushRegion}: returns the offset from which the caller keeps the region's bytes. */
  pushRegion(region: Buffer): number {
    const { samples, keep } = this.splitter.pushRegion(region);
    for (const raw of samples) this.accept(raw);
    return keep;
  }

  end(rest?: Buffer): DatasetLintResult {
    for (const raw of this.splitter.end(rest)) this.accept(raw);
    return this.finish(this.splitter.container, this.splitter.issues);
  }

  /**
   * Samples split by another thread (the reading thread of {@link lintDatasetFilePipelined}), held in `bytes`;
   * `table` describes them, {@link splitTableWidth} numbers per sample (see `encodeSplitTable`).
   */
  pushSplit(bytes: Buffer, table: Float64Array, facts?: readonly (SampleFacts | undefined)[]): void {
    const useFacts = facts !== undefined && this.format === 'minicpmv' && !((this.options.modelMaxLength ?? 0) > 0);
    for (let k = 0; k + splitTableWidth <= table.length; k += splitTableWidth) {
      const raw = new RawSample(table[k]!, bytes, table[k + 1]!, table[k + 2]!, { line: table[k + 3]!, character: table[k + 4]! }, table[k + 5]!);
      if (table[k + 6]! >= 0) raw.end = { line: table[k + 6]!, character: table[k + 7]! };
      const known = useFacts ? facts[k / splitTableWidth] : undefined;
      if (known) {
        // The other thread parsed its one-byte view and found it clean: what issuesOf would find itself.
        this.count++;
        this.check({ raw, value: undefined, oneByte: true, facts: known });
        raw.release();
      } else this.accept(raw);
    }
  }

  /** The format, once detected (or forced). */
  get currentFormat(): DatasetFormat | undefined {
    return this.format;
  }

  /** Ends a session fed by {@link pushSplit}, with the other thread's splitter verdict on the container and its issues. */
  endSplit(container: Container, structureIssues: readonly StructureIssue[]): DatasetLintResult {
    return this.finish(container, structureIssues);
  }

  private finish(container: Container, structureIssues: readonly StructureIssue[]): DatasetLintResult {
    this.flushPending();
    const format = this.format ?? detectFormat([], this.options.filePath);
    for (const issue of structureIssues) this.findings.push(structureFinding(issue));
    this.containerRules(format, container);
    this.findings.sort(compareFindings);
    return {
      format,
      detected: !this.forced,
      container,
      samples: this.count,
      findings: this.findings,
      sampleTable: this.sampleRanges ? { ranges: this.sampleRanges.slice(0, 6 * this.recorded), ids: this.sampleIds.join('\u0000') } : undefined,
    };
  }

  private accept(raw: RawSample): void {
    this.count++;
    const parsed = this.parse(raw);
    if (this.format === undefined) {
      // Held past this push: detach from the caller's read buffer.
      parsed.raw = RawSample.detached(raw);
      if (parsed.locator) parsed.locator = new SampleLocator(parsed.raw, parsed.locator.text);
      this.pending.push(parsed);
      if (this.pending.length >= detectionWindow) this.flushPending();
      return;
    }
    this.check(parsed);
    // The splitter hands over a whole chunk of samples at once: let each one's strings go as soon as it is done.
    raw.release();
  }

  private flushPending(): void {
    if (this.format === undefined) this.format = detectFormat(this.pending.map((p) => p.value), this.options.filePath);
    for (const parsed of this.pending) this.check(parsed);
    this.pending.length = 0;
  }

  private parse(raw: RawSample): Parsed {
    try {
      return this.fast ? { raw, value: JSON.parse(raw.latin1), oneByte: true } : { raw, value: JSON.parse(raw.text) };
    } catch {
      // fall through to the tolerant parser for a position and a repair
    }
    const locator = new SampleLocator(raw);
    const root = locator.root();
    const error = locator.parseErrors[0];
    const edits = pseudoJsonEdits(raw.text);
    let repairedValue: unknown;
    let repairedOk = false;
    if (edits.length) {
      try {
        repairedValue = JSON.parse(applyOffsetEdits(raw.text, edits));
        repairedOk = true;
      } catch {
        repairedOk = false;
      }
    }
    const range = error ? locator.range(error.offset, Math.max(1, error.length)) : locator.sampleStartRange();
    if (repairedOk) {
      this.findings.push({
        rule: 'DS-JSON',
        severity: 'error',
        message:
          "README-style pseudo-JSON (single quotes, trailing commas or Python literals): Python's json.load fails on it (\"Expecting property name enclosed in double quotes\" / \"Expecting value\"). Convert it to JSON.",
        range,
        sample: raw.index,
        fix: { title: 'Convert pseudo-JSON to JSON', edits: edits.map((e) => ({ range: locator.range(e.offset, e.length), newText: e.newText })) },
      });
      const same = equalLengthRepair(raw.text, edits);
      if (same !== undefined) return { raw, value: repairedValue, locator: new SampleLocator(raw, same) };
      return { raw, value: undefined, unparsed: true };
    }
    const what = error ? describeParseError(printParseErrorCode(error.error)) : root ? 'invalid JSON' : 'nesting too deep to parse';
    this.findings.push({
      rule: 'DS-JSON',
      severity: 'error',
      message: `Invalid JSON in sample ${raw.index}: ${what}. Python's json.load fails on the whole file; fix the sample or remove it.`,
      range,
      sample: raw.index,
    });
    return { raw, value: undefined, unparsed: true };
  }

  private check(parsed: Parsed): void {
    if (parsed.unparsed) {
      this.recordInfo(parsed, undefined, 0, 0);
      return;
    }
    let issues = this.issuesOf(parsed);
    if (issues.length && parsed.oneByte) {
      // Something to report: redo the sample on its UTF-8 text, so messages and string offsets are exact.
      parsed = { raw: parsed.raw, value: JSON.parse(parsed.raw.text) };
      issues = this.issuesOf(parsed, true);
    }
    let locator = parsed.locator;
    if (issues.length) {
      locator ??= new SampleLocator(parsed.raw);
      for (const issue of issues) this.findings.push(this.toFinding(issue, locator, parsed.locator !== undefined));
    }
  }

  /** Schema, semantic, duplicate-id and media issues of one parsed sample. */
  private issuesOf(parsed: Parsed, again = false): SampleIssue[] {
    const format = this.format!;
    const { raw, value } = parsed;
    const issues: SampleIssue[] = [];
    // Clean MiniCPM-V samples (nearly all, in practice) are recognised without the schema and the full rules.
    const modelMaxLength = this.options.modelMaxLength ?? 0;
    let facts = parsed.facts ?? (format === 'minicpmv' && modelMaxLength <= 0 ? cleanMiniCpmFacts(value) : undefined);
    if (!facts) {
      const validate = sampleValidator(format);
      if (!validate(value)) issues.push(...schemaIssues(validate.errors ?? [], value, format));
      const checked = checkSample(value, format, { modelMaxLength });
      issues.push(...checked.issues);
      facts = checked.facts;
    }
    if (format === 'minicpmv' && facts.images > 1 && this.options.model && modelSupportsMultiImage(this.options.model) === false) {
      issues.push({
        rule: 'DS-MULTI-MODEL',
        severity: 'error',
        message: `${facts.images} images in one sample, but ${path.basename(this.options.model)} cannot be fine-tuned on several images per sample (only MiniCPM-V 2.6, MiniCPM-o 2.6 and later, LLM_TYPE=qwen). Use one image per sample or a later model.`,
        path: ['image'],
        target: 'key',
      });
    }
    if (facts.id !== undefined) {
      // Ids are keyed by their bytes, so both views of a sample agree.
      const key = parsed.oneByte ? facts.id : Buffer.from(facts.id, 'utf8').toString('latin1');
      const first = this.ids.get(key);
      if (first !== undefined && first !== raw.index) {
        issues.push({
          rule: 'DS-DUP-ID',
          severity: 'warning',
          message: `Duplicate id "${facts.id}" (also sample ${first}, line ${this.sampleLines[first]! + 1}); ids are how you find a sample in logs and evaluations. Make it unique.`,
          path: ['id'],
          target: 'value',
        });
      } else if (first === undefined && !again) {
        this.ids.set(key, raw.index);
        if (raw.index >= this.sampleLines.length) {
          const grown = new Int32Array(Math.max(raw.index + 1, this.sampleLines.length * 2));
          grown.set(this.sampleLines);
          this.sampleLines = grown;
        }
        this.sampleLines[raw.index] = raw.start.line;
      }
    }
    if (this.options.checkMediaFiles !== false) {
      for (const media of facts.media) {
        const status = this.mediaStatus(media.file, media.kind, parsed.oneByte === true);
        if (status) {
          issues.push({
            rule: 'DS-IMG-FILE',
            severity: 'error',
            message: `${media.kind === 'image' ? 'Image' : 'Video'} "${status.file}" ${status.detail} (resolved against ${this.baseDir}); the loader fails on this sample ("data fetch error"). Fix the path or the base folder (setting dataset.imageBaseDir, --base-dir).`,
            path: media.path,
            target: media.span ? 'span' : 'value',
            span: media.span,
          });
        }
      }
    }
    if (!again) this.recordInfo(parsed, facts.id, facts.images, facts.turns, parsed.locator);
    return issues;
  }

  /** Problem with a referenced media file, or undefined when it is fine; memoised per path as written. */
  private mediaStatus(written: string, kind: 'image' | 'video', oneByte: boolean): { file: string; detail: string } | undefined {
    const memo = this.media[(oneByte ? 0 : 2) + (kind === 'image' ? 0 : 1)]!;
    const known = memo.get(written);
    if (known !== undefined) return known || undefined;
    let problem: { file: string; detail: string } | false = false;
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(written)) {
      // URLs are fetched by the loader; paths from the one-byte view are UTF-8 bytes to decode.
      const file = oneByte && /[\x80-\xff]/.test(written) ? Buffer.from(written, 'latin1').toString('utf8') : written;
      const status = this.images.check(path.resolve(this.baseDir, file), kind);
      if (!status.ok) problem = { file, detail: status.detail };
    }
    if (memo.size > 100_000) memo.clear();
    memo.set(written, problem);
    return problem || undefined;
  }

  private recordInfo(parsed: Parsed, id: string | undefined, images: number, turns: number, _locator?: SampleLocator): void {
    if (!this.sampleRanges) return;
    const raw = parsed.raw;
    const end = raw.end ?? new SampleLocator(raw).position(raw.text.length);
    if (6 * (this.recorded + 1) > this.sampleRanges.length) {
      const grown = new Int32Array(this.sampleRanges.length * 2);
      grown.set(this.sampleRanges);
      this.sampleRanges = grown;
    }
    const ranges = this.sampleRanges;
    const at = 6 * this.recorded;
    ranges[at] = raw.start.line;
    ranges[at + 1] = raw.start.character;
    ranges[at + 2] = end.line;
    ranges[at + 3] = end.character;
    ranges[at + 4] = images;
    ranges[at + 5] = turns;
    this.recorded++;
    // Ids read from the one-byte view are UTF-8 bytes.
    const shown = id === undefined ? '\u0001' : parsed.oneByte && /[\x80-\xff]/.test(id) ? Buffer.from(id, 'latin1').toString('utf8') : id;
    this.sampleIds.push(shown.includes('\u0000') ? shown.split('\u0000').join(' ') : shown);
  }


  private toFinding(issue: SampleIssue, locator: SampleLocator, repaired: boolean): DatasetFinding {
    const finding: DatasetFinding = {
      rule: issue.rule,
      severity: issue.severity,
      message: issue.message,
      range: issueRange(issue, locator),
      sample: locator.sample.index,
    };
    if (issue.fix && !repaired) {
      const edits = issue.fix.ops.map((op) => opEdit(op, locator)).filter((e): e is TextEdit => e !== undefined);
      if (edits.length === issue.fix.ops.length) finding.fix = { title: issue.fix.title, edits };
    }
    return finding;
  }

  private containerRules(format: DatasetFormat, container: Container): void {
    const at: Position = { line: 0, character: 0 };
    const range = { start: at, end: { line: 0, character: 1 } };
    if (container === 'jsonl' && this.count > 0 && (format === 'minicpmv' || format === 'llava' || format === 'sharegpt' || format === 'qwen' || format === 'llamafactory')) {
      this.findings.push({
        rule: 'DS-JSON',
        severity: 'error',
        message: `This ${format === 'sharegpt' ? 'ShareGPT' : format === 'qwen' ? "Qwen's finetune.py" : format === 'llava' ? 'LLaVA' : format === 'llamafactory' ? 'LLaMA-Factory' : 'MiniCPM-V'} loader reads the file with json.load: JSON Lines fail with "Extra data". Convert the file to a JSON array.`,
        range,
        fix: { title: 'Convert JSON Lines to a JSON array', convert: 'array' },
      });
    }
    if (container === 'array' && format === 'messages' && this.count > 0) {
      this.findings.push({
        rule: 'QWEN25-JSONL',
        severity: 'info',
        message: "Qwen2.5's examples/sft/finetune.py reads JSON Lines (json.loads per line); a JSON array fails there. Convert it if you train with that script.",
        range,
        fix: { title: 'Convert the JSON array to JSON Lines', convert: 'jsonl' },
      });
    }
  }
}

function describeParseError(code: string): string {
  const words: Record<string, string> = {
    InvalidSymbol: 'unexpected character',
    InvalidNumberFormat: 'invalid number',
    PropertyNameExpected: 'expected a property name in double quotes',
    ValueExpected: 'expected a value',
    ColonExpected: 'expected ":"',
    CommaExpected: 'expected ","',
    CloseBraceExpected: 'expected "}" (unclosed object, truncated?)',
    CloseBracketExpected: 'expected "]" (unclosed array, truncated?)',
    EndOfFileExpected: 'unexpected text after the value',
    UnexpectedEndOfString: 'unterminated string',
    UnexpectedEndOfNumber: 'unterminated number',
    InvalidUnicode: 'invalid \\u escape',
    InvalidEscapeCharacter: 'invalid escape character',
    InvalidCharacter: 'control character in a string (escape it, e.g. \\n)',
    InvalidCommentToken: 'comments are not allowed in JSON',
    UnexpectedEndOfComment: 'unterminated comment',
  };
  return words[code] ?? code;
}

function structureFinding(issue: StructureIssue): DatasetFinding {
  const finding: DatasetFinding = { rule: 'DS-JSON', severity: issue.severity, message: issue.message, range: { start: issue.start, end: issue.end } };
  if (issue.fix) finding.fix = { title: issue.fix.title, edits: issue.fix.edits.map((e) => ({ range: { start: e.start, end: e.end }, newText: e.newText })) };
  return finding;
}

/** Ranges are the key, the scalar value, or (for objects and arrays) their key or opening bracket. */
function issueRange(issue: SampleIssue, locator: SampleLocator): Range {
  if (issue.target === 'span' && issue.span) {
    const range = locator.stringSpanRange(issue.path, issue.span[0], issue.span[1]);
    if (range) return range;
  }
  if (issue.target === 'key') {
    const key = locator.keyNode(issue.path);
    if (key) return locator.nodeRange(key);
  }
  const node = locator.nearest(issue.path);
  if (!node) return locator.sampleStartRange();
  return compactRange(node, locator);
}

function compactRange(node: Node, locator: SampleLocator): Range {
  if (node.type === 'object' || node.type === 'array') {
    const property = node.parent;
    if (property?.type === 'property' && property.children?.[0]) return locator.nodeRange(property.children[0]);
    return locator.range(node.offset, 1);
  }
  return locator.nodeRange(node);
}

function opEdit(op: FixOp, locator: SampleLocator): TextEdit | undefined {
  switch (op.op) {
    case 'renameKey': {
      const key = locator.keyNode(op.path);
      return key ? { range: locator.nodeRange(key), newText: JSON.stringify(op.key) } : undefined;
    }
    case 'setString': {
      const node = locator.node(op.path);
      return node ? { range: locator.nodeRange(node), newText: JSON.stringify(op.value) } : undefined;
    }
    case 'replaceSpan': {
      const offsets = locator.stringSpanOffsets(op.path, op.from, op.to);
      if (!offsets) return undefined;
      return { range: locator.range(offsets[0], offsets[1] - offsets[0]), newText: JSON.stringify(op.text).slice(1, -1) };
    }
  }
}

function toJsonPath(instancePath: string, value: unknown): JsonPath {
  const out: JsonPath = [];
  let cursor: unknown = value;
  for (const raw of instancePath.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cursor)) {
      const n = Number(segment);
      out.push(n);
      cursor = cursor[n];
    } else {
      out.push(segment);
      cursor = cursor && typeof cursor === 'object' ? (cursor as Record<string, unknown>)[segment] : undefined;
    }
  }
  return out;
}

function schemaIssues(errors: ErrorObject[], value: unknown, format: DatasetFormat): SampleIssue[] {
  const oneOf = errors.find((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  const error = oneOf ?? errors[0];
  if (!error) return [];
  const p = toJsonPath(error.instancePath, value);
  const where = error.instancePath ? `"${p.join('.')}"` : 'The sample';
  if (error.keyword === 'required') {
    const missing = String((error.params as { missingProperty?: string }).missingProperty);
    if (format === 'minicpmv' && missing === 'image') {
      return [
        {
          rule: 'DS-IMG-MISSING',
          severity: 'error',
          message:
            'No "image": MiniCPM-V\'s finetune code needs one per sample; text-only samples fail and are silently replaced by random other samples ("data fetch error"). Add an image, or train text-only data with LLaMA-Factory.',
          path: p,
          target: 'value',
        },
      ];
    }
    return [{ rule: 'DS-SCHEMA', severity: 'error', message: `${where} has no "${missing}" (required by the ${format} format); the loader fails on it. Add it.`, path: p, target: 'value' }];
  }
  if (oneOf && p.length === 1 && p[0] === 'image') {
    return [
      {
        rule: 'DS-SCHEMA',
        severity: 'error',
        message:
          format === 'minicpmv'
            ? '"image" must be a path string or an object {"<image_00>": path, …} with keys <image> or <image_NN>.'
            : '"image" must be a path string or a list of path strings.',
        path: p,
        target: 'value',
      },
    ];
  }
  if (oneOf) {
    return [{ rule: 'DS-SCHEMA', severity: 'error', message: `${where} has the wrong shape for the ${format} format (${oneOf.message ?? 'no alternative matches'}).`, path: p, target: 'value' }];
  }
  if (error.keyword === 'type') {
    const expected = String((error.params as { type?: string }).type);
    return [{ rule: 'DS-SCHEMA', severity: 'error', message: `${where} must be ${expected.includes(',') ? 'one of ' + expected : 'a ' + expected} in the ${format} format.`, path: p, target: 'value' }];
  }
  if (error.keyword === 'propertyNames') {
    const name = String((error.params as { propertyName?: string }).propertyName);
    return [{ rule: 'DS-SCHEMA', severity: 'error', message: `Image key "${name}" must be <image> or <image_NN> (e.g. <image_00>).`, path: [...p, name], target: 'key' }];
  }
  return [{ rule: 'DS-SCHEMA', severity: 'error', message: `${where} ${error.message ?? 'does not match the schema'} (${format} format).`, path: p, target: 'value' }];
}

/** Lints a dataset held in memory (an open editor). */
export function lintDatasetText(text: string, options: DatasetLintOptions = {}): DatasetLintResult {
  return lintDatasetBytes(Buffer.from(text, 'utf8'), options);
}

/** lintDatasetText of the UTF-8 encoding of a text, when the bytes are at hand (a file read whole): no decoding. */
export function lintDatasetBytes(bytes: Buffer, options: DatasetLintOptions = {}): DatasetLintResult {
  const session = new DatasetLintSession(options);
  session.push(bytes);
  return session.end();
}

/**
 * lintDatasetText in slices of `sliceBytes` with a yield between them, so a worker can take in the next edit
 * meanwhile and abort (through `signal`) a lint that edit made stale instead of finishing it.
 */
export async function lintDatasetTextInSlices(text: string, options: DatasetLintOptions & { sliceBytes?: number } = {}): Promise<DatasetLintResult> {
  const { sliceBytes = 1024 * 1024, ...lintOptions } = options;
  const session = new DatasetLintSession(lintOptions);
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; at += sliceBytes) {
    if (at > 0) await new Promise((resolve) => setImmediate(resolve));
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('cancelled');
    session.push(bytes.subarray(at, at + sliceBytes));
  }
  return session.end();
}

/** Lints a dataset file from disk in chunks, so gigabyte files never sit in memory. */
export async function lintDatasetFile(filePath: string, options: DatasetLintOptions = {}): Promise<DatasetLintResult> {
  const workerScript = pipelineWorkerFor(filePath, options.pipeline);
  if (workerScript) return lintDatasetFilePipelined(filePath, workerScript, options);
  const session = new DatasetLintSession({ ...options, filePath });
  const fd = openSync(filePath, 'r');
  try {
    const total = fstatSync(fd).size;
    let read = 0;
    let chunks = 0;
    // One buffer for the whole file: what the splitter keeps (an unfinished sample) moves to its front, the next
    // read goes after it. It grows only for samples larger than itself.
    let buffer = Buffer.allocUnsafe(readChunkBytes * 2);
    let kept = 0;
    for (;;) {
      if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('cancelled');
      if (buffer.length - kept < readChunkBytes) {
        const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, kept + readChunkBytes));
        buffer.copy(grown, 0, 0, kept);
        buffer = grown;
      }
      const n = readSync(fd, buffer, kept, readChunkBytes, null);
      if (n === 0) break;
      read += n;
      const region = buffer.subarray(0, kept + n);
      const keep = session.pushRegion(region);
      region.copy(buffer, 0, keep, region.length);
      kept = region.length - keep;
      options.onProgress?.(read, total);
      // Let cancellation and progress messages through now and then.
      if (++chunks % 8 === 0 && (options.signal || options.onProgress)) await new Promise((resolve) => setImmediate(resolve));
    }
    return session.end(Buffer.from(buffer.subarray(0, kept)));
  } finally {
    closeSync(fd);
  }
}

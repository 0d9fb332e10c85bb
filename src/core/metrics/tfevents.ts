import { PbfReader } from 'pbf';
import { crc32cView, mask, maskedCrc32c } from './crc32c';
import { KernelBackoff, kernelSuits, type KernelOptions } from './kernelMemory';
import { TfEventsKernel, type TagSource } from './tfeventsKernel';
import { summaryKey } from './tags';
import type { ParseOutput, ScalarSink, StreamParser } from './types';

/*
 * TensorBoard event files: a TFRecord stream of `Event` protos.
 *   record = uint64 length | uint32 masked_crc32c(length) | data[length] | uint32 masked_crc32c(data)
 * The protos are read with `pbf` (a small maintained protobuf reader) and the field numbers of
 * tensorflow/core/util/event.proto, core/framework/summary.proto and tensor.proto:
 *   Event: 1 wall_time double, 2 step int64, 5 summary
 *   Summary: 1 repeated Value
 *   Value: 1 tag, 2 simple_value float, 8 tensor TensorProto, 9 metadata SummaryMetadata
 *   SummaryMetadata: 1 plugin_data { 1 plugin_name, 2 content }
 *   TensorProto: 1 dtype, 4 tensor_content, 5 float_val, 6 double_val, 7 int_val, 8 string_val, 10 int64_val, 13 half_val
 */

const headerBytes = 12;
const footerBytes = 4;
/** A length above this is taken as corruption rather than a real record (TensorBoard scalars are tiny). */
const maxRecordBytes = 256 * 1024 * 1024;

const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_INT32 = 3;
const DT_INT64 = 9;
const DT_BFLOAT16 = 14;
const DT_HALF = 19;

interface TensorValue {
  dtype: number;
  content?: Uint8Array;
  floats: number[];
  doubles: number[];
  ints: number[];
  halves: number[];
  strings: Uint8Array[];
}

interface SummaryValue {
  tag: string;
  simple?: number;
  plugin?: string;
  pluginContent?: Uint8Array;
  tensor?: TensorValue;
}

interface EventFields {
  wallTime: number;
  step: number;
  values: SummaryValue[];
}

function readTensor(tag: number, tensor: TensorValue, pbf: PbfReader): void {
  if (tag === 1) tensor.dtype = pbf.readVarint();
  else if (tag === 4) tensor.content = pbf.readBytes();
  else if (tag === 5) {
    if (pbf.type === 2) pbf.readPackedFloat(tensor.floats);
    else tensor.floats.push(pbf.readFloat());
  } else if (tag === 6) {
    if (pbf.type === 2) pbf.readPackedDouble(tensor.doubles);
    else tensor.doubles.push(pbf.readDouble());
  } else if (tag === 7 || tag === 10) {
    if (pbf.type === 2) pbf.readPackedVarint(tensor.ints, true);
    else tensor.ints.push(pbf.readVarint(true));
  } else if (tag === 13) {
    if (pbf.type === 2) pbf.readPackedVarint(tensor.halves);
    else tensor.halves.push(pbf.readVarint());
  } else if (tag === 8) tensor.strings.push(pbf.readBytes());
}

function readPluginData(tag: number, value: SummaryValue, pbf: PbfReader): void {
  if (tag === 1) value.plugin = pbf.readString();
  else if (tag === 2) value.pluginContent = pbf.readBytes();
}

function readMetadata(tag: number, value: SummaryValue, pbf: PbfReader): void {
  if (tag === 1) pbf.readMessage(readPluginData, value);
}

function readValue(tag: number, value: SummaryValue, pbf: PbfReader): void {
  if (tag === 1) value.tag = pbf.readString();
  else if (tag === 2) value.simple = pbf.readFloat();
  else if (tag === 9) pbf.readMessage(readMetadata, value);
  else if (tag === 8) value.tensor = pbf.readMessage(readTensor, { dtype: 0, floats: [], doubles: [], ints: [], halves: [], strings: [] });
}

function readSummary(tag: number, event: EventFields, pbf: PbfReader): void {
  if (tag === 1) event.values.push(pbf.readMessage(readValue, { tag: '' }));
}

function readEvent(tag: number, event: EventFields, pbf: PbfReader): void {
  if (tag === 1) event.wallTime = pbf.readDouble();
  else if (tag === 2) event.step = pbf.readVarint(true);
  else if (tag === 5) pbf.readMessage(readSummary, event);
}

/** IEEE 754 half (binary16) bits to a number. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The single number a TB2 scalar tensor holds, or undefined when it is not a numeric scalar. */
export function tensorScalar(tensor: TensorValue): number | undefined {
  const { dtype, content } = tensor;
  if (content && content.length > 0) {
    const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
    if (dtype === DT_FLOAT && content.length >= 4) return view.getFloat32(0, true);
    if (dtype === DT_DOUBLE && content.length >= 8) return view.getFloat64(0, true);
    if (dtype === DT_INT32 && content.length >= 4) return view.getInt32(0, true);
    if (dtype === DT_INT64 && content.length >= 8) return Number(view.getBigInt64(0, true));
    if (dtype === DT_HALF && content.length >= 2) return halfToNumber(view.getUint16(0, true));
    if (dtype === DT_BFLOAT16 && content.length >= 2) return new Float32Array(new Uint32Array([view.getUint16(0, true) << 16]).buffer)[0];
    return undefined;
  }
  if (dtype === DT_FLOAT && tensor.floats.length) return tensor.floats[0];
  if (dtype === DT_DOUBLE && tensor.doubles.length) return tensor.doubles[0];
  if ((dtype === DT_INT32 || dtype === DT_INT64) && tensor.ints.length) return tensor.ints[0];
  if (dtype === DT_HALF && tensor.halves.length) return halfToNumber(tensor.halves[0]);
  if (dtype === DT_BFLOAT16 && tensor.halves.length) return new Float32Array(new Uint32Array([tensor.halves[0] << 16]).buffer)[0];
  return undefined;
}

const utf8 = new TextDecoder('utf-8');

/* hparams plugin: HParamsPluginData { 3 session_start_info: SessionStartInfo { 1 map<string, google.protobuf.Value> hparams } }
 * google.protobuf.Value: 1 null_value, 2 number_value, 3 string_value, 4 bool_value. */
type HparamValue = string | number | boolean | null;
interface HparamEntry {
  key: string;
  value: HparamValue;
}
function readProtoValue(tag: number, entry: HparamEntry, pbf: PbfReader): void {
  if (tag === 1) {
    pbf.readVarint();
    entry.value = null;
  } else if (tag === 2) entry.value = pbf.readDouble();
  else if (tag === 3) entry.value = pbf.readString();
  else if (tag === 4) entry.value = pbf.readBoolean();
}
function readMapEntry(tag: number, entry: HparamEntry, pbf: PbfReader): void {
  if (tag === 1) entry.key = pbf.readString();
  else if (tag === 2) pbf.readMessage(readProtoValue, entry);
}
function readSessionStart(tag: number, out: Record<string, HparamValue>, pbf: PbfReader): void {
  if (tag === 1) {
    const entry = pbf.readMessage(readMapEntry, { key: '', value: null } as HparamEntry);
    if (entry.key) out[entry.key] = entry.value;
  }
}
function readHparamsPluginData(tag: number, out: Record<string, HparamValue>, pbf: PbfReader): void {
  if (tag === 3) pbf.readMessage(readSessionStart, out);
}

export function decodeHparams(content: Uint8Array): Record<string, HparamValue> {
  return new PbfReader(content).readFields(readHparamsPluginData, {} as Record<string, HparamValue>);
}

function joined(a: Uint8Array, b: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(a.length + b.length);
  bytes.set(a, 0);
  bytes.set(b, a.length);
  return bytes;
}

/**
 * A tag's bytes, kept as little-endian 32-bit words too, so a record's tag is matched four bytes at a time: words at
 * 0, 4, 8, ... and, where the length is not a multiple of four, one more ending at the last byte (overlapping).
 */
class KnownTag {
  readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  readonly text: string;
  /** An end-of-training summary key (train_runtime, ...), which the general decoder handles. */
  readonly summary: boolean;

  constructor(bytes: Uint8Array) {
    // A copy: `bytes` may view the caller's reused read buffer.
    this.bytes = new Uint8Array(bytes);
    const length = bytes.length;
    const view = new DataView(this.bytes.buffer);
    const full = length >> 2;
    this.words = new Int32Array(full + (length > 4 && length % 4 !== 0 ? 1 : 0));
    for (let k = 0; k < full; k++) this.words[k] = view.getInt32(4 * k, true);
    if (this.words.length > full) this.words[full] = view.getInt32(length - 4, true);
    this.text = utf8.decode(this.bytes);
    this.summary = summaryKey(this.text) !== undefined;
  }

  /** Whether d[start, start + length) are this tag's bytes (`view` views d). */
  matches(d: Uint8Array, view: DataView, start: number, length: number): boolean {
    const bytes = this.bytes;
    if (bytes.length !== length) return false;
    if (length < 4) {
      for (let k = 0; k < length; k++) if (d[start + k] !== bytes[k]) return false;
      return true;
    }
    const words = this.words;
    const full = length >> 2;
    for (let k = 0; k < full; k++) if (view.getInt32(start + 4 * k, true) !== words[k]) return false;
    return words.length === full || view.getInt32(start + length - 4, true) === words[full];
  }
}

/**
 * Streaming reader of one event file. Feed it the file's bytes in any chunking; a record cut off at the end
 * (the writer is still writing) waits for the next chunk. A record whose CRC does not match is skipped with a
 * warning naming the byte offset; when the length itself is corrupt the reader scans forward to the next record
 * whose header checks out, so the rest of the file is still read.
 */
export class TfEventsParser implements StreamParser, TagSource {
  private pending: Uint8Array = new Uint8Array(0);
  /** File offset of pending[0]. */
  private pendingOffset = 0;
  /** Plugin of each tag: TensorBoard writes the metadata only with a tag's first value. */
  private readonly pluginOfTag = new Map<string, string>();
  private readonly file: string;

  /** Tags the kernel may take records of (not summary keys), by kernel id, with their text; see TagSource. */
  readonly kernelTagBytes: Uint8Array[] = [];
  private readonly kernelTagTexts: string[] = [];
  kernelTagVersion = 0;

  constructor(
    file: string,
    startOffset = 0,
    private readonly options: KernelOptions = {},
  ) {
    this.file = file;
    this.pendingOffset = startOffset;
  }

  /** File offset up to which every byte has been consumed (complete records, or skipped corruption). */
  get consumedOffset(): number {
    return this.pendingOffset;
  }

  /** Bytes of an incomplete record kept for the next push. */
  get pendingBytes(): number {
    return this.pending.length;
  }

  push(input: Uint8Array, sink: ScalarSink): ParseOutput {
    const out: ParseOutput = { warnings: [] };
    // A plain Uint8Array view, Buffer or not: the decoder then sees one kind of array (and stays optimised).
    let chunk = new Uint8Array(input.buffer, input.byteOffset, input.length);
    const pending = this.pending;
    if (pending.length === 0) {
      this.scan(chunk, sink, out);
      return out;
    }
    // Complete the record cut at the end of the previous chunk with the first bytes of this one, so the rest of the
    // chunk (megabytes) is read in place instead of being copied behind the pending bytes. Its header may itself be
    // cut: then its first 12 bytes are put together first.
    const header = pending.length >= headerBytes ? pending : joined(pending, chunk.subarray(0, headerBytes - pending.length));
    if (header.length >= headerBytes) {
      const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
      const needed = headerBytes + view.getUint32(0, true) + footerBytes - pending.length;
      if (view.getUint32(4, true) === 0 && needed > 0 && needed <= chunk.length && view.getUint32(8, true) === maskedCrc32c(header, 0, 8)) {
        const head = joined(pending, chunk.subarray(0, needed));
        this.pending = new Uint8Array(0);
        this.scan(head, sink, out);
        if (this.pending.length === 0) {
          this.scan(chunk.subarray(needed), sink, out);
          return out;
        }
        // Not consumed (cannot happen for a checked header); fall back to joining everything.
        chunk = chunk.subarray(needed);
      }
    }
    const data = new Uint8Array(this.pending.length + chunk.length);
    data.set(this.pending, 0);
    data.set(chunk, this.pending.length);
    this.scan(data, sink, out);
    return out;
  }

  /**
   * The length of the last record whose header checked out, and that header's masked CRC: the header is the length
   * as 8 little-endian bytes, so a record of the same length has the same header CRC (scalar records mostly do).
   */
  private checkedLength = -1;
  private checkedHeaderCrc = 0;
  /**
   * Scanning byte by byte for the next valid header after a corrupt one; kept across pushes, so a corruption read
   * in small chunks is reported once, as in a whole-file read.
   */
  private resyncing = false;

  /** Reads the complete records of `data` (which starts at file offset pendingOffset) and keeps the rest pending. */
  private scan(data: Uint8Array, sink: ScalarSink, out: ParseOutput): void {
    const warnings = out.warnings;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let pbf: PbfReader | undefined;
    const size = data.length;
    let checkedLength = this.checkedLength;
    let checkedHeaderCrc = this.checkedHeaderCrc;
    let pos = 0;
    let resyncing = this.resyncing;
    // Large reads go through the WebAssembly kernel first (a live file's small appends are not worth the copy).
    const kernel = kernelSuits(size, this.options) ? TfEventsKernel.get() : undefined;
    if (kernel) kernel.load(data, 0, size);
    const backoff = new KernelBackoff();
    while (size - pos >= headerBytes) {
      if (backoff.ready() && kernel && !resyncing) {
        kernel.useTags(this);
        const taken = kernel.scan(pos, size);
        const { ids, steps, values, walls } = kernel;
        const texts = this.kernelTagTexts;
        for (let k = 0; k < taken; ) {
          // Records of one tag in a row with rising steps go to a sink that takes runs at once (a file of one
          // scalar); the Trainer's files interleave their tags, so those are added one by one.
          const id = ids[k]!;
          let end = k + 1;
          if (sink.appendRun) while (end < taken && ids[end] === id && steps[end]! > steps[end - 1]!) end++;
          if (end - k > 1 && sink.appendRun!(texts[id]!, steps, walls, k, end - k, values, k, 1)) {
            k = end;
            continue;
          }
          for (; k < end; k++) sink.add(texts[id]!, steps[k]!, values[k]!, walls[k]!);
        }
        pos = kernel.stoppedAt;
        // The record the kernel stopped at is read below.
        backoff.took(taken);
        if (size - pos < headerBytes) break;
      }
      // Signed reads: CRCs compare as small integers (no doubles for values above 2^31).
      const length = view.getInt32(pos, true);
      const lengthHigh = view.getInt32(pos + 4, true);
      const storedHeaderCrc = view.getInt32(pos + 8, true);
      let headerOk: boolean;
      if (length === checkedLength && lengthHigh === 0) headerOk = storedHeaderCrc === checkedHeaderCrc;
      else {
        const crc = mask(crc32cView(data, view, pos, pos + 8));
        headerOk = storedHeaderCrc === crc;
        if (headerOk && lengthHigh === 0) {
          checkedLength = length;
          checkedHeaderCrc = crc;
        }
      }
      if (!headerOk || lengthHigh !== 0 || length < 0 || length > maxRecordBytes) {
        if (!resyncing) {
          warnings.push({
            file: this.file,
            offset: this.pendingOffset + pos,
            message: `corrupt TFRecord header at byte ${this.pendingOffset + pos} (length CRC mismatch); skipping to the next valid record`,
          });
          resyncing = true;
        }
        pos++;
        continue;
      }
      const end = pos + headerBytes + length + footerBytes;
      if (end > size) break; // incomplete record: wait for more bytes
      resyncing = false;
      const dataStart = pos + headerBytes;
      if (view.getInt32(dataStart + length, true) !== mask(crc32cView(data, view, dataStart, dataStart + length))) {
        warnings.push({
          file: this.file,
          offset: this.pendingOffset + pos,
          message: `event record at byte ${this.pendingOffset + pos} fails its CRC-32C check (${length} bytes); skipped, the rest of the file is still read`,
        });
      } else {
        try {
          if (!this.decodeOneScalar(data, view, dataStart, dataStart + length, sink) && !this.decodeScalarEvent(data, view, dataStart, dataStart + length, sink)) {
            pbf ??= new PbfReader(data);
            pbf.pos = dataStart;
            pbf.type = 0;
            pbf._valueStart = -1;
            const event = pbf.readFields(readEvent, { wallTime: NaN, step: 0, values: [] } as EventFields, dataStart + length);
            this.collect(event, out, sink);
          }
        } catch (error) {
          warnings.push({
            file: this.file,
            offset: this.pendingOffset + pos,
            message: `event record at byte ${this.pendingOffset + pos} is not a valid Event proto (${(error as Error).message}); skipped`,
          });
        }
      }
      pos = end;
    }
    this.checkedLength = checkedLength;
    this.checkedHeaderCrc = checkedHeaderCrc;
    this.resyncing = resyncing;
    // Keep the unconsumed tail as a copy, so the caller may reuse its chunk buffer (Buffer#slice would not copy).
    this.pending = new Uint8Array(data.length - pos);
    this.pending.set(data.subarray(pos));
    this.pendingOffset += pos;
  }

  /** Tags seen so far as bytes, so the common case compares a few words instead of decoding UTF-8 per value. */
  private readonly tagCache: KnownTag[] = [];
  private readonly valueTags: string[] = [];
  private readonly valueNumbers: number[] = [];
  private lastTag: KnownTag | undefined;

  private cachedTag(data: Uint8Array, view: DataView, start: number, length: number): KnownTag {
    const last = this.lastTag;
    if (last !== undefined && last.matches(data, view, start, length)) return last;
    for (const entry of this.tagCache) {
      if (entry.matches(data, view, start, length)) {
        this.lastTag = entry;
        return entry;
      }
    }
    const entry = new KnownTag(data.subarray(start, start + length));
    if (this.tagCache.length < 256) this.tagCache.push(entry);
    if (!entry.summary) {
      this.kernelTagBytes.push(entry.bytes);
      this.kernelTagTexts.push(entry.text);
      this.kernelTagVersion++;
    }
    this.lastTag = entry;
    return entry;
  }

  /**
   * The fastest path, for what the Trainer's SummaryWriter writes per logged scalar: wall_time, a step, and a
   * Summary of exactly one Value with a tag and a simple_value, fields in that order with one-byte lengths:
   *   09 <double> 10 <varint> 2a <n> 0a <n - 2> 0a <tag length> <tag> 15 <float>
   * Each byte of that layout is checked; anything else returns false for decodeScalarEvent. No point is added
   * before the whole record checked out.
   */
  private decodeOneScalar(d: Uint8Array, view: DataView, start: number, end: number, sink: ScalarSink): boolean {
    if (end - start < 22 || d[start] !== 0x09 || d[start + 9] !== 0x10) return false;
    let p = start + 10;
    let b = d[p++];
    let step = b & 0x7f;
    if (b & 0x80) {
      let scale = 128;
      do {
        b = d[p++];
        step += (b & 0x7f) * scale;
        scale *= 128;
      } while (b & 0x80 && p < end);
    }
    if (d[p] !== 0x2a || d[p + 1] !== end - p - 2 || d[p + 2] !== 0x0a || d[p + 3] !== end - p - 4 || d[p + 4] !== 0x0a) return false;
    const tagLength = d[p + 5];
    p += 6;
    if (p + tagLength + 5 !== end || d[p + tagLength] !== 0x15) return false;
    const tag = this.cachedTag(d, view, p, tagLength);
    if (tag.summary) return false;
    sink.add(tag.text, step, view.getFloat32(end - 4, true), view.getFloat64(start + 1, true));
    return true;
  }

  /**
   * The fast path for what nearly every record is: an Event with wall_time, step and a Summary of values that have
   * only a tag and a simple_value (field numbers as in the comment at the top). Anything else (metadata, tensors,
   * file_version, summary tags) returns false and goes through the general decoder.
   */
  private decodeScalarEvent(d: Uint8Array, view: DataView, start: number, end: number, sink: ScalarSink): boolean {
    let p = start;
    let wallTime = NaN;
    let step = 0;
    const tags = this.valueTags;
    const numbers = this.valueNumbers;
    // A count instead of `length = 0`: truncating arrays per record showed up in profiles.
    let count = 0;
    while (p < end) {
      const key = d[p++];
      if (key === 0x09) {
        wallTime = view.getFloat64(p, true);
        p += 8;
      } else if (key === 0x10) {
        let b = d[p++];
        step = b & 0x7f;
        let scale = 128;
        while (b & 0x80) {
          b = d[p++];
          step += (b & 0x7f) * scale;
          scale *= 128;
        }
      } else if (key === 0x2a) {
        let b = d[p++];
        let length = b & 0x7f;
        let scale = 128;
        while (b & 0x80) {
          b = d[p++];
          length += (b & 0x7f) * scale;
          scale *= 128;
        }
        const summaryEnd = p + length;
        while (p < summaryEnd) {
          if (d[p++] !== 0x0a) return false;
          const valueLength = d[p++];
          if (valueLength & 0x80) return false;
          const valueEnd = p + valueLength;
          let tag: string | undefined;
          // A number and a flag rather than `number | undefined`, which would box every value as a heap number.
          let value = 0;
          let hasValue = false;
          while (p < valueEnd) {
            const field = d[p++];
            if (field === 0x0a) {
              const tagLength = d[p++];
              if (tagLength & 0x80) return false;
              const cached = this.cachedTag(d, view, p, tagLength);
              if (cached.summary) return false;
              tag = cached.text;
              p += tagLength;
            } else if (field === 0x15) {
              value = view.getFloat32(p, true);
              hasValue = true;
              p += 4;
            } else return false;
          }
          if (tag === undefined || !hasValue) return false;
          tags[count] = tag;
          numbers[count] = value;
          count++;
        }
        if (p !== summaryEnd) return false;
      } else return false;
    }
    if (p !== end) return false;
    for (let i = 0; i < count; i++) sink.add(tags[i], step, numbers[i], wallTime);
    return true;
  }

  end(_sink: ScalarSink): ParseOutput {
    return { warnings: [] };
  }

  private collect(event: EventFields, out: ParseOutput, sink: ScalarSink): void {
    for (const value of event.values) {
      const tag = value.tag;
      if (value.plugin) this.pluginOfTag.set(tag, value.plugin);
      const plugin = value.plugin ?? this.pluginOfTag.get(tag);
      if (plugin === 'hparams') {
        if (value.pluginContent) out.hparams = { ...out.hparams, ...decodeHparams(value.pluginContent) };
        continue;
      }
      if (plugin === 'text') {
        if (value.tensor) {
          out.text ??= {};
          out.text[tag.replace(/\/text_summary$/, '')] = value.tensor.strings.map((s) => utf8.decode(s)).join('\n');
        }
        continue;
      }
      let number: number | undefined;
      if (value.simple !== undefined) number = value.simple;
      // Histograms, images, audio...: not plotted here.
      else if (value.tensor && (plugin === undefined || plugin === 'scalars')) number = tensorScalar(value.tensor);
      if (number === undefined) continue;
      const summary = summaryKey(tag);
      if (summary) {
        out.summary ??= {};
        out.summary[summary] = number;
        continue;
      }
      sink.add(tag, event.step, number, event.wallTime);
    }
  }
}

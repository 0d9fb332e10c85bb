// AssemblyScript, compiled to WebAssembly by scripts/build.mjs (not part of the TypeScript program).
//
// The TensorBoard reader's inner loop (src/core/metrics/tfeventsKernel.ts drives it): TFRecord framing with both
// masked CRC-32C checks, and the one record layout the Trainer's SummaryWriter writes per logged scalar (as
// TfEventsParser.decodeOneScalar checks it byte by byte) for tags the driver has registered. It stops at the first
// record it cannot take whole (a bad CRC or header, an incomplete record, another layout, an unknown tag), which
// the JavaScript reader then handles as before, warnings included.
//
// Memory, laid out by the driver: the eight 256-entry CRC tables, the tag slots, the input bytes, and per record
// taken: the tag's id, the step, the value and the wall time.

let tableAt: usize = 0;
let tagAt: usize = 0;
let inputAt: usize = 0;
let idAt: usize = 0;
let stepAt: usize = 0;
let valueAt: usize = 0;
let wallAt: usize = 0;
let recordCapacity: i32 = 0;
/** Tag slots: a u32 length, then the bytes, 256 bytes apart. */
const slotBytes: usize = 256;
let tags: i32 = 0;
let lastTag: i32 = -1;

/** After scan(): the input offset of the first record not taken (or of the end). */
export let stoppedAt: i32 = 0;

/** The last header that checked out: records of one length share their header's CRC. */
let checkedLength: u32 = 0xffffffff;
let checkedHeaderCrc: u32 = 0;

export function setup(table: usize, tagSlots: usize, input: usize, ids: usize, steps: usize, values: usize, walls: usize, records: i32): void {
  tableAt = table;
  tagAt = tagSlots;
  inputAt = input;
  idAt = ids;
  stepAt = steps;
  valueAt = values;
  wallAt = walls;
  recordCapacity = records;
  // The reflected Castagnoli polynomial; table k holds the CRC of a byte followed by k zero bytes (slice-by-8).
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >> 1) : c >> 1;
    store<u32>(tableAt + (<usize>n << 2), c);
  }
  for (let n: u32 = 0; n < 256; n++) {
    let c = load<u32>(tableAt + (<usize>n << 2));
    for (let k: u32 = 1; k < 8; k++) {
      c = load<u32>(tableAt + (<usize>(c & 0xff) << 2)) ^ (c >> 8);
      store<u32>(tableAt + (<usize>(k * 256 + n) << 2), c);
    }
  }
}

/** The driver wrote `count` tags into their slots (ids 0 .. count - 1). */
export function setTags(count: i32): void {
  tags = count;
  if (lastTag >= count) lastTag = -1;
}

@inline function t(k: u32, byte: u32): u32 {
  return load<u32>(tableAt + (<usize>((k << 8) | byte) << 2));
}

/** TFRecord's masked CRC-32C of [start, end). */
function maskedCrc(start: usize, end: usize): u32 {
  let crc: u32 = 0xffffffff;
  let i = start;
  while (i + 8 <= end) {
    const a = crc ^ load<u32>(i);
    const c = load<u32>(i + 4);
    crc = t(7, a & 0xff) ^ t(6, (a >> 8) & 0xff) ^ t(5, (a >> 16) & 0xff) ^ t(4, a >> 24) ^ t(3, c & 0xff) ^ t(2, (c >> 8) & 0xff) ^ t(1, (c >> 16) & 0xff) ^ t(0, c >> 24);
    i += 8;
  }
  while (i < end) crc = t(0, (crc ^ <u32>load<u8>(i++)) & 0xff) ^ (crc >> 8);
  crc = ~crc;
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
}

/** Whether the tag in slot id is bytes[start, start + length). */
@inline function tagIs(id: i32, start: usize, length: u32): bool {
  const slot = tagAt + (<usize>id) * slotBytes;
  if (load<u32>(slot) != length) return false;
  const bytes = slot + 4;
  let k: usize = 0;
  const n = <usize>length;
  for (; k + 8 <= n; k += 8) if (load<u64>(start + k) != load<u64>(bytes + k)) return false;
  for (; k < n; k++) if (load<u8>(start + k) != load<u8>(bytes + k)) return false;
  return true;
}

/** The id of the registered tag bytes[start, start + length), or -1. */
function tagId(start: usize, length: u32): i32 {
  if (lastTag >= 0 && tagIs(lastTag, start, length)) return lastTag;
  for (let id = 0; id < tags; id++) {
    if (tagIs(id, start, length)) {
      lastTag = id;
      return id;
    }
  }
  return -1;
}

/**
 * Takes whole records from input[from, to) while they check out and have the one-scalar layout of a registered
 * tag: returns how many, with their outputs in record slots 0 ..; stoppedAt is where the first record not taken
 * starts.
 */
export function scan(from: i32, to: i32): i32 {
  const size = inputAt + <usize>to;
  let pos = inputAt + <usize>from;
  let records: i32 = 0;
  while (size - pos >= 12 && records < recordCapacity) {
    const length = load<u32>(pos);
    // The reader's limit (maxRecordBytes in tfevents.ts): a longer length is a corrupt header.
    if (load<u32>(pos + 4) != 0 || length > 256 * 1024 * 1024) break;
    const storedHeaderCrc = load<u32>(pos + 8);
    if (length == checkedLength) {
      if (storedHeaderCrc != checkedHeaderCrc) break;
    } else {
      const crc = maskedCrc(pos, pos + 8);
      if (storedHeaderCrc != crc) break;
      checkedLength = length;
      checkedHeaderCrc = crc;
    }
    const start = pos + 12;
    const end = start + <usize>length;
    if (end + 4 > size) break;
    if (load<u32>(end) != maskedCrc(start, end)) break;
    // 09 <double> 10 <varint> 2a <n> 0a <n - 2> 0a <tag length> <tag> 15 <float>
    if (length < 22 || load<u8>(start) != 0x09 || load<u8>(start + 9) != 0x10) break;
    let p = start + 10;
    let b = <u64>load<u8>(p++);
    let step = b & 0x7f;
    let shift: u64 = 7;
    // Up to seven varint bytes (steps below 2^49, exact as doubles); longer ones go to the JavaScript reader.
    while (b & 0x80) {
      if (shift > 42 || p >= end) return stop(pos, records);
      b = <u64>load<u8>(p++);
      step |= (b & 0x7f) << shift;
      shift += 7;
    }
    if (
      load<u8>(p) != 0x2a ||
      <usize>load<u8>(p + 1) != end - p - 2 ||
      load<u8>(p + 2) != 0x0a ||
      <usize>load<u8>(p + 3) != end - p - 4 ||
      load<u8>(p + 4) != 0x0a
    )
      break;
    const tagLength = <u32>load<u8>(p + 5);
    p += 6;
    if (p + <usize>tagLength + 5 != end || load<u8>(p + <usize>tagLength) != 0x15) break;
    const id = tagId(p, tagLength);
    if (id < 0) break;
    store<u16>(idAt + (<usize>records << 1), <u16>id);
    store<f64>(stepAt + (<usize>records << 3), <f64>step);
    store<f64>(valueAt + (<usize>records << 3), <f64>load<f32>(end - 4));
    store<f64>(wallAt + (<usize>records << 3), load<f64>(start + 1));
    records++;
    pos = end + 4;
  }
  return stop(pos, records);
}

@inline function stop(pos: usize, records: i32): i32 {
  stoppedAt = <i32>(pos - inputAt);
  return records;
}

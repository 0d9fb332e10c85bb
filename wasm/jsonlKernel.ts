// AssemblyScript, compiled to WebAssembly by scripts/build.mjs (not part of the TypeScript program).
//
// The JSONL metrics reader's inner loop (src/core/metrics/jsonlKernel.ts drives it): lines that repeat the
// key-and-spacing prefixes the JavaScript scanner (FlatLineScanner) has learned, with values that are numbers,
// plain strings, null/true/false or Python's bare NaN/Infinity. It does what the scanner does for such a line and
// stops at the first line it cannot take whole, which the scanner then reads. Numbers are decided exactly
// (Clinger's fast path, then Eisel–Lemire on the 64-bit mantissa); where those cannot decide, the line is left to
// the scanner, whose reader falls back to Number(). So every value it writes is the double JSON.parse gives.
//
// Memory is laid out by the driver: the 128-bit power-of-five table (upper halves), the prefixes, the input
// bytes, and per line: its value count, and per position a type, a number and a string's [start, end).

/** Where the driver put things (byte offsets into memory), set by setup(). */
let tableAt: usize = 0;
let prefixAt: usize = 0;
let inputAt: usize = 0;
let countAt: usize = 0;
let typeAt: usize = 0;
let numberAt: usize = 0;
let stringAt: usize = 0;
/** Most positions a line may have (the output regions hold lineCapacity lines of this many). */
let maxPositions: i32 = 0;
/**
 * Positions per line slot in the outputs of the current scan: the known prefixes' count (capped at maxPositions),
 * so the outputs of a call stay compact (they are written here and read back by the driver).
 */
let stride: i32 = 0;
/** Lines the outputs hold. */
let lineCapacity: i32 = 0;
/** Prefix slots: a u32 length, then the bytes, slotBytes apart. */
const slotBytes: usize = 256;

/**
 * The reader's plan for lines of one shape (JsonlMetricsParser.plan): the value count it is for (-1: none), the
 * step and time positions (-1: none) and the metric positions (bytes at planAt). A line of that count whose step
 * and time are finite numbers and whose metrics are numbers or bare NaN/Infinity gets kind 1 and its step, wall
 * time (seconds) and metric values in the compact outputs; the reader adds those points without looking further.
 */
let planCount: i32 = -1;
let planStep: i32 = -1;
let planTime: i32 = -1;
let planMetrics: i32 = 0;
let planAt: usize = 0;
let kindAt: usize = 0;
let fastStepAt: usize = 0;
let fastWallAt: usize = 0;
let fastValueAt: usize = 0;

export function setupPlan(plan: usize, kinds: usize, steps: usize, walls: usize, values: usize): void {
  planAt = plan;
  kindAt = kinds;
  fastStepAt = steps;
  fastWallAt = walls;
  fastValueAt = values;
}

/** The plan for lines of `count` values (metric positions written at planAt); count -1: no plan. */
export function setPlan(count: i32, step: i32, time: i32, metrics: i32): void {
  planCount = count;
  planStep = step;
  planTime = time;
  planMetrics = metrics;
}

@inline function finite(x: f64): bool {
  return x - x == 0;
}

/** Whether line slot `line` (values at `slot`) follows the plan; if so, its compact outputs are written. */
function planned(line: usize, slot: usize): bool {
  let step: f64 = 0;
  let time: f64 = NaN;
  if (planStep >= 0) {
    const at = slot + <usize>planStep;
    if (load<u8>(typeAt + at) != valueNumber) return false;
    step = load<f64>(numberAt + (at << 3));
    if (!finite(step)) return false;
  }
  if (planTime >= 0) {
    const at = slot + <usize>planTime;
    if (load<u8>(typeAt + at) != valueNumber) return false;
    time = load<f64>(numberAt + (at << 3));
    if (!finite(time)) return false;
    // A wall time above 1e11 is in milliseconds (wallSeconds in jsonl.ts).
    if (time > 1e11) time = time / 1000;
  }
  const values = fastValueAt + ((line * <usize>planMetrics) << 3);
  for (let m = 0; m < planMetrics; m++) {
    const at = slot + <usize>load<u8>(planAt + <usize>m);
    const type = load<u8>(typeAt + at);
    if (type != valueNumber && type != valueBare) return false;
    store<f64>(values + (<usize>m << 3), load<f64>(numberAt + (at << 3)));
  }
  store<f64>(fastStepAt + (line << 3), step);
  store<f64>(fastWallAt + (line << 3), time);
  return true;
}

/** Known prefixes (positions 0 .. known - 1). */
let known: i32 = 0;

/** After scan(): the input offset of the first line not taken (or of the end). */
export let stoppedAt: i32 = 0;

// The scanner's value types (jsonl.ts).
const valueNumber: u8 = 0;
const valueString: u8 = 1;
const valueOther: u8 = 2;
const valueBare: u8 = 3;

export function setup(table: usize, prefixes: usize, input: usize, counts: usize, types: usize, numbers: usize, strings: usize, positions: i32, lines: i32): void {
  tableAt = table;
  prefixAt = prefixes;
  inputAt = input;
  countAt = counts;
  typeAt = types;
  numberAt = numbers;
  stringAt = strings;
  maxPositions = positions;
  lineCapacity = lines;
}

/** The driver wrote `count` prefixes into their slots; returns the stride of the outputs from now on. */
export function setKnown(count: i32): i32 {
  known = count;
  stride = count < maxPositions ? count : maxPositions;
  if (stride < 1) stride = 1;
  return stride;
}

const powersOfTen: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

@inline function isSpace(c: u32): bool {
  return c == 32 || c == 9 || c == 13;
}

@inline function mulHigh(a: u64, b: u64): u64 {
  const aLow = a & 0xffffffff;
  const aHigh = a >> 32;
  const bLow = b & 0xffffffff;
  const bHigh = b >> 32;
  const lowLow = aLow * bLow;
  const lowHigh = aLow * bHigh;
  const highLow = aHigh * bLow;
  const middle = (lowLow >> 32) + (lowHigh & 0xffffffff) + (highLow & 0xffffffff);
  return aHigh * bHigh + (lowHigh >> 32) + (highLow >> 32) + (middle >> 32);
}

/** Set by readNumber: the value read. */
let numberValue: f64 = 0;

/**
 * m * 10^e for a 64-bit m (not 0), correctly rounded, into numberValue; false where undecided (the same rule as
 * eiselLemire in src/core/metrics/jsonNumber.ts: the upper 64 bits of m times the upper half of 5^e).
 */
function eiselLemire(m: u64, e: i32, negative: bool): bool {
  if (e < -342 || e > 308) return false;
  const lz = <i32>clz(m);
  const normalized = m << (<u64>lz);
  const power = load<u64>(tableAt + ((<usize>(e + 342)) << 3));
  const upper = mulHigh(normalized, power);
  const low9 = upper & 0x1ff;
  if (low9 == 0x1ff || low9 == 0) return false;
  const upperBit = <i32>(upper >> 63);
  let exponent = ((217706 * e) >> 16) + 63 + upperBit - lz + 1023;
  if (exponent <= 0 || exponent >= 0x7ff) return false;
  let mantissa: u64 = upperBit ? (upper >> 11) + ((upper >> 10) & 1) : (upper >> 10) + ((upper >> 9) & 1);
  if (mantissa == (<u64>1) << 53) {
    mantissa = (<u64>1) << 52;
    if (++exponent >= 0x7ff) return false;
  }
  const value = reinterpret<f64>(((<u64>exponent) << 52) | (mantissa & 0xfffffffffffff));
  numberValue = negative ? -value : value;
  return true;
}

/** The JSON number at p: the offset after it, with numberValue set; -1 where it is not one or is left to the scanner. */
@inline function readNumber(p: usize): isize {
  let i = p;
  let c = <u32>load<u8>(i);
  const negative = c == 45;
  if (negative) c = <u32>load<u8>(++i);
  let m: u64 = 0;
  let count: i32 = 0;
  let exponent: i32 = 0;
  if (c == 48) c = <u32>load<u8>(++i);
  else if (c - 49 < 9) {
    do {
      m = m * 10 + <u64>(c - 48);
      count++;
      c = <u32>load<u8>(++i);
    } while (c - 48 < 10);
  } else return -1;
  if (c == 46) {
    c = <u32>load<u8>(++i);
    const fractionStart = i;
    if (m == 0) while (c == 48) c = <u32>load<u8>(++i);
    while (c - 48 < 10) {
      m = m * 10 + <u64>(c - 48);
      count++;
      c = <u32>load<u8>(++i);
    }
    if (i == fractionStart) return -1;
    exponent = <i32>(fractionStart - i);
  }
  // More than 19 digits overflowed m: the scanner's reader decides.
  if (count > 19) return -1;
  if (c == 101 || c == 69) {
    c = <u32>load<u8>(++i);
    const exponentNegative = c == 45;
    if (c == 43 || c == 45) c = <u32>load<u8>(++i);
    if (c - 48 >= 10) return -1;
    let written: i32 = 0;
    do {
      if (written < 1000000) written = written * 10 + <i32>(c - 48);
      c = <u32>load<u8>(++i);
    } while (c - 48 < 10);
    exponent += exponentNegative ? -written : written;
  }
  if (m <= (<u64>1) << 53 && exponent >= -22 && exponent <= 22) {
    const f = <f64>m;
    const value = exponent < 0 ? f / unchecked(powersOfTen[-exponent]) : f * unchecked(powersOfTen[exponent]);
    numberValue = negative ? -value : value;
    return <isize>i;
  }
  if (m == 0) {
    numberValue = negative ? -0.0 : 0.0;
    return <isize>i;
  }
  return eiselLemire(m, exponent, negative) ? <isize>i : -1;
}

/** The length of the prefix in slot n if bytes[i ..] start with it (within end), else -1. */
@inline function prefixLength(i: usize, end: usize, n: i32): i32 {
  const slot = prefixAt + (<usize>n) * slotBytes;
  const length = <usize>load<u32>(slot);
  if (i + length > end) return -1;
  const bytes = slot + 4;
  let k: usize = 0;
  for (; k + 8 <= length; k += 8) if (load<u64>(i + k) != load<u64>(bytes + k)) return -1;
  if (k == length) return <i32>length;
  if (length >= 8) return load<u64>(i + length - 8) == load<u64>(bytes + length - 8) ? <i32>length : -1;
  for (; k < length; k++) if (load<u8>(i + k) != load<u8>(bytes + k)) return -1;
  return <i32>length;
}

/** Whether bytes[i ..] start with the ASCII word (within end). */
@inline function startsWith4(i: usize, end: usize, word: u32): bool {
  return i + 4 <= end && load<u32>(i) == word;
}

/**
 * Takes whole lines from input[from, end) (end just after a newline) while they follow the known prefixes:
 * returns how many, with their outputs in line slots 0 ..; stoppedAt is where the first line not taken starts.
 */
export function scan(from: i32, to: i32): i32 {
  const end = inputAt + <usize>to;
  let line = inputAt + <usize>from;
  let lines: i32 = 0;
  const limit = stride;
  while (line < end && lines < lineCapacity) {
    let i = line;
    let n: i32 = 0;
    let taken = false;
    const slot = <usize>lines * <usize>stride;
    for (;;) {
      if (n >= limit) break;
      const length = prefixLength(i, end, n);
      if (length < 0) break;
      i += <usize>length;
      let c = <u32>load<u8>(i);
      while (isSpace(c)) c = <u32>load<u8>(++i);
      const at = slot + <usize>n;
      if (c == 34) {
        // A plain string: no escape, control byte, non-ASCII byte, or N / I (the scanner leaves those to JSON.parse).
        const start = ++i;
        let d = <u32>load<u8>(i);
        while (d != 34) {
          if (d == 92 || d < 0x20 || d >= 0x80 || d == 78 || d == 73) return stop(line, lines);
          d = <u32>load<u8>(++i);
        }
        store<u8>(typeAt + at, valueString);
        store<u32>(stringAt + (at << 3), <u32>(start - inputAt));
        store<u32>(stringAt + (at << 3) + 4, <u32>(i - inputAt));
        i++;
      } else if (c - 48 < 10 || (c == 45 && <u32>load<u8>(i + 1) != 73)) {
        const next = readNumber(i);
        if (next < 0) break;
        i = <usize>next;
        store<u8>(typeAt + at, valueNumber);
        store<f64>(numberAt + (at << 3), numberValue);
      } else if (c == 110 && startsWith4(i, end, 0x6c6c756e /* null */)) {
        store<u8>(typeAt + at, valueOther);
        i += 4;
      } else if (c == 116 && startsWith4(i, end, 0x65757274 /* true */)) {
        store<u8>(typeAt + at, valueOther);
        i += 4;
      } else if (c == 102 && startsWith4(i + 1, end, 0x65736c61 /* alse */)) {
        store<u8>(typeAt + at, valueOther);
        i += 5;
      } else if (c == 78 && i + 3 <= end && load<u16>(i + 1) == 0x4e61 /* aN */) {
        store<u8>(typeAt + at, valueBare);
        store<f64>(numberAt + (at << 3), NaN);
        i += 3;
      } else if (c == 73 && startsWith4(i, end, 0x69666e49 /* Infi */) && startsWith4(i + 4, end, 0x7974696e /* nity */)) {
        store<u8>(typeAt + at, valueBare);
        store<f64>(numberAt + (at << 3), Infinity);
        i += 8;
      } else if (c == 45 && startsWith4(i + 1, end, 0x69666e49) && startsWith4(i + 5, end, 0x7974696e)) {
        store<u8>(typeAt + at, valueBare);
        store<f64>(numberAt + (at << 3), -Infinity);
        i += 9;
      } else break;
      n++;
      if (<u32>load<u8>(i) == 125) {
        // The closing brace, then only spaces, tabs or CR before the newline (as the scanner's finish()).
        let j = i + 1;
        while (isSpace(<u32>load<u8>(j))) j++;
        if (<u32>load<u8>(j) == 10) {
          store<u8>(countAt + <usize>lines, <u8>n);
          store<u8>(kindAt + <usize>lines, n == planCount && planned(<usize>lines, slot) ? 1 : 0);
          line = j + 1;
          lines++;
          taken = true;
        }
        break;
      }
    }
    if (!taken) break;
  }
  return stop(line, lines);
}

@inline function stop(line: usize, lines: i32): i32 {
  stoppedAt = <i32>(line - inputAt);
  return lines;
}

/** For tests: the number at input[from]: its end offset (numberValue via lastNumber()), or -1. */
export function readNumberAt(from: i32): i32 {
  const next = readNumber(inputAt + <usize>from);
  return next < 0 ? -1 : <i32>(<usize>next - inputAt);
}

export function lastNumber(): f64 {
  return numberValue;
}

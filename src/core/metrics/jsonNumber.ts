/*
 * JSON numbers read straight from bytes, to the same double JSON.parse gives (correctly rounded, ties to even).
 *
 * The digits are read one by one into a double m (no division of the text into parts: on real logs, where lengths
 * vary from line to line, that costs more in mispredicted branches than it saves), then:
 * - m below 2^53 (so every step was exact) and a power of ten 10^e with |e| <= 22: m and 10^|e| are exact doubles,
 *   so one IEEE multiplication or division rounds correctly (Clinger's fast path). Most logged numbers.
 * - 16 to 19 significant digits and -22 <= e <= 0 (what float32 values printed in full look like): the quotient q
 *   of the rounded m by 10^|e| is within 1.5 ulp of the exact one; m - q * 10^|e| is computed exactly (Dekker's
 *   product for q * 5^|e|, the rest exact integer arithmetic), which says whether q, the double above or the one
 *   below is nearest. Where the residual lies within a relative 1e-9 of a rounding boundary it gives up.
 * - Otherwise up to 19 significant digits: the Eisel–Lemire algorithm (as in fast_float and Go's strconv): the
 *   64-bit normalised mantissa times a 128-bit approximation of 5^e (only its upper 64 bits here) gives the
 *   upper 64 bits of the product; its top 54 bits are the result, rounded once. Where the dropped low 9 bits are
 *   all ones (a carry from the ignored bits could reach the result) or all zeros (possibly an exact tie), and for
 *   subnormal or overflowing results, it gives up.
 * - Everything given up on, and more than 19 digits, goes to Number() on the number's text, which is what
 *   JSON.parse does.
 */

/** 10^0 .. 10^22: exact doubles. */
const powersOfTen = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

const smallestPowerOfFive = -342;
const largestPowerOfFive = 308;
/** Upper 64 bits of fast_float's 128-bit 5^q table for q in [-342, 308], as limbs of 16, 24 and 24 bits (highest first). */
let powerOfFiveLimbs: Int32Array | undefined;
/** 2^(k - 1075) at index k for k in [1, 2046]: scales a 53-bit integer mantissa to a double of biased exponent k. */
const powersOfTwo = new Float64Array(2047);
for (let k = 1; k < 2047; k++) powersOfTwo[k] = 2 ** (k - 1075);

/**
 * The table as fast_float's script/table_generation.py makes it: 5^q with its top bit moved to bit 127 and
 * truncated; for q < 0, floor(2^b / 5^-q) + 1 with b chosen as there. Built once, on the first number that needs it.
 */
function buildTables(): void {
  const limbs = new Int32Array((largestPowerOfFive - smallestPowerOfFive + 1) * 3);
  const top = 1n << 127n;
  const limit = 1n << 128n;
  const format = (value: bigint, index: number) => {
    let v = value;
    while (v < top) v <<= 1n;
    while (v >= limit) v >>= 1n;
    const upper = v >> 64n;
    limbs[index * 3] = Number(upper >> 48n);
    limbs[index * 3 + 1] = Number((upper >> 24n) & 0xffffffn);
    limbs[index * 3 + 2] = Number(upper & 0xffffffn);
  };
  for (let q = smallestPowerOfFive; q < 0; q++) {
    const power5 = 5n ** BigInt(-q);
    let z = 0n;
    while (1n << z < power5) z++;
    const b = q >= -17 ? z + 127n : 2n * z + 64n;
    format((1n << b) / power5 + 1n, q - smallestPowerOfFive);
  }
  for (let q = 0; q <= largestPowerOfFive; q++) format(5n ** BigInt(q), q - smallestPowerOfFive);
  powerOfFiveLimbs = limbs;
}

/**
 * The same table as 64-bit words (5^q's upper half for q = -342 .. 308, in order), for the WebAssembly JSONL kernel,
 * which reads numbers by the same rule.
 */
export function powerOfFiveUpperHalves(): BigUint64Array {
  if (powerOfFiveLimbs === undefined) buildTables();
  const limbs = powerOfFiveLimbs!;
  const words = new BigUint64Array(limbs.length / 3);
  for (let k = 0; k < words.length; k++) words[k] = (BigInt(limbs[3 * k]!) << 48n) | (BigInt(limbs[3 * k + 1]!) << 24n) | BigInt(limbs[3 * k + 2]!);
  return words;
}

const two32 = 4294967296;
const two24 = 16777216;
/** Multiplying by these is dividing by 2^24 and 2^32, exactly (no division, no fmod: this code is hot). */
const inverse24 = 1 / two24;
const inverse32 = 1 / two32;

const scratch = new Float64Array(1);

/**
 * m * 10^e for m = hi * 2^32 + lo (a 64-bit integer, not 0; hi and lo as signed or unsigned 32-bit integers), or
 * NaN where the algorithm cannot decide (the caller then uses Number()). Never returns NaN for a number it decided.
 */
export function eiselLemire(hi: number, lo: number, e: number, negative: boolean): number {
  return eiselLemireInto(hi | 0, lo | 0, e, negative, scratch, 0) ? scratch[0] : NaN;
}

/**
 * eiselLemire, writing the result to out[at] and returning whether it decided. The words stay signed 32-bit
 * integers throughout and the double is stored rather than returned: both keep V8 from boxing numbers (this runs
 * for every long number of a log).
 */
function eiselLemireInto(hi: number, lo: number, e: number, negative: boolean, out: Float64Array, at: number): boolean {
  if (e < smallestPowerOfFive || e > largestPowerOfFive) return false;
  if (powerOfFiveLimbs === undefined) buildTables();
  const table = powerOfFiveLimbs!;
  // Normalise: the mantissa's top bit to bit 63 (JS shifts count mod 32, hence the cases).
  const lz = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  if (lz >= 32) {
    hi = lz === 32 ? lo : lo << (lz - 32);
    lo = 0;
  } else if (lz > 0) {
    hi = (hi << lz) | (lo >>> (32 - lz));
    lo = lo << lz;
  }
  // 64 x 64 -> 128 bits in limbs of 16, 24 and 24 bits: each product < 2^48, each column sum < 2^50, all exact
  // in doubles. Bits 0-47 only feed carries; p2, p3, p4, p5 hold bits 48-71, 72-95, 96-119, 120-127.
  const w2 = hi >>> 16;
  const w1 = (lo >>> 24) | ((hi & 0xffff) << 8);
  const w0 = lo & 0xffffff;
  const row = (e - smallestPowerOfFive) * 3;
  const t2 = table[row];
  const t1 = table[row + 1];
  const t0 = table[row + 2];
  let r = w0 * t0;
  r = w1 * t0 + w0 * t1 + Math.floor(r * inverse24);
  r = w2 * t0 + w1 * t1 + w0 * t2 + Math.floor(r * inverse24);
  let carry = Math.floor(r * inverse24);
  const p2 = r - carry * two24;
  r = w2 * t1 + w1 * t2 + carry;
  carry = Math.floor(r * inverse24);
  const p3 = r - carry * two24;
  r = w2 * t2 + carry;
  const p5 = Math.floor(r * inverse24);
  const p4 = r - p5 * two24;
  // The upper 64 bits of the product are bits 64-127; bit 127 or 126 is set (both factors are normalised). Its low
  // 9 bits (64-72) all ones: a carry from the ignored bits may be missing; all zeros: maybe an exact tie.
  const low9 = (p2 >>> 16) | ((p3 & 1) << 8);
  if (low9 === 0x1ff || low9 === 0) return false;
  const upperBit = p5 >>> 7;
  let exponent = ((217706 * e) >> 16) + 63 + upperBit - lz + 1023;
  // Subnormal or infinite: Number() decides.
  if (exponent <= 0 || exponent >= 0x7ff) return false;
  // The top 53 bits (from bit 127 or 126), rounded by the next bit (ties were excluded above).
  let mantissa = upperBit
    ? p5 * 35184372088832 /* 2^45 */ + p4 * 2097152 /* 2^21 */ + (p3 >>> 3) + ((p3 >>> 2) & 1)
    : p5 * 70368744177664 /* 2^46 */ + p4 * 4194304 /* 2^22 */ + (p3 >>> 2) + ((p3 >>> 1) & 1);
  if (mantissa === 9007199254740992 /* 2^53 */) {
    mantissa = 4503599627370496; /* 2^52 */
    if (++exponent >= 0x7ff) return false;
  }
  const value = mantissa * powersOfTwo[exponent];
  out[at] = negative ? -value : value;
  return true;
}

/** 5^k for k in [0, 22] (exact doubles), and their halves for Dekker's product: high 26 bits and the rest. */
const powersOfFive = Array.from({ length: 23 }, (_, k) => 5 ** k);
const powersOfFiveHigh = powersOfFive.map((f) => {
  const c = 134217729 * f;
  return c - (c - f);
});
const powersOfFiveLow = powersOfFive.map((f, k) => f - powersOfFiveHigh[k]);
const exponentWords = new Int32Array(scratch.buffer);

/**
 * m / 10^k correctly rounded, for an integer 2^53 <= m < 2^64 given exactly as high + low (high a multiple of
 * 2^26 below 2^64, low below 2^41; `rounded` = high + low as a double) and 1 <= k <= 22; NaN where the residual
 * lies too close to a rounding boundary to decide here.
 */
function divideCorrected(high: number, low: number, rounded: number, k: number): number {
  // Within 1.5 ulp of m / 10^k: `rounded` is off by at most half an ulp, and the division rounds once more.
  const q = rounded / powersOfTen[k];
  // Half an ulp of q (q is normal: m / 10^k >= 2^53 / 10^22), from its exponent bits; `bound` is that in units of m.
  scratch[0] = q;
  const upperWord = exponentWords[1];
  const half = powersOfTwo[((upperWord >>> 20) & 0x7ff) - 1];
  const bound = half * powersOfTen[k];
  // q * 10^k = q * 5^k * 2^k: q * 5^k exactly as p + error (Dekker's product, Veltkamp's split of q).
  const p = q * powersOfFive[k];
  const c = 134217729 * q;
  const qHigh = c - (c - q);
  const qLow = q - qHigh;
  const error = qHigh * powersOfFiveHigh[k] - p + qHigh * powersOfFiveLow[k] + qLow * powersOfFiveHigh[k] + qLow * powersOfFiveLow[k];
  const scale = powersOfTwo[1075 + k];
  // The residual m - q * 10^k = (high - p * 2^k) + low - error * 2^k. high and p * 2^k lie within a factor of two
  // of each other (Sterbenz: exact difference), both are integers (p * 2^k >= 2^53), so everything is exact but
  // the last subtraction, which rounds once (relative 2^-53 of a residual below 3 * bound): far inside the margin.
  const residual = high - p * scale + low - error * scale;
  const margin = bound * 1e-9;
  if (residual < bound - margin && residual > margin - bound) return q;
  if (residual > bound + margin && residual < 3 * bound - margin) return q + 2 * half;
  // The double below, unless q is a power of two (then the doubles below it are twice as close).
  if (residual < -bound - margin && residual > margin - 3 * bound && ((upperWord & 0xfffff) | exponentWords[0]) !== 0) return q - 2 * half;
  return NaN;
}

const two26 = 67108864;
const inverse26 = 1 / two26;
const two53 = 9007199254740992;

/**
 * Reads the JSON number at bytes[i] (what the JSONL scanner does for every value): returns the index after it and
 * puts it in out[at], or returns -1 where the bytes there are not a JSON number. bytes[end - 1] must be a byte that
 * ends a number (the scanner's newline), so the loops need no bound checks of their own. (`view`, a DataView of the
 * same bytes, is no longer used here; the parameter stays for the scanner's call.)
 */
export function readJsonNumber(b: Uint8Array, _view: DataView, i: number, _end: number, out: Float64Array, at: number): number {
  const start = i;
  let c = b[i];
  const negative = c === 45; /* - */
  if (negative) c = b[++i];
  // Every digit goes into m, exact while below 2^53 (checked once at the end: m only grows). For 16 to 19 digits
  // the first 15 (m15, exact) and where they end (i15) are kept.
  let m = 0;
  let count = 0;
  let m15 = 0;
  let i15 = 0;
  let exponent = 0;
  if (c === 48) c = b[++i];
  else if (c >= 49 && c <= 57) {
    do {
      m = m * 10 + (c - 48);
      if (++count === 15) {
        m15 = m;
        i15 = i + 1;
      }
      c = b[++i];
    } while (c >= 48 && c <= 57);
  } else return -1;
  if (c === 46 /* . */) {
    c = b[++i];
    const fractionStart = i;
    // Zeros before the first significant digit are not counted (m stays 0 over them).
    if (m === 0) while (c === 48) c = b[++i];
    while (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      if (++count === 15) {
        m15 = m;
        i15 = i + 1;
      }
      c = b[++i];
    }
    if (i === fractionStart) return -1;
    exponent = fractionStart - i;
  }
  if (c === 101 || c === 69 /* e E */) {
    c = b[++i];
    const exponentNegative = c === 45;
    if (c === 43 || c === 45) c = b[++i];
    if (c < 48 || c > 57) return -1;
    let written = 0;
    do {
      // Beyond 1e6 the result is 0 or Infinity either way; Number() decides.
      if (written < 1e6) written = written * 10 + (c - 48);
      c = b[++i];
    } while (c >= 48 && c <= 57);
    exponent += exponentNegative ? -written : written;
  }
  if (m < two53) {
    if (exponent >= -22 && exponent <= 22) {
      const value = exponent < 0 ? m / powersOfTen[-exponent] : m * powersOfTen[exponent];
      out[at] = negative ? -value : value;
      return i;
    }
    if (m === 0) {
      out[at] = negative ? -0 : 0;
      return i;
    }
    const lo = m >>> 0;
    if (eiselLemireInto((m - lo) * inverse32, lo | 0, exponent, negative, out, at)) return i;
  } else if (count <= 19) {
    // m = m15 * 10^t + tail exactly, from the t <= 4 digits after the 15th.
    let tail = 0;
    let scale = 1;
    for (let k = i15; k < i; k++) {
      const d = b[k];
      if (d === 46) continue;
      if (d < 48 || d > 57) break;
      tail = tail * 10 + (d - 48);
      scale *= 10;
    }
    if (exponent >= -22 && exponent <= 0) {
      // m15 = a * 2^26 + rest, so m15 * 10^t = a * 10^t * 2^26 + rest * 10^t, each part exact.
      const a = Math.floor(m15 * inverse26);
      const high = a * scale * two26;
      const low = (m15 - a * two26) * scale + tail;
      const rounded = high + low;
      const value = exponent === 0 ? rounded : divideCorrected(high, low, rounded, -exponent);
      if (value === value) {
        out[at] = negative ? -value : value;
        return i;
      }
    }
    // m as two 32-bit halves (below 10^19 < 2^64).
    const lower = m15 >>> 0;
    const lowerSum = lower * scale + tail;
    const lo = lowerSum >>> 0;
    const hi = (m15 - lower) * inverse32 * scale + (lowerSum - lo) * inverse32;
    if (eiselLemireInto(hi | 0, lo | 0, exponent, negative, out, at)) return i;
  }
  out[at] = Number(latin1(b, start, i));
  return i;
}

/** Bytes below 0x80 as a string. */
export function latin1(b: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(b[i]);
  return text;
}

/** The reader over a whole string (tests): the number, or undefined where the text is not exactly one JSON number. */
export function parseJsonNumber(text: string): number | undefined {
  // A newline after the text, as the scanner's lines have.
  const bytes = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return undefined;
    bytes[i] = c;
  }
  bytes[text.length] = 10;
  const out = new Float64Array(1);
  return readJsonNumber(bytes, new DataView(bytes.buffer), 0, bytes.length, out, 0) === text.length ? out[0] : undefined;
}

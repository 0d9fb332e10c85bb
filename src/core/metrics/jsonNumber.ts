/*
 * JSON numbers read straight from bytes, to the same double JSON.parse gives (correctly rounded, ties to even).
 *
 * - Up to 2^53 - 1 as a decimal integer m and a power of ten 10^e with |e| <= 22: m and 10^|e| are exact doubles,
 *   so one IEEE multiplication or division rounds correctly (Clinger's fast path). Most logged numbers.
 * - Otherwise up to 19 significant digits: the Eisel–Lemire algorithm (as in fast_float and Go's strconv): the
 *   64-bit normalised mantissa times a 128-bit approximation of 5^e (only its upper 64 bits here) gives the
 *   upper 64 bits of the product; its top 54 bits are the result, rounded once. Where the dropped low 9 bits are
 *   all ones (a carry from the ignored bits could reach the result) or all zeros (possibly an exact tie), and for
 *   subnormal or overflowing results, it gives up.
 * - Everything it gives up on goes to Number() on the number's text, which is what JSON.parse does.
 */

/** 10^0 .. 10^22: exact doubles. */
const powersOfTen = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

const smallestPowerOfFive = -342;
const largestPowerOfFive = 308;
/** Upper 64 bits of fast_float's 128-bit 5^q table for q in [-342, 308], as limbs of 16, 24 and 24 bits (highest first). */
let powerOfFiveLimbs: Int32Array | undefined;
/** 2^(k - 1075) at index k for k in [1, 2046]: scales a 53-bit integer mantissa to a double of biased exponent k. */
let powersOfTwo: Float64Array | undefined;

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
  const twos = new Float64Array(2047);
  let p = 1;
  for (let k = 1075; k <= 2046; k++, p *= 2) twos[k] = p;
  p = 0.5;
  for (let k = 1074; k >= 1; k--, p /= 2) twos[k] = p;
  powerOfFiveLimbs = limbs;
  powersOfTwo = twos;
}

const two32 = 4294967296;
const two24 = 16777216;
/** Multiplying by these is dividing by 2^24 and 2^32, exactly (no division, no fmod: this code is hot). */
const inverse24 = 1 / two24;
const inverse32 = 1 / two32;

/**
 * m * 10^e for m = hi * 2^32 + lo (a 64-bit integer, not 0), or NaN where the algorithm cannot decide (the caller
 * then uses Number()). Never returns NaN for a number it decided.
 */
export function eiselLemire(hi: number, lo: number, e: number, negative: boolean): number {
  if (e < smallestPowerOfFive || e > largestPowerOfFive) return NaN;
  if (powerOfFiveLimbs === undefined) buildTables();
  const table = powerOfFiveLimbs!;
  // Normalise: the mantissa's top bit to bit 63 (JS shifts count mod 32, hence the cases).
  const lz = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  if (lz >= 32) {
    hi = lz === 32 ? lo : (lo << (lz - 32)) >>> 0;
    lo = 0;
  } else if (lz > 0) {
    hi = ((hi << lz) | (lo >>> (32 - lz))) >>> 0;
    lo = (lo << lz) >>> 0;
  }
  // 64 x 64 -> 128 bits in limbs of 16, 24 and 24 bits: each product < 2^48, each column sum < 2^50, all exact
  // in doubles. Bits 0-47 only feed carries; p2, p3, p4, p5 hold bits 48-71, 72-95, 96-119, 120-127.
  const w2 = hi >>> 16;
  const w1 = (lo >>> 24) | ((hi & 0xffff) << 8);
  const w0 = lo & 0xffffff;
  const at = (e - smallestPowerOfFive) * 3;
  const t2 = table[at];
  const t1 = table[at + 1];
  const t0 = table[at + 2];
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
  if (low9 === 0x1ff || low9 === 0) return NaN;
  const upperBit = p5 >>> 7;
  let exponent = ((217706 * e) >> 16) + 63 + upperBit - lz + 1023;
  // Subnormal or infinite: Number() decides.
  if (exponent <= 0 || exponent >= 0x7ff) return NaN;
  // The top 53 bits (from bit 127 or 126), rounded by the next bit (ties were excluded above).
  let mantissa = upperBit
    ? p5 * 35184372088832 /* 2^45 */ + p4 * 2097152 /* 2^21 */ + (p3 >>> 3) + ((p3 >>> 2) & 1)
    : p5 * 70368744177664 /* 2^46 */ + p4 * 4194304 /* 2^22 */ + (p3 >>> 2) + ((p3 >>> 1) & 1);
  if (mantissa === 9007199254740992 /* 2^53 */) {
    mantissa = 4503599627370496; /* 2^52 */
    if (++exponent >= 0x7ff) return NaN;
  }
  const value = mantissa * powersOfTwo![exponent];
  return negative ? -value : value;
}

/** Whether four bytes (little-endian in a uint32) are all ASCII digits. */
function fourDigits(v: number): boolean {
  return ((v & 0xf0f0f0f0) | (((v + 0x06060606) & 0xf0f0f0f0) >>> 4)) === 0x33333333;
}

/** The value of four ASCII digits (little-endian in a uint32: the first digit in the low byte). */
function fourDigitsValue(v: number): number {
  const d = v - 0x30303030;
  // Pairs: byte 0 becomes 10 * d0 + d1, byte 2 becomes 10 * d2 + d3 (no byte exceeds 99: no carries).
  const t = d * 10 + (d >>> 8);
  return (t & 0xff) * 100 + ((t >>> 16) & 0xff);
}

/**
 * Reads the JSON number at bytes[i] (what the JSONL scanner does for every value): returns the index after it and
 * puts it in out[at], or returns -1 where the bytes there are not a JSON number. `view` is a DataView of the same
 * bytes (four digits are checked and converted at once); bytes[end - 1] must be a byte that ends a number (the
 * scanner's newline), so the loops need no bound checks of their own.
 */
export function readJsonNumber(b: Uint8Array, view: DataView, i: number, end: number, out: Float64Array, at: number): number {
  const start = i;
  const negative = b[i] === 45; /* - */
  if (negative) i++;
  let c = b[i];
  // Significant digits: as many as stay exact below 2^53 in `high` (15 or 16), the rest in `low` (up to 19 in
  // all; more go to Number()). Four or eight digits at a time while `high` has room for them.
  let high = 0;
  let low = 0;
  let lowScale = 1;
  let digits = 0;
  let exponent = 0;
  if (c === 48) c = b[++i];
  else if (c > 48 && c <= 57) {
    while (high < maxBeforeFour && i + 4 <= end) {
      const v = view.getUint32(i, true);
      if (!fourDigits(v)) break;
      high = high * 10000 + fourDigitsValue(v);
      digits += 4;
      i += 4;
    }
    while ((c = b[i]) >= 48 && c <= 57) {
      if (lowScale === 1 && high < maxBeforeOne) high = high * 10 + (c - 48);
      else if (digits < 19) {
        low = low * 10 + (c - 48);
        lowScale *= 10;
      }
      digits++;
      i++;
    }
    // A plain integer (steps, counts): exact as it is.
    if (lowScale === 1 && c !== 46 && c !== 101 && c !== 69) {
      out[at] = negative ? -high : high;
      return i;
    }
  } else return -1;
  if (c === 46 /* . */) {
    c = b[++i];
    if (c < 48 || c > 57) return -1;
    // Zeros before the first significant digit only move the exponent.
    if (digits === 0) {
      while (c === 48) {
        exponent--;
        c = b[++i];
      }
    }
    const fractionStart = i;
    if (lowScale === 1) {
      if (high < maxBeforeEight && i + 8 <= end) {
        const v = view.getUint32(i, true);
        const w = view.getUint32(i + 4, true);
        if (fourDigits(v) && fourDigits(w)) {
          high = high * 1e8 + fourDigitsValue(v) * 10000 + fourDigitsValue(w);
          digits += 8;
          i += 8;
        }
      }
      while (high < maxBeforeFour && i + 4 <= end) {
        const v = view.getUint32(i, true);
        if (!fourDigits(v)) break;
        high = high * 10000 + fourDigitsValue(v);
        digits += 4;
        i += 4;
      }
    }
    while ((c = b[i]) >= 48 && c <= 57) {
      if (lowScale === 1 && high < maxBeforeOne) high = high * 10 + (c - 48);
      else if (digits < 19) {
        low = low * 10 + (c - 48);
        lowScale *= 10;
      }
      digits++;
      i++;
    }
    exponent -= i - fractionStart;
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
  let value = digits > 19 ? NaN : toDouble(negative, high, low, lowScale, digits, exponent);
  if (value !== value) value = Number(latin1(b, start, i));
  out[at] = value;
  return i;
}

/** `high` may take eight, four or one more digit and stay below 2^53 (exact) while below these. */
const maxBeforeEight = 90071992;
const maxBeforeFour = 900719925474;
const maxBeforeOne = 900719925474099;

/**
 * The double nearest (high * lowScale + low) * 10^exponent, or NaN for Number() to decide. high < 2^53; low has
 * log10(lowScale) digits; at most 19 digits in all.
 */
function toDouble(negative: boolean, high: number, low: number, lowScale: number, digits: number, exponent: number): number {
  if (digits === 0) return negative ? -0 : 0;
  let hi: number;
  let lo: number;
  if (lowScale === 1) {
    if (exponent >= -22 && exponent <= 22) {
      const value = exponent < 0 ? high / powersOfTen[-exponent] : high * powersOfTen[exponent];
      return negative ? -value : value;
    }
    lo = high >>> 0; // high mod 2^32 (an integer below 2^53)
    hi = (high - lo) * inverse32;
  } else {
    // high * lowScale + low as two 32-bit halves (below 10^19 < 2^64).
    const highLower = high >>> 0;
    const lowerSum = highLower * lowScale + low;
    lo = lowerSum >>> 0;
    hi = (high - highLower) * inverse32 * lowScale + (lowerSum - lo) * inverse32;
    if (hi < 0x200000 && exponent >= -22 && exponent <= 22) {
      // Below 2^53: still exact as a double.
      const m = hi * two32 + lo;
      const value = exponent < 0 ? m / powersOfTen[-exponent] : m * powersOfTen[exponent];
      return negative ? -value : value;
    }
  }
  return eiselLemire(hi, lo, exponent, negative);
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

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
/** Upper 64 bits of fast_float's 128-bit 5^q table for q in [-342, 308], as four 16-bit limbs each (highest first). */
let powerOfFiveLimbs: Uint16Array | undefined;
/** 2^(k - 1075) at index k for k in [1, 2046]: scales a 53-bit integer mantissa to a double of biased exponent k. */
let powersOfTwo: Float64Array | undefined;

/**
 * The table as fast_float's script/table_generation.py makes it: 5^q with its top bit moved to bit 127 and
 * truncated; for q < 0, floor(2^b / 5^-q) + 1 with b chosen as there. Built once, on the first number that needs it.
 */
function buildTables(): void {
  const limbs = new Uint16Array((largestPowerOfFive - smallestPowerOfFive + 1) * 4);
  const top = 1n << 127n;
  const limit = 1n << 128n;
  const format = (value: bigint, index: number) => {
    let v = value;
    while (v < top) v <<= 1n;
    while (v >= limit) v >>= 1n;
    const upper = v >> 64n;
    for (let k = 0; k < 4; k++) limbs[index * 4 + k] = Number((upper >> BigInt(48 - 16 * k)) & 0xffffn);
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
const two16 = 65536;
/** Multiplying by these is dividing by 2^16 and 2^32, exactly (no division, no fmod: this code is hot). */
const inverse16 = 1 / two16;

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
  const w3 = hi >>> 16;
  const w2 = hi & 0xffff;
  const w1 = lo >>> 16;
  const w0 = lo & 0xffff;
  const at = (e - smallestPowerOfFive) * 4;
  const t3 = table[at];
  const t2 = table[at + 1];
  const t1 = table[at + 2];
  const t0 = table[at + 3];
  // 64 x 64 -> 128 bits in 16-bit columns: each product < 2^32, each column sum < 2^35, all exact in doubles.
  let r = w0 * t0;
  r = w1 * t0 + w0 * t1 + Math.floor(r * inverse16);
  r = w2 * t0 + w1 * t1 + w0 * t2 + Math.floor(r * inverse16);
  r = w3 * t0 + w2 * t1 + w1 * t2 + w0 * t3 + Math.floor(r * inverse16);
  r = w3 * t1 + w2 * t2 + w1 * t3 + Math.floor(r * inverse16);
  let carry = Math.floor(r * inverse16);
  const x4 = r - carry * two16;
  r = w3 * t2 + w2 * t3 + carry;
  carry = Math.floor(r * inverse16);
  const x5 = r - carry * two16;
  r = w3 * t3 + carry;
  const x7 = Math.floor(r * inverse16);
  const x6 = r - x7 * two16;
  // The upper 64 bits of the product: x7 x6 x5 x4. Its bit 63 or 62 is set (both factors are normalised).
  const low9 = x4 & 0x1ff;
  if (low9 === 0x1ff || low9 === 0) return NaN;
  const upperBit = x7 >>> 15;
  let exponent = ((217706 * e) >> 16) + 63 + upperBit - lz + 1023;
  // Subnormal or infinite: Number() decides.
  if (exponent <= 0 || exponent >= 0x7ff) return NaN;
  // The top 54 bits (from bit 63 or 62), halved with round-half-up (ties were excluded above): the top 53 bits
  // plus the 54th. upper * 2^(22 - upperBit) is the upper word's share, lower >>> (10 + upperBit) the lower's.
  const upper = x7 * two16 + x6;
  const lower = x5 * two16 + x4;
  let mantissa = upperBit ? upper * 2097152 + (lower >>> 11) + ((lower >>> 10) & 1) : upper * 4194304 + (lower >>> 10) + ((lower >>> 9) & 1);
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
 * Reads a JSON number from bytes (what the JSONL scanner does for every value): `read` returns the index after
 * the number, or -1 where the bytes there are not a JSON number; `value` then holds it.
 */
export class JsonNumberReader {
  /** The last number read (a typed slot: writing it never allocates). */
  readonly result = new Float64Array(1);

  get value(): number {
    return this.result[0];
  }

  /** `view` is a DataView of the same bytes as `b` (four digits are checked and converted at once). */
  read(b: Uint8Array, view: DataView, i: number, end: number): number {
    const start = i;
    let negative = false;
    if (i < end && b[i] === 45 /* - */) {
      negative = true;
      i++;
    }
    if (i >= end) return -1;
    let c = b[i];
    // Significant digits: the first 15 in `high` (exact), the next 4 in `low`; more than 19 go to Number().
    let high = 0;
    let low = 0;
    let lowScale = 1;
    let digits = 0;
    let exponent = 0;
    if (c === 48) i++;
    else if (c > 48 && c <= 57) {
      while (digits <= 11 && i + 4 <= end) {
        const v = view.getUint32(i, true);
        if (!fourDigits(v)) break;
        high = high * 10000 + fourDigitsValue(v);
        digits += 4;
        i += 4;
      }
      while (i < end && (c = b[i]) >= 48 && c <= 57) {
        if (digits < 15) high = high * 10 + (c - 48);
        else if (digits < 19) {
          low = low * 10 + (c - 48);
          lowScale *= 10;
        }
        digits++;
        i++;
      }
    } else return -1;
    if (i < end && b[i] === 46 /* . */) {
      i++;
      if (i >= end || (c = b[i]) < 48 || c > 57) return -1;
      if (digits === 0) {
        // Zeros before the first significant digit only move the exponent.
        while (c === 48) {
          exponent--;
          if (++i >= end) break;
          c = b[i];
        }
      }
      const fractionStart = i;
      while (digits <= 11 && i + 4 <= end) {
        const v = view.getUint32(i, true);
        if (!fourDigits(v)) break;
        high = high * 10000 + fourDigitsValue(v);
        digits += 4;
        i += 4;
      }
      while (i < end && (c = b[i]) >= 48 && c <= 57) {
        if (digits < 15) high = high * 10 + (c - 48);
        else if (digits < 19) {
          low = low * 10 + (c - 48);
          lowScale *= 10;
        }
        digits++;
        i++;
      }
      exponent -= i - fractionStart;
    }
    if (i < end && ((c = b[i]) === 101 || c === 69) /* e E */) {
      i++;
      let exponentNegative = false;
      if (i < end && ((c = b[i]) === 43 || c === 45)) {
        exponentNegative = c === 45;
        i++;
      }
      if (i >= end || (c = b[i]) < 48 || c > 57) return -1;
      let written = 0;
      do {
        // Beyond 1e6 the result is 0 or Infinity either way; Number() decides.
        if (written < 1e6) written = written * 10 + (c - 48);
        i++;
      } while (i < end && (c = b[i]) >= 48 && c <= 57);
      exponent += exponentNegative ? -written : written;
    }
    let value = digits > 19 ? NaN : toDouble(negative, high, low, lowScale, digits, exponent);
    if (value !== value) value = Number(latin1(b, start, i));
    this.result[0] = value;
    return i;
  }
}

/** The double nearest (high * lowScale + low) * 10^exponent, or NaN for Number() to decide. */
function toDouble(negative: boolean, high: number, low: number, lowScale: number, digits: number, exponent: number): number {
  if (digits === 0) return negative ? -0 : 0;
  if (digits <= 15) {
    if (exponent >= -22 && exponent <= 22) {
      const value = exponent < 0 ? high / powersOfTen[-exponent] : high * powersOfTen[exponent];
      return negative ? -value : value;
    }
    const lo = high >>> 0; // high mod 2^32 (high < 2^50 is an integer)
    return eiselLemire((high - lo) / two32, lo, exponent, negative);
  }
  // 16 to 19 digits: high * lowScale + low as two 32-bit halves (high < 10^15 < 2^50, lowScale <= 10^4).
  const highLower = high >>> 0;
  const lowerSum = highLower * lowScale + low;
  const lo = lowerSum >>> 0;
  const hi = ((high - highLower) / two32) * lowScale + (lowerSum - lo) / two32;
  if (hi < 0x200000 && exponent >= -22 && exponent <= 22) {
    // Below 2^53: still exact as a double.
    const m = hi * two32 + lo;
    const value = exponent < 0 ? m / powersOfTen[-exponent] : m * powersOfTen[exponent];
    return negative ? -value : value;
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
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return undefined;
    bytes[i] = c;
  }
  const reader = new JsonNumberReader();
  return reader.read(bytes, new DataView(bytes.buffer), 0, bytes.length) === bytes.length ? reader.value : undefined;
}

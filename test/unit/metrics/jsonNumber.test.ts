import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { eiselLemire, parseJsonNumber } from '../../../src/core/metrics/jsonNumber';

/** What the reader must match bit for bit: JSON.parse's number, or undefined where JSON.parse rejects the text. */
function reference(text: string): number | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

function assertSame(text: string): void {
  const got = parseJsonNumber(text);
  const want = reference(text);
  assert.ok(Object.is(got, want), `${text}: read ${got}, JSON.parse ${want}`);
}

/** The exact decimal value halfway between a positive finite double and the next one up: digits * 10^exponent. */
function midpointAbove(x: number): { digits: string; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? -1074 : biased - 1075) - 1;
  const odd = 2n * mantissa + 1n;
  if (exponent >= 0) return { digits: (odd << BigInt(exponent)).toString(), exponent: 0 };
  return { digits: (odd * 5n ** BigInt(-exponent)).toString(), exponent };
}

const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });

describe('JSON numbers read from bytes: the same double as JSON.parse', () => {
  it('reads every double as JS prints it (shortest, exponential, precision and fixed forms)', () => {
    fc.assert(
      fc.property(finiteDouble, fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 21 }), (x, digits, precision) => {
        assertSame(String(x));
        assertSame(x.toExponential(digits));
        assertSame(x.toPrecision(precision));
        assertSame(x.toFixed(digits));
        assertSame(String(Math.fround(x)));
      }),
      { numRuns: 20000 },
    );
  });

  it('reads decimal texts of 1 to 25 digits with any point position, leading zeros and exponents', () => {
    const digitString = (min: number, max: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        digitString(0, 12),
        fc.option(fc.tuple(fc.nat({ max: 6 }), digitString(1, 20))),
        fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 420 }))),
        fc.boolean(),
        (negative, first, rest, fraction, exponent, zeroInteger) => {
          const integer = zeroInteger ? '0' : `${first}${rest}`;
          const point = fraction ? `.${'0'.repeat(fraction[0])}${fraction[1]}` : '';
          const power = exponent ? `${exponent[0]}${exponent[1]}${exponent[2]}` : '';
          assertSame(`${negative ? '-' : ''}${integer}${point}${power}`);
        },
      ),
      { numRuns: 20000 },
    );
  });

  it('rounds texts next to the exact midpoint between two doubles correctly (ties to even)', () => {
    fc.assert(
      fc.property(fc.double({ min: Number.MIN_VALUE, max: 1e300, noNaN: true }), fc.integer({ min: 15, max: 22 }), (x, keep) => {
        const { digits, exponent } = midpointAbove(x);
        const cut = Math.min(keep, digits.length);
        const scale = exponent + digits.length - cut;
        const truncated = BigInt(digits.slice(0, cut));
        for (const mantissa of [truncated - 1n, truncated, truncated + 1n]) if (mantissa > 0n) assertSame(`${mantissa}e${scale}`);
        assertSame(`${digits}e${exponent}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('rounds 16 to 19 digit decimals with up to 22 fraction digits correctly, at and next to midpoints (the corrected quotient)', () => {
    // The texts the residual check decides: m >= 2^53 with 16-19 significant digits and a point (or e-1 .. e-22).
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e18, noNaN: true }), fc.integer({ min: 16, max: 19 }), fc.integer({ min: -1, max: 1 }), (x, keep, nudge) => {
        const { digits, exponent } = midpointAbove(x);
        const cut = Math.min(keep, digits.length);
        const scale = exponent + digits.length - cut;
        const mantissa = BigInt(digits.slice(0, cut)) + BigInt(nudge);
        if (scale < -22 || scale > 0 || mantissa < 1n << 53n) return;
        const text = mantissa.toString();
        // As a point number (the form logs use) and in exponent form.
        const point = -scale >= text.length ? `0.${'0'.repeat(-scale - text.length)}${text}` : `${text.slice(0, text.length + scale)}.${text.slice(text.length + scale)}`;
        assertSame(scale === 0 ? text : point);
        assertSame(`${text}e${scale}`);
        assertSame(`-${text}e${scale}`);
      }),
      { numRuns: 20000 },
    );
    for (const x of [2.5374467372894287, 0.5370691418647766, 1.9744768142700195, 1.0000000000000002]) assertSame(String(x));
    // Powers of two (the double below is half as far) and exact ties.
    for (const text of ['4503599627370496.5', '9007199254740993', '9007199254740992.5', '9007199254740993.0', '4.5035996273704965', '1.00000000000000011102230246251565', '0.99999999999999994448884876874217']) assertSame(text);
  });

  it('reads the edge cases: signed zeros, 2^53 neighbours, extremes, subnormals, overflow and underflow', () => {
    const texts = [
      '0', '-0', '0.0', '-0.0', '0e5', '-0e-5', '0.000', '-0.000e+12', '0E0',
      '9007199254740991', '9007199254740992', '9007199254740993', '9007199254740995', '18446744073709551615', '18446744073709551616',
      '1e22', '1e23', '1e-22', '1e-23', '123456789012345678e-5', '1234567890123456789e3', '0.1', '0.2', '0.3', '2.5', '1.5e-5',
      '1.7976931348623157e308', '1.7976931348623158e308', '1.7976931348623159e308', '1e309', '-1e400', '1e99999999999',
      '2.2250738585072014e-308', '2.2250738585072011e-308', '2.225073858507201e-308', '4.9406564584124654e-324', '5e-324', '2e-324',
      '1e-400', '-1e-99999999999', '0.000000000000000000000000000001', '1700000000.05', '2.5374467372894287', '0.5385836362838745',
      // 16-19 digits with the point inside the last eight digits (read one by one) and before them (read as two words).
      '1234567890.1234567', '123456789012.3456789', '12345678901234567.8', '1234567890123456.789', '0.00000000123456789012345678',
      '98765432.10987654', '-9999999999999999.99', '9999999999999999999', '99999999.99999999999',
    ];
    for (const text of texts) assertSame(text);
  });

  it('takes only JSON number syntax (everything else is left to JSON.parse, which rejects it)', () => {
    for (const text of ['', '-', '01', '-01', '1.', '.5', '+1', '1e', '1e+', '1E-', '0x10', '--1', '1_0', '1.2.3', 'NaN', 'Infinity', '-Infinity', '1a', '١']) {
      assert.equal(parseJsonNumber(text), undefined, text);
      assert.equal(reference(text), undefined, text);
    }
  });

  it('Eisel–Lemire decides almost every 64-bit mantissa and power of ten itself, exactly (Number() is the fallback)', () => {
    let decided = 0;
    let normal = 0;
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), fc.integer({ min: -342, max: 308 }), fc.boolean(), (w, q, negative) => {
        const got = eiselLemire(Number(w >> 32n), Number(w & 0xffffffffn), q, negative);
        const want = Number(`${negative ? '-' : ''}${w}e${q}`);
        if (Math.abs(want) >= 2.2250738585072014e-308 && Number.isFinite(want)) normal++;
        if (Number.isNaN(got)) return;
        decided++;
        assert.ok(Object.is(got, want), `${w}e${q}: ${got} vs ${want}`);
      }),
      { numRuns: 20000 },
    );
    // Only the 2 in 512 products whose low bits may hide a carry or a tie, and subnormals or overflow, go to Number().
    assert.ok(decided > normal * 0.98, `decided ${decided} of ${normal} normal results`);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buf as crc32cReference } from 'crc-32/crc32c';
import { crc32c, maskedCrc32c } from '../../../src/core/metrics/crc32c';
import { niceDomain, quantileSorted, robustYRange, smoothDebiasedEma } from '../../../src/core/metrics/smoothing';

/** TensorBoard's classic smoothing, transcribed point by point (webapp line chart data transformer). */
function tensorBoardSmoothing(data: number[], smoothingWeight: number): number[] {
  let last = data.length > 0 ? 0 : NaN;
  let numAccum = 0;
  const isConstant = data.every((v) => v === data[0]);
  return data.map((nextVal) => {
    if (isConstant || !Number.isFinite(nextVal)) return nextVal;
    last = last * smoothingWeight + (1 - smoothingWeight) * nextVal;
    numAccum++;
    let debiasWeight = 1;
    if (smoothingWeight !== 1) debiasWeight = 1 - Math.pow(smoothingWeight, numAccum);
    return last / debiasWeight;
  });
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('smoothing', () => {
  it("equals TensorBoard's debiased EMA to 1e-9 (noise, NaN, inf, several weights)", () => {
    const rnd = random(7);
    const data = Array.from({ length: 100_000 }, (_, i) => 5 * Math.exp(-i / 20000) + rnd() - 0.5);
    data[10] = NaN;
    data[500] = Infinity;
    data[501] = -Infinity;
    for (const weight of [0, 0.3, 0.6, 0.9, 0.99, 0.999]) {
      const expected = tensorBoardSmoothing(data, weight);
      const actual = smoothDebiasedEma(data, weight);
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(expected[i])) assert.ok(Object.is(expected[i], actual[i]), `w=${weight} i=${i}`);
        else assert.ok(Math.abs(expected[i] - actual[i]) <= 1e-9 * Math.max(1, Math.abs(expected[i])), `w=${weight} i=${i}: ${expected[i]} vs ${actual[i]}`);
      }
    }
  });

  it('gives the same doubles as the running weight^k kept to the end (it is dropped once 1 - weight^k rounds to 1)', () => {
    // The unflushed product: what the function computed before it stopped carrying weight^k into the subnormals.
    const unflushed = (data: Float64Array, weight: number) => {
      const out = new Float64Array(data.length);
      let last = 0;
      let power = 1;
      for (let i = 0; i < data.length; i++) {
        last = last * weight + (1 - weight) * data[i]!;
        power *= weight;
        out[i] = last / (1 - power);
      }
      return out;
    };
    const rnd = random(11);
    const data = Float64Array.from({ length: 5000 }, () => rnd() * 4 - 1);
    for (const weight of [0.01, 0.3, 0.6, 0.9, 0.99, 0.999, 0.99999]) {
      const expected = unflushed(data, weight);
      const actual = smoothDebiasedEma(data, weight);
      for (let i = 0; i < data.length; i++) assert.ok(Object.is(actual[i], expected[i]), `weight ${weight}, point ${i}: ${actual[i]} vs ${expected[i]}`);
    }
  });

  it('does not pull the first points towards 0 and leaves constant series alone', () => {
    assert.equal(smoothDebiasedEma([5, 5, 5], 0.9)[0], 5);
    assert.equal(smoothDebiasedEma([5, 6], 0.6)[0], 5);
    assert.deepEqual(Array.from(smoothDebiasedEma([], 0.6)), []);
  });
});

describe('y range', () => {
  it('uses d3-style quantiles', () => {
    assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantileSorted([0, 10], 0.05), 0.5);
  });

  it("ignores outliers with TensorBoard's 5th-95th percentile rule", () => {
    const values = Array.from({ length: 101 }, (_, i) => 5 + i / 100);
    values[0] = 1000; // a loss spike
    const [lo, hi] = robustYRange([values]);
    assert.ok(hi < 7, `spike excluded: ${hi}`);
    assert.ok(lo > 4 && lo < 5.1);
    const [, fullHi] = robustYRange([values], false);
    assert.ok(fullHi > 1000);
  });

  it('includes 0 when that less than doubles the span, skips NaN, and has a default for nothing', () => {
    assert.deepEqual(robustYRange([[NaN]]), [-0.1, 1.1]);
    const [lo] = robustYRange([[0.1, 0.5, 1]], false);
    assert.equal(lo, -0.1);
    const [llo, lhi] = robustYRange([[1e-6, 1e-3]], false, true);
    assert.ok(llo > 0 && llo < 1e-6 && lhi > 1e-3);
  });
});

describe('nice domain', () => {
  it('rounds outwards to 1/2/5 tick steps as d3 does', () => {
    const close = (actual: [number, number], expected: [number, number]) => actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12, `${actual} vs ${expected}`));
    close(niceDomain(5.2784, 5.4503), [5.26, 5.46]);
    close(niceDomain(-0.0002, 0.00237), [-0.0004, 0.0024]);
  });
});

describe('CRC-32C', () => {
  it('matches the standard check value and SheetJS crc-32/crc32c on random slices', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    const rnd = random(3);
    const bytes = Uint8Array.from({ length: 4096 }, () => Math.floor(rnd() * 256));
    for (let k = 0; k < 300; k++) {
      const start = Math.floor(rnd() * 2000);
      const end = start + Math.floor(rnd() * 2000);
      assert.equal(crc32c(bytes, start, end), crc32cReference(bytes.subarray(start, end)) >>> 0);
    }
    const crc = crc32cReference(bytes.subarray(0, 8)) >>> 0;
    assert.equal(maskedCrc32c(bytes, 0, 8), ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0);
  });
});

/**
 * TensorBoard's scalar smoothing: a debiased exponential moving average (the "classic" smoothing of
 * tensorboard/webapp's line chart). Non-finite values pass through unsmoothed and do not enter the average;
 * a constant series is returned unchanged. Unlike a plain EMA, the first points are not pulled towards 0.
 */
export function smoothDebiasedEma(values: ArrayLike<number>, weight: number, out?: Float64Array): Float64Array {
  const n = values.length;
  const result = out && out.length >= n ? out : new Float64Array(n);
  if (n === 0) return result;
  const first = values[0];
  let constant = true;
  for (let i = 1; i < n; i++) {
    if (values[i] !== first && !(Number.isNaN(values[i]) && Number.isNaN(first))) {
      constant = false;
      break;
    }
  }
  if (constant || weight <= 0) {
    for (let i = 0; i < n; i++) result[i] = values[i];
    return result;
  }
  let last = 0;
  // weight^k kept as a running product instead of Math.pow per point.
  let weightPower = 1;
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (!Number.isFinite(value)) {
      result[i] = value;
      continue;
    }
    last = last * weight + (1 - weight) * value;
    weightPower *= weight;
    // Once 1 - weight^k rounds to 1 the power no longer matters: 0 from then on, the same results. Left alone it
    // would sink into the subnormals and stay at the smallest one (0.6 times it rounds back to it), and on CPUs
    // that handle subnormals in microcode every multiplication then took ~45 ns (50 ms per million points here).
    if (1 - weightPower === 1) weightPower = 0;
    result[i] = weight === 1 ? last : last / (1 - weightPower);
  }
  return result;
}

/** d3.quantile: linear interpolation between the closest ranks of a sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (p <= 0 || n === 1) return sorted[0];
  if (p >= 1) return sorted[n - 1];
  const index = (n - 1) * p;
  const lower = Math.floor(index);
  return sorted[lower] + (sorted[lower + 1] - sorted[lower]) * (index - lower);
}

/**
 * TensorBoard's y-axis domain when "ignore outliers" is on: the 5th–95th percentile of the finite values,
 * padded by 20% of the span; the range includes 0 when that less than doubles the span; then made nice (d3).
 * Empty input: [-0.1, 1.1].
 */
export function robustYRange(valueArrays: ArrayLike<number>[], ignoreOutliers = true, logScale = false): [number, number] {
  let count = 0;
  for (const values of valueArrays) count += values.length;
  const finite = new Float64Array(count);
  let n = 0;
  for (const values of valueArrays) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isFinite(v) && (!logScale || v > 0)) finite[n++] = v;
    }
  }
  if (n === 0) return [-0.1, 1.1];
  const sorted = finite.subarray(0, n).sort();
  const a = ignoreOutliers ? quantileSorted(sorted, 0.05) : sorted[0];
  const b = ignoreOutliers ? quantileSorted(sorted, 0.95) : sorted[n - 1];
  if (logScale) {
    // On a log axis the padding is multiplicative.
    const lo = Math.log10(a);
    const hi = Math.log10(b);
    const pad = hi === lo ? 0.5 : (hi - lo) * 0.2;
    return [10 ** (lo - pad), 10 ** (hi + pad)];
  }
  const span = b - a;
  const padding = span === 0 ? Math.abs(a) * 1.1 + 1.1 : span * 0.2;
  const lower = a >= 0 && a < span ? -0.1 * b : a - padding;
  return niceDomain(lower, b + padding);
}

/** d3's scale.nice() with 10 ticks: widens [lo, hi] to multiples of a 1/2/5 × 10^k tick step. */
export function niceDomain(lo: number, hi: number, count = 10): [number, number] {
  const step0 = Math.abs(hi - lo) / count;
  if (!(step0 > 0) || !Number.isFinite(step0)) return [lo, hi];
  let step = 10 ** Math.floor(Math.log10(step0));
  const error = step0 / step;
  if (error >= Math.sqrt(50)) step *= 10;
  else if (error >= Math.sqrt(10)) step *= 5;
  else if (error >= Math.sqrt(2)) step *= 2;
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}

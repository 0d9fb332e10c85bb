/** Pure helpers the chart and the CLI share (no Node APIs: the webview bundles this file). */

/** Epoch at each step, interpolated from a run's `train/epoch` series (NaN when there is none). */
export function epochsAt(steps: ArrayLike<number>, epochSteps: ArrayLike<number> | undefined, epochValues: ArrayLike<number> | undefined): Float64Array {
  const out = new Float64Array(steps.length).fill(NaN);
  if (!epochSteps || !epochValues || epochSteps.length === 0) return out;
  const es = epochSteps;
  const ev = epochValues;
  const last = es.length - 1;
  let j = 0;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    while (j < last && es[j + 1] <= step) j++;
    if (step < es[0]) out[i] = es[0] > 0 ? (ev[0] * step) / es[0] : NaN;
    else if (j === last) {
      // Past the last logged epoch: extend the last slope.
      const slope = last > 0 ? (ev[last] - ev[last - 1]) / (es[last] - es[last - 1]) : es[0] > 0 ? ev[0] / es[0] : 0;
      out[i] = ev[last] + (step - es[last]) * slope;
    } else out[i] = ev[j] + ((ev[j + 1] - ev[j]) * (step - es[j])) / (es[j + 1] - es[j]);
  }
  return out;
}

/**
 * Min/max downsampling per pixel column: of the points whose x falls in [xMin, xMax], each of `columns` buckets
 * keeps its first, minimum, maximum and last point (in x order), so spikes survive and the line looks the same as
 * the full series at that width. Non-finite y values are always kept (they are drawn as gaps). One point on each
 * side of the range is kept so lines run to the edges. Returns indices into the input.
 */
export function minMaxDownsample(xs: ArrayLike<number>, ys: ArrayLike<number>, xMin: number, xMax: number, columns: number): Uint32Array {
  const n = xs.length;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < xMin) lo = mid + 1;
    else hi = mid;
  }
  const first = Math.max(0, lo - 1);
  let a = first;
  let b = n;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (xs[mid] <= xMax) a = mid + 1;
    else b = mid;
  }
  const end = Math.min(n, a + 1);
  const count = end - first;
  if (count <= columns * 4) {
    const all = new Uint32Array(count);
    for (let i = 0; i < count; i++) all[i] = first + i;
    return all;
  }
  const out = new Uint32Array(columns * 4 + 2 + count / 64 + 16);
  let k = 0;
  const push = (index: number) => {
    if (k === out.length) return;
    if (k > 0 && out[k - 1] === index) return;
    out[k++] = index;
  };
  const width = (xMax - xMin) / columns || 1;
  let i = first;
  while (i < end) {
    const bucket = Math.floor((xs[i] - xMin) / width);
    const bucketStart = i;
    let minI = i;
    let maxI = i;
    let j = i;
    for (; j < end && Math.floor((xs[j] - xMin) / width) === bucket; j++) {
      const y = ys[j];
      if (!Number.isFinite(y)) continue;
      if (!(ys[minI] <= y)) minI = j;
      if (!(ys[maxI] >= y)) maxI = j;
    }
    push(bucketStart);
    if (minI < maxI) {
      push(minI);
      push(maxI);
    } else {
      push(maxI);
      push(minI);
    }
    for (let m = bucketStart; m < j; m++) if (!Number.isFinite(ys[m])) push(m);
    push(j - 1);
    i = j;
  }
  // Non-finite points pushed after min/max of their bucket may be out of order: sort, then drop repeats.
  const kept = out.subarray(0, k).sort();
  let w = 0;
  for (let r = 0; r < kept.length; r++) if (w === 0 || kept[r] !== kept[w - 1]) kept[w++] = kept[r];
  return kept.subarray(0, w);
}

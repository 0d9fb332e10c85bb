/**
 * Metric names as the HF Trainer logs them (`loss`, `eval_loss`, `grad_norm`) mapped to the tags its
 * TensorBoard callback writes (`train/loss`, `eval/loss`, `train/grad_norm`), so that a log line, a
 * trainer_state.json entry and an event file of the same run land in the same series. This mirrors
 * transformers' `rewrite_logs`: `eval_x` → `eval/x`, `test_x` → `test/x`, anything else → `train/x`.
 */
export function hfTag(key: string): string {
  if (key.includes('/')) return key;
  if (key.startsWith('eval_')) return `eval/${key.slice(5)}`;
  if (key.startsWith('test_')) return `test/${key.slice(5)}`;
  return `train/${key}`;
}

/** Keys of the Trainer's end-of-training dict: kept as run metadata, not as one-point series. */
const summaryKeys = new Set(['train_runtime', 'train_samples_per_second', 'train_steps_per_second', 'train_loss', 'total_flos']);

/** The summary key for a tag or raw key (`train/train_runtime` or `train_runtime`), or undefined. */
export function summaryKey(tagOrKey: string): string | undefined {
  const key = tagOrKey.startsWith('train/') ? tagOrKey.slice(6) : tagOrKey;
  return summaryKeys.has(key) ? key : undefined;
}

/** Keys that are bookkeeping, not metrics. */
export const nonMetricKeys = new Set(['step', 'global_step', '_step', 'current_steps', 'total_steps', '_runtime', '_timestamp', 'timestamp', 'time', 'wall_time', 'walltime', 'elapsed_time', 'remaining_time', 'percentage']);

/** Parses a number as Python or JSON prints it: `5.56`, `'5.56'`, `nan`, `inf`, `-inf`, `NaN`, `Infinity`. */
export function parseNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'boolean' || raw === null || raw === undefined) return undefined;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  const lower = text.toLowerCase();
  if (lower === 'nan' || lower === '-nan') return NaN;
  if (lower === 'inf' || lower === 'infinity' || lower === '+inf') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  // Number() rejects trailing garbage that parseFloat would accept ("12abc").
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

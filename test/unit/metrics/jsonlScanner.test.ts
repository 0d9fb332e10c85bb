import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FlatLineScanner, JsonlMetricsParser } from '../../../src/core/metrics/jsonl';
import type { ReaderWarning, ScalarSink } from '../../../src/core/metrics/types';
import { realFixturesDir } from '../../harness/shared';

/** mulberry32: a seeded generator, so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Call = [string, number, number, number];

function record(): { sink: ScalarSink; calls: Call[] } {
  const calls: Call[] = [];
  return { calls, sink: { add: (tag: string, step: number, value: number, wallTime: number) => void calls.push([tag, step, value, wallTime]) } as unknown as ScalarSink };
}

/** Parses bytes in the given chunk sizes; returns every sink call and warning. */
function parse(bytes: Uint8Array, scan: boolean, chunkSizes: number[]): { calls: Call[]; warnings: ReaderWarning[] } {
  const parser = new JsonlMetricsParser('m.jsonl', { scan });
  const { sink, calls } = record();
  const warnings: ReaderWarning[] = [];
  let offset = 0;
  let k = 0;
  // The reader reuses its read buffer: so does this, to catch a carry that points into it.
  const buffer = new Uint8Array(Math.max(1, ...chunkSizes));
  while (offset < bytes.length) {
    const n = Math.min(chunkSizes[k++ % chunkSizes.length], bytes.length - offset);
    buffer.set(bytes.subarray(offset, offset + n));
    warnings.push(...parser.push(buffer.subarray(0, n), sink).warnings);
    buffer.fill(0x41);
    offset += n;
  }
  warnings.push(...parser.end(sink).warnings);
  return { calls, warnings };
}

/** Whether the scanner takes this one line (given without its newline) itself. */
function scans(scanner: FlatLineScanner, line: string): boolean {
  const bytes = new Uint8Array(Buffer.from(`${line}\n`, 'utf8'));
  return scanner.scan(bytes, 0, bytes.length) === bytes.length - 1;
}

function same(a: Call[], b: Call[]): boolean {
  return a.length === b.length && a.every((call, i) => call[0] === b[i][0] && call.slice(1).every((v, j) => Object.is(v, b[i][j + 1])));
}

const keys = ['step', 'global_step', 'current_steps', '_step', 'total_steps', 'loss', 'lr', 'learning_rate', 'eval_loss', 'grad_norm', 'epoch', '_timestamp', 'timestamp', 'wall_time', 'percentage', 'elapsed_time', 'train/loss', 'a b', '0', '12', 'NaN', 'xInfinity', 'a\\"b', 'λ', 'tab\\t', 'x: NaN, y'];

function numberText(r: () => number): string {
  const x = (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
  const forms = [
    () => String(Math.floor(r() * 1e6)),
    () => String(Math.floor(r() * 1e17)) + String(Math.floor(r() * 10)),
    () => String(x),
    () => x.toExponential(Math.floor(r() * 17)),
    () => x.toFixed(Math.floor(r() * 20)),
    () => String(Math.fround(x)),
    () => ['-0', '0', '0.0', '1e400', '-1e400', '5e-324', '1E+2', '1e-7', '123456789012345', '1234567890123456', '9007199254740993', '0.1e1'][Math.floor(r() * 12)],
    // Not JSON: the scanner must leave these to JSON.parse (which rejects them, with a warning).
    () => ['01', '1.', '.5', '+1', '-', '1e', '0x10', '1_0', '--1'][Math.floor(r() * 9)],
  ];
  return forms[Math.floor(r() * forms.length)]();
}

function valueText(r: () => number): string {
  const forms = [
    () => numberText(r),
    () => numberText(r),
    () => numberText(r),
    () => JSON.stringify(numberText(r)),
    () => JSON.stringify(['5.56', 'nan', 'inf', '-inf', 'NaN', 'Infinity', ' 1 ', '', '0:00:10', '12abc', 'é', 'a\\b', 'x: NaN, y'][Math.floor(r() * 13)]),
    () => ['null', 'true', 'false', 'NaN', 'Infinity', '-Infinity', '-NaN', 'nan', 'NaNx', 'nul'][Math.floor(r() * 10)],
    () => ['{"a": 1}', '[1, 2]', '[]', '{}', '"\\u0031"', '"tab\there"'][Math.floor(r() * 6)],
  ];
  return forms[Math.floor(r() * forms.length)]();
}

const space = (r: () => number) => ['', '', '', ' ', '  ', '\t', ' \r'][Math.floor(r() * 7)];

function lineText(r: () => number): string {
  const roll = r();
  if (roll < 0.03) return ['', '   ', '1', '[1]', 'null', '"x"', '{', '}', '{"a":1}}', '{"a" 1}', '{"a":1,}', '{,}', '\ufeff{"loss": 1}', '{"loss": 1} x'][Math.floor(r() * 14)];
  const n = Math.floor(r() * 7);
  const fields: string[] = [];
  for (let i = 0; i < n; i++) fields.push(`${space(r)}"${keys[Math.floor(r() * keys.length)]}"${space(r)}:${space(r)}${valueText(r)}${space(r)}`);
  let text = `${space(r)}{${fields.join(',')}}${space(r)}`;
  if (r() < 0.02) text = text.slice(0, Math.floor(r() * text.length)); // a line cut short
  return text;
}

describe('JSONL byte scanner: the same series as JSON.parse on every line', () => {
  it('agrees with the JSON.parse reader on 40 generated files of mixed valid, odd and broken lines, in random chunkings', () => {
    let scanned = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const lines: string[] = [];
      for (let i = 0; i < 400; i++) lines.push(lineText(r));
      const text = (r() < 0.2 ? '\ufeff' : '') + lines.join(r() < 0.5 ? '\n' : '\r\n') + (r() < 0.5 ? '\n' : '');
      const bytes = new TextEncoder().encode(text);
      const chunks = [1 + Math.floor(r() * 7), 1 + Math.floor(r() * 300), 4096];
      const reference = parse(bytes, false, [bytes.length || 1]);
      const fast = parse(bytes, true, chunks);
      assert.ok(same(fast.calls, reference.calls), `seed ${seed}: sink calls differ (${fast.calls.length} vs ${reference.calls.length})`);
      assert.deepEqual(fast.warnings, reference.warnings, `seed ${seed}: warnings differ`);
      const scanner = new FlatLineScanner();
      for (const line of lines) if (scans(scanner, line)) scanned++;
    }
    // The comparison means something only if the scanner took most lines itself.
    assert.ok(scanned > 40 * 400 * 0.25, `scanner handled ${scanned} lines`);
  });

  it('parses numbers exactly: every double printed by JS round-trips, long integers via Number()', () => {
    const r = rng(99);
    const scanner = new FlatLineScanner();
    for (let i = 0; i < 20000; i++) {
      const bits = new Float64Array(new Uint32Array([Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32)]).buffer)[0];
      if (!Number.isFinite(bits)) continue;
      const text = `{"loss": ${String(bits)}, "step": ${Math.floor(r() * 2 ** 53)}}`;
      assert.ok(scans(scanner, text), text);
      assert.ok(Object.is(scanner.numbers[0], bits), text);
      assert.equal(scanner.numbers[1], JSON.parse(text).step);
    }
  });

  it('takes the bench line shape and LLaMA-Factory trainer_log.jsonl lines without JSON.parse', () => {
    const scanner = new FlatLineScanner();
    const lines = [
      '{"step": 1, "loss": 1.2345678806304932, "_timestamp": 1700000000.05}',
      '{"current_steps": 10, "total_steps": 300, "loss": 2.0145, "lr": 9.99e-05, "epoch": 0.1, "percentage": 3.33, "elapsed_time": "0:00:10", "remaining_time": "0:05:00"}',
      '{"current_steps": 20, "total_steps": 300, "eval_loss": 1.9, "loss": null, "lr": null, "epoch": 0.2}',
      '{"step": 5, "loss": NaN}',
    ];
    for (const line of lines) assert.ok(scans(scanner, line), line);
  });

  it('falls back on a real dataset JSONL (nested messages) with the same result as JSON.parse', () => {
    const bytes = readFileSync(path.join(realFixturesDir, 'datasets', 'qwen25_sft_example_data.jsonl'));
    const fast = parse(bytes, true, [1000]);
    const reference = parse(bytes, false, [bytes.length]);
    assert.ok(same(fast.calls, reference.calls));
    assert.deepEqual(fast.warnings, reference.warnings);
  });

  it('agrees with JSON.parse on logs of repeated line shapes with mutated lines (reordered, duplicated and renamed keys, spacing, cut bytes)', () => {
    // What the prefix cache sees in practice: one shape per log, now and then another one or a damaged line.
    const shapes = [
      (r: () => number, step: number) => `{"step": ${step}, "loss": ${numberText(r)}, "_timestamp": ${1700000000 + step * 0.05}}`,
      (r: () => number, step: number) =>
        `{"current_steps": ${step}, "total_steps": 300, "loss": ${numberText(r)}, "lr": ${numberText(r)}, "epoch": ${(step / 30).toFixed(2)}, "percentage": ${((step / 3) % 100).toFixed(2)}, "elapsed_time": "0:00:${step % 60}", "remaining_time": "0:05:00"}`,
      (r: () => number, step: number) => `{"current_steps": ${step}, "eval_loss": ${numberText(r)}, "loss": null, "lr": null, "epoch": ${step / 30}}`,
      (r: () => number, step: number) => `{"_step":${step},"train/loss":${valueText(r)},"_timestamp":${1.7e12 + step},"_runtime":${step}}`,
    ];
    const mutations = [
      (line: string) => line.replace(/"(\w+)": ([^,}]+), "(\w+)": ([^,}]+)/, '"$3": $4, "$1": $2'), // two keys swapped
      (line: string) => line.replace(/^\{"(\w+)": ([^,}]+)/, '{"$1": $2, "$1": $2'), // a key repeated
      (line: string) => line.replace(/, "(\w+)"/, ', "$1x"'), // a key renamed
      (line: string) => line.replace(/, /g, ' ,  '), // other spacing
      (line: string) => line.replace(/: /, ':\t'),
      (line: string) => `  ${line} \r`,
      (line: string) => line.replace('"loss"', '"step"'),
      (line: string) => line.replace(/"(\w+)":/, '"$1\\u0041":'), // an escape in a key
      (line: string, r: () => number) => {
        const at = Math.floor(r() * line.length);
        return line.slice(0, at) + line.slice(at + 1); // a byte lost
      },
      (line: string, r: () => number) => {
        const at = Math.floor(r() * line.length);
        return line.slice(0, at) + ['"', ',', '}', '{', ' ', '0', '-', '.', 'e', 'N', 'λ'][Math.floor(r() * 11)] + line.slice(at);
      },
    ];
    let scanned = 0;
    let total = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(1000 + seed);
      const lines: string[] = [];
      let shape = Math.floor(r() * shapes.length);
      for (let step = 1; step <= 300; step++) {
        if (r() < 0.05) shape = Math.floor(r() * shapes.length);
        let line = shapes[shape](r, step);
        if (r() < 0.15) line = mutations[Math.floor(r() * mutations.length)](line, r);
        lines.push(line);
      }
      const text = lines.join('\n') + (r() < 0.5 ? '\n' : '');
      const bytes = new TextEncoder().encode(text);
      const reference = parse(bytes, false, [bytes.length]);
      for (const chunks of [[bytes.length], [1 + Math.floor(r() * 50), 1 + Math.floor(r() * 500)], [4096]]) {
        const fast = parse(bytes, true, chunks);
        assert.ok(same(fast.calls, reference.calls), `seed ${seed}, chunks ${chunks}: sink calls differ (${fast.calls.length} vs ${reference.calls.length})`);
        assert.deepEqual(fast.warnings, reference.warnings, `seed ${seed}: warnings differ`);
      }
      const scanner = new FlatLineScanner();
      for (const line of lines) if (scans(scanner, line)) scanned++;
      total += lines.length;
    }
    assert.ok(scanned > total * 0.7, `scanner handled ${scanned} of ${total} lines`);
  });

  it('keeps the key order JSON.parse gives when a line repeats a key at positions cached from different lines', () => {
    const text = ['{"a": 1, "b": 2, "c": 3}', '{"c": 4, "b": 5, "a": 6}', '{"c": 7, "b": 8, "c": 9}', '{"a": 1, "b": 2, "a": 3}', '{"c": 1, "b": 2, "a": 3}'].join('\n') + '\n';
    const bytes = new TextEncoder().encode(text);
    const fast = parse(bytes, true, [bytes.length]);
    const reference = parse(bytes, false, [bytes.length]);
    assert.ok(same(fast.calls, reference.calls), JSON.stringify(fast.calls));
    // The duplicate keeps its first position with its last value, as JSON.parse does.
    assert.deepEqual(fast.calls.slice(6, 8), [['train/c', 3, 9, NaN], ['train/b', 3, 8, NaN]]);
  });

  it('takes lines with more keys than its first capacity, and shapes that grow and shrink', () => {
    const wide = (step: number, keys: number) => `{"step": ${step}, ${Array.from({ length: keys }, (_, k) => `"m${k}": ${step + k / 7}`).join(', ')}}`;
    const lines = [wide(1, 3), wide(2, 40), wide(3, 40), wide(4, 5), wide(5, 70), wide(6, 2)];
    const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
    const fast = parse(bytes, true, [bytes.length]);
    const reference = parse(bytes, false, [bytes.length]);
    assert.equal(reference.calls.length, 3 + 40 + 40 + 5 + 70 + 2);
    assert.ok(same(fast.calls, reference.calls));
    const scanner = new FlatLineScanner();
    for (const line of lines) assert.ok(scans(scanner, line), line.slice(0, 40));
    // A line that extends a kept prefix with more spaces before its value is still taken.
    for (const line of ['{"step": 1, "loss": 2}', '{"step":  1, "loss":   2}', '{"step": 1,  "loss": 2}']) assert.ok(scans(scanner, line), line);
  });
});

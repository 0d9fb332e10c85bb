import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FlatLineScanner, JsonlMetricsParser } from '../../../src/core/metrics/jsonl';
import { JsonlKernel } from '../../../src/core/metrics/jsonlKernel';
import { SeriesStore } from '../../../src/core/metrics/series';
import type { ReaderWarning } from '../../../src/core/metrics/types';
import { realFixturesDir } from '../../harness/shared';
import { pushInChunks, recordingSink, type Call } from '../../helpers/chunkedPush';
import { rng } from '../../helpers/rng';


/**
 * How lines are read: JSON.parse for every line (the reference), the JavaScript scanner alone, or the WebAssembly
 * kernel first (from the smallest read on), then the scanner for what it leaves.
 */
type Mode = 'json' | 'scanner' | 'kernel';
const fastModes: Mode[] = ['scanner', 'kernel'];

/** Parses bytes in the given chunk sizes; returns every sink call and warning. */
function parse(bytes: Uint8Array, mode: Mode, chunkSizes: number[]): { calls: Call[]; warnings: ReaderWarning[] } {
  const parser = new JsonlMetricsParser('m.jsonl', { scan: mode !== 'json', kernel: mode === 'kernel', kernelFrom: 0 });
  const { sink, calls } = recordingSink();
  return { calls, warnings: pushInChunks(parser, bytes, chunkSizes, sink) };
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
      const reference = parse(bytes, 'json', [bytes.length || 1]);
      for (const mode of fastModes) {
        const fast = parse(bytes, mode, chunks);
        assert.ok(same(fast.calls, reference.calls), `seed ${seed}, ${mode}: sink calls differ (${fast.calls.length} vs ${reference.calls.length})`);
        assert.deepEqual(fast.warnings, reference.warnings, `seed ${seed}, ${mode}: warnings differ`);
      }
      const scanner = new FlatLineScanner();
      for (const line of lines) if (scans(scanner, line)) scanned++;
    }
    // The comparison means something only if the scanner took most lines itself. (The kernel takes none here: it
    // only takes lines that repeat the prefixes of the line before, and these change from line to line.)
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
    const reference = parse(bytes, 'json', [bytes.length]);
    for (const mode of fastModes) {
      const fast = parse(bytes, mode, [1000]);
      assert.ok(same(fast.calls, reference.calls), mode);
      assert.deepEqual(fast.warnings, reference.warnings, mode);
    }
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
    const kernelBefore = JsonlKernel.get()!.linesTaken;
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
      const reference = parse(bytes, 'json', [bytes.length]);
      for (const chunks of [[bytes.length], [1 + Math.floor(r() * 50), 1 + Math.floor(r() * 500)], [4096]]) {
        for (const mode of fastModes) {
          const fast = parse(bytes, mode, chunks);
          assert.ok(same(fast.calls, reference.calls), `seed ${seed}, ${mode}, chunks ${chunks}: sink calls differ (${fast.calls.length} vs ${reference.calls.length})`);
          assert.deepEqual(fast.warnings, reference.warnings, `seed ${seed}, ${mode}: warnings differ`);
        }
      }
      const scanner = new FlatLineScanner();
      for (const line of lines) if (scans(scanner, line)) scanned++;
      total += lines.length;
    }
    assert.ok(scanned > total * 0.7, `scanner handled ${scanned} of ${total} lines`);
    // Three chunkings per file: the kernel took a fifth of those lines at least. (It leaves numbers of over 19
    // digits, which numberText writes often, to the scanner, and rests after lines it cannot take.)
    const kernelTook = JsonlKernel.get()!.linesTaken - kernelBefore;
    assert.ok(kernelTook > total * 3 * 0.2, `kernel took ${kernelTook} of ${total * 3} lines`);
  });

  it('keeps the key order JSON.parse gives when a line repeats a key at positions cached from different lines', () => {
    const text = ['{"a": 1, "b": 2, "c": 3}', '{"c": 4, "b": 5, "a": 6}', '{"c": 7, "b": 8, "c": 9}', '{"a": 1, "b": 2, "a": 3}', '{"c": 1, "b": 2, "a": 3}'].join('\n') + '\n';
    const bytes = new TextEncoder().encode(text);
    const reference = parse(bytes, 'json', [bytes.length]);
    for (const mode of fastModes) {
      const fast = parse(bytes, mode, [bytes.length]);
      assert.ok(same(fast.calls, reference.calls), JSON.stringify(fast.calls));
      // The duplicate keeps its first position with its last value, as JSON.parse does.
      assert.deepEqual(fast.calls.slice(6, 8), [['train/c', 3, 9, NaN], ['train/b', 3, 8, NaN]]);
    }
  });

  it('takes lines with more keys than its first capacity, and shapes that grow and shrink', () => {
    const wide = (step: number, keys: number) => `{"step": ${step}, ${Array.from({ length: keys }, (_, k) => `"m${k}": ${step + k / 7}`).join(', ')}}`;
    const lines = [wide(1, 3), wide(2, 40), wide(3, 40), wide(4, 5), wide(5, 70), wide(6, 2)];
    const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
    const reference = parse(bytes, 'json', [bytes.length]);
    assert.equal(reference.calls.length, 3 + 40 + 40 + 5 + 70 + 2);
    for (const mode of fastModes) assert.ok(same(parse(bytes, mode, [bytes.length]).calls, reference.calls), mode);
    const scanner = new FlatLineScanner();
    for (const line of lines) assert.ok(scans(scanner, line), line.slice(0, 40));
    // A line that extends a kept prefix with more spaces before its value is still taken.
    for (const line of ['{"step": 1, "loss": 2}', '{"step":  1, "loss":   2}', '{"step": 1,  "loss": 2}']) assert.ok(scans(scanner, line), line);
  });
});

describe('JSONL WebAssembly kernel', () => {
  it('reads numbers to the same double as JSON.parse wherever it decides, and decides nearly all printed doubles', () => {
    const kernel = JsonlKernel.get()!;
    const r = rng(7);
    let decided = 0;
    let tried = 0;
    const check = (text: string) => {
      const got = kernel.readNumber(text);
      let want: number | undefined;
      try {
        want = JSON.parse(text) as number;
      } catch {
        want = undefined;
      }
      tried++;
      if (got === undefined) return;
      decided++;
      assert.ok(Object.is(got, want), `${text}: kernel ${got}, JSON.parse ${want}`);
    };
    for (let i = 0; i < 30000; i++) {
      const bits = new Float64Array(new Uint32Array([Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32)]).buffer)[0]!;
      if (!Number.isFinite(bits)) continue;
      check(String(bits));
      check(String(Math.fround(bits)));
      check(bits.toPrecision(1 + Math.floor(r() * 19)));
      check(numberText(r));
    }
    for (const text of ['0', '-0', '0.0', '1e22', '1e23', '9007199254740993', '18446744073709551615', '1.7976931348623157e308', '1e309', '2.2250738585072014e-308', '5e-324', '01', '1.', '-', '1e', '.5']) check(text);
    assert.ok(decided > tried * 0.75, `decided ${decided} of ${tried}`);
  });

  it('takes the bench and LLaMA-Factory line shapes whole, with the same series as the scanner, in one read and in small ones', () => {
    const kernel = JsonlKernel.get()!;
    const bench = Array.from({ length: 3000 }, (_, k) => `{"step": ${k + 1}, "loss": ${k % 1000 === 999 ? 'NaN' : Math.fround(2 * Math.exp(-k / 3e3) + 0.05 * Math.sin(k * 12.9898))}, "_timestamp": ${1700000000 + (k + 1) * 0.05}}`);
    const factory = Array.from(
      { length: 3000 },
      (_, k) =>
        `{"current_steps": ${k + 1}, "total_steps": 3000, "loss": ${(2 - k / 3000).toFixed(4)}, "lr": ${(2e-5 * (1 - k / 3000)).toExponential(3)}, "epoch": ${(k / 300).toFixed(2)}, "percentage": ${((k / 30) % 100).toFixed(2)}, "elapsed_time": "0:00:${k % 60}", "remaining_time": "0:05:00"}`,
    );
    for (const lines of [bench, factory]) {
      const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
      const reference = parse(bytes, 'scanner', [bytes.length]);
      for (const chunks of [[bytes.length], [65536], [333]]) {
        const before = kernel.linesTaken;
        const fast = parse(bytes, 'kernel', chunks);
        assert.ok(same(fast.calls, reference.calls), `chunks ${chunks}`);
        // All but the first line (which teaches the scanner the prefixes) and the few numbers Eisel–Lemire leaves.
        assert.ok(kernel.linesTaken - before > lines.length * 0.97, `kernel took ${kernel.linesTaken - before} of ${lines.length} (chunks ${chunks})`);
      }
    }
  });

  it('leaves lines of the plan\'s shape whose step or time is not a finite number to the per-key rules, as emit() does', () => {
    const r = rng(21);
    const odd = ['1e400', '-1e400', 'NaN', 'Infinity', '-Infinity', '"7"', '"x"', 'null', 'true', '12.5', '0', '-3', '1.7e12', '1700000000123'];
    const pick = (normal: string) => (r() < 0.25 ? odd[Math.floor(r() * odd.length)]! : normal);
    const lines = Array.from({ length: 2000 }, (_, k) => `{"step": ${pick(String(k + 1))}, "loss": ${pick(String(1 / (k + 1)))}, "_timestamp": ${pick(String(1.7e9 + k))}}`);
    const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
    const reference = parse(bytes, 'json', [bytes.length]);
    for (const chunks of [[bytes.length], [4096], [77]]) {
      const fast = parse(bytes, 'kernel', chunks);
      assert.ok(same(fast.calls, reference.calls), `chunks ${chunks}: ${fast.calls.length} vs ${reference.calls.length} points`);
      assert.deepEqual(fast.warnings, reference.warnings);
    }
  });

  it('fills a SeriesStore (which takes runs of points per tag) as JSON.parse does point by point, resumes included', () => {
    // Several metrics per line, steps that go back (resumes) and repeat, lines of another shape in between.
    const r = rng(33);
    const lines: string[] = [];
    let step = 0;
    for (let k = 0; k < 6000; k++) {
      const roll = r();
      step = roll < 0.002 ? Math.max(1, step - Math.floor(r() * 300)) : roll < 0.004 ? step : step + 1 + Math.floor(r() * 2);
      if (r() < 0.01) lines.push(`{"current_steps": ${step}, "eval_loss": ${r()}, "epoch": ${step / 100}}`);
      else lines.push(`{"current_steps": ${step}, "loss": ${r() * 3}, "lr": ${(r() * 1e-4).toExponential(3)}, "epoch": ${step / 100}, "elapsed_time": "0:01:${k % 60}"}`);
    }
    const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
    const fill = (options: { scan?: boolean; kernel?: boolean; kernelFrom?: number }, chunk: number) => {
      const store = new SeriesStore();
      pushInChunks(new JsonlMetricsParser('m.jsonl', options), bytes, [chunk], store);
      return store;
    };
    const reference = fill({ scan: false }, bytes.length);
    assert.ok(reference.resumes.length >= 5, `${reference.resumes.length} resumes`);
    const before = JsonlKernel.get()!.linesTaken;
    for (const chunk of [bytes.length, 65536, 999]) {
      const store = fill({ kernelFrom: 0 }, chunk);
      assert.deepEqual(store.resumes, reference.resumes, `chunk ${chunk}: resumes`);
      assert.deepEqual([...store.series.keys()], [...reference.series.keys()]);
      for (const [tag, want] of reference.series) {
        const got = store.series.get(tag)!;
        assert.deepEqual(got.toPoints(), want.toPoints(), `chunk ${chunk}: ${tag}`);
      }
    }
    assert.ok(JsonlKernel.get()!.linesTaken - before > lines.length * 2, 'the kernel took most lines');
  });

  it('serves readers in turn: each keeps its own prefixes (the kernel holds one reader\'s at a time)', () => {
    const a = new JsonlMetricsParser('a.jsonl', { kernelFrom: 0 });
    const b = new JsonlMetricsParser('b.jsonl', { kernelFrom: 0 });
    const aCalls = recordingSink();
    const bCalls = recordingSink();
    const lineA = (k: number) => `{"step": ${k}, "loss": ${1 / k}}\n`;
    const lineB = (k: number) => `{"global_step": ${k}, "eval_loss": ${2 / k}, "time": ${1700000000 + k}}\n`;
    for (let k = 1; k <= 200; k += 10) {
      a.push(new TextEncoder().encode(Array.from({ length: 10 }, (_, j) => lineA(k + j)).join('')), aCalls.sink);
      b.push(new TextEncoder().encode(Array.from({ length: 10 }, (_, j) => lineB(k + j)).join('')), bCalls.sink);
    }
    assert.deepEqual(aCalls.calls, Array.from({ length: 200 }, (_, j) => ['train/loss', j + 1, 1 / (j + 1), NaN]));
    assert.deepEqual(bCalls.calls, Array.from({ length: 200 }, (_, j) => ['eval/loss', j + 1, 2 / (j + 1), 1700000000 + j + 1]));
  });
});

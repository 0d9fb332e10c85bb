import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SeriesStore } from '../../../src/core/metrics/series';
import { TfEventsParser } from '../../../src/core/metrics/tfevents';
import { TfEventsKernel } from '../../../src/core/metrics/tfeventsKernel';
import type { ReaderWarning } from '../../../src/core/metrics/types';
import { realFixturesDir } from '../../harness/shared';
import { encodeEvent, encodeHparams, frameRecord, type ValueSpec } from '../../helpers/tfeventsWriter';
import { pushInChunks, recordingSink, type Call } from '../../helpers/chunkedPush';
import { rng } from '../../helpers/rng';


/** Every sink call and warning of a read in the given chunk sizes, with the kernel (from the first byte) or without. */
function read(bytes: Uint8Array, kernel: boolean, chunkSizes: number[]): { calls: Call[]; warnings: ReaderWarning[] } {
  const { sink, calls } = recordingSink();
  return { calls, warnings: pushInChunks(new TfEventsParser('x.tfevents', 0, { kernel, kernelFrom: 0 }), bytes, chunkSizes, sink) };
}

function assertSame(a: { calls: Call[]; warnings: ReaderWarning[] }, b: { calls: Call[]; warnings: ReaderWarning[] }, what: string): void {
  assert.equal(a.calls.length, b.calls.length, `${what}: ${a.calls.length} vs ${b.calls.length} points`);
  a.calls.forEach((call, i) => assert.ok(call[0] === b.calls[i]![0] && call.slice(1).every((v, j) => Object.is(v, b.calls[i]![j + 1])), `${what}: point ${i} ${call} vs ${b.calls[i]}`));
  assert.deepEqual(a.warnings, b.warnings, `${what}: warnings`);
}

/** An event file as the Trainer writes it, with what else TensorBoard files hold and, optionally, damage. */
function eventFile(r: () => number, records: number): Buffer {
  const tags = ['train/loss', 'train/learning_rate', 'train/grad_norm', 'eval/loss', 'train/epoch', 'train/train_runtime', 'a'.repeat(40), 'λ/loss'];
  const parts: Buffer[] = [frameRecord(encodeEvent(1.7e9, 0, [], 'brain.Event:2'))];
  for (let k = 1; k <= records; k++) {
    const roll = r();
    const step = roll < 0.02 ? 2 ** 50 + k : roll < 0.04 ? 0 : k * (1 + Math.floor(r() * 3));
    const value = r() < 0.02 ? NaN : (r() - 0.3) * 10 ** Math.floor(r() * 8 - 4);
    let values: ValueSpec[] = [{ tag: tags[Math.floor(r() * tags.length)]!, simpleValue: value }];
    if (r() < 0.05) values.push({ tag: tags[Math.floor(r() * tags.length)]!, simpleValue: value / 2 });
    if (r() < 0.02) values = [{ tag: 'args/text_summary', plugin: 'text', tensor: { dtype: 7, stringVal: ['lr=1e-4'] } }];
    if (r() < 0.02) values = [{ tag: 'train/loss', tensor: { dtype: 1, floatVal: [value] } }];
    let record = r() < 0.01 ? frameRecord(encodeHparams({ lr: 1e-4, model: 'qwen' })) : frameRecord(encodeEvent(1.7e9 + k * 0.37, step, values));
    const damage = r();
    if (damage < 0.01) record[Math.floor(r() * record.length)] ^= 1 << Math.floor(r() * 8); // a flipped bit anywhere
    else if (damage < 0.015) record = record.subarray(0, Math.floor(r() * record.length)); // a record cut short
    parts.push(record);
  }
  return Buffer.concat(parts);
}

describe('TensorBoard WebAssembly kernel: the same points and warnings as the JavaScript reader', () => {
  it('on the real event files, in one read and in small ones', () => {
    const kernel = TfEventsKernel.get()!;
    for (const file of ['hf-trainer-5.17/events.out.tfevents.1795425718.vm.723.0']) {
      const bytes = readFileSync(path.join(realFixturesDir, file));
      const reference = read(bytes, false, [bytes.length]);
      for (const chunks of [[bytes.length], [1], [5, 13], [97], [4096]]) {
        const before = kernel.recordsTaken;
        assertSame(read(bytes, true, chunks), reference, `${file}, chunks ${chunks}`);
        if (chunks[0]! >= 4096) assert.ok(kernel.recordsTaken - before > reference.calls.length * 0.5, `kernel took ${kernel.recordsTaken - before} records`);
      }
    }
  });

  it('on 30 generated files with several tags, summaries, text, hparams, tensors, huge steps, flipped bits and cut records', () => {
    const kernel = TfEventsKernel.get()!;
    let taken = 0;
    let points = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const bytes = eventFile(r, 600);
      const reference = read(bytes, false, [bytes.length]);
      points += reference.calls.length;
      for (const chunks of [[bytes.length], [1 + Math.floor(r() * 40), 1 + Math.floor(r() * 900)], [65536]]) {
        const before = kernel.recordsTaken;
        assertSame(read(bytes, true, chunks), reference, `seed ${seed}, chunks ${chunks}`);
        if (chunks.length === 1) taken += kernel.recordsTaken - before;
      }
    }
    // Two whole-file chunkings per seed: the kernel took most of those points (the rest: tensors, damage, text).
    assert.ok(taken > points * 2 * 0.6, `kernel took ${taken} of ${points * 2}`);
  });

  it('checks the stored header CRC of a record whose length it has seen before (the header CRC is kept per length)', () => {
    // Records of one length in a row (steps 100-199: same varint size), so the kept header CRC is what is compared.
    const records = Array.from({ length: 100 }, (_, k) => frameRecord(encodeEvent(1.7e9 + k, 100 + k, [{ tag: 'train/loss', simpleValue: k / 10 }])));
    records[50]![9] ^= 0x01; // record 50's stored header CRC, not its length
    const bytes = Buffer.concat(records);
    const reference = read(bytes, false, [bytes.length]);
    assert.equal(reference.warnings.length, 1);
    assert.equal(reference.calls.length, 99);
    for (const chunks of [[bytes.length], [13], [4096]]) assertSame(read(bytes, true, chunks), reference, `chunks ${chunks}`);
  });

  it('fills a SeriesStore (which takes runs of one tag at once) as the JavaScript reader does, resumes included', () => {
    const r = rng(44);
    const records: Buffer[] = [];
    let step = 0;
    for (let k = 0; k < 5000; k++) {
      const roll = r();
      step = roll < 0.002 ? Math.max(1, step - Math.floor(r() * 300)) : roll < 0.004 ? step : step + 1;
      const tag = r() < 0.03 ? 'eval/loss' : 'train/loss';
      records.push(frameRecord(encodeEvent(1.7e9 + k, step, [{ tag, simpleValue: r() }])));
    }
    const bytes = Buffer.concat(records);
    const fill = (kernel: boolean, chunk: number) => {
      const store = new SeriesStore();
      pushInChunks(new TfEventsParser('x', 0, { kernel, kernelFrom: 0 }), bytes, [chunk], store);
      return store;
    };
    const reference = fill(false, bytes.length);
    assert.ok(reference.resumes.length >= 5, `${reference.resumes.length} resumes`);
    for (const chunk of [bytes.length, 65536, 999]) {
      const store = fill(true, chunk);
      assert.deepEqual(store.resumes, reference.resumes, `chunk ${chunk}: resumes`);
      for (const [tag, want] of reference.series) assert.deepEqual(store.series.get(tag)!.toPoints(), want.toPoints(), `chunk ${chunk}: ${tag}`);
    }
  });

  it('serves readers in turn: each keeps its own tags', () => {
    const a = new TfEventsParser('a', 0, { kernelFrom: 0 });
    const b = new TfEventsParser('b', 0, { kernelFrom: 0 });
    const { sink: aSink, calls: aCalls } = recordingSink();
    const { sink: bSink, calls: bCalls } = recordingSink();
    for (let k = 1; k <= 200; k += 10) {
      a.push(Buffer.concat(Array.from({ length: 10 }, (_, j) => frameRecord(encodeEvent(1000 + k + j, k + j, [{ tag: 'train/loss', simpleValue: 0.5 }])))), aSink);
      b.push(Buffer.concat(Array.from({ length: 10 }, (_, j) => frameRecord(encodeEvent(2000 + k + j, k + j, [{ tag: 'eval/loss', simpleValue: 0.25 }])))), bSink);
    }
    assert.deepEqual(aCalls, Array.from({ length: 200 }, (_, j) => ['train/loss', j + 1, 0.5, 1001 + j]));
    assert.deepEqual(bCalls, Array.from({ length: 200 }, (_, j) => ['eval/loss', j + 1, 0.25, 2001 + j]));
  });
});

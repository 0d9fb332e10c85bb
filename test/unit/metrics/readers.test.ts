import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CsvMetricsParser } from '../../../src/core/metrics/csv';
import { runFoldersFromMarkers } from '../../../src/core/metrics/discover';
import { HfLogParser, parsePythonDict } from '../../../src/core/metrics/hfLog';
import { JsonlMetricsParser } from '../../../src/core/metrics/jsonl';
import { RunReader, readRuns, classifyFile } from '../../../src/core/metrics/run';
import { SeriesStore } from '../../../src/core/metrics/series';
import { TfEventsParser } from '../../../src/core/metrics/tfevents';
import { TrainerStateParser } from '../../../src/core/metrics/trainerState';
import type { StreamParser } from '../../../src/core/metrics/types';
import { encodeEvent, encodeHparams, frameRecord } from '../../helpers/tfeventsWriter';
import { realFixturesDir } from '../../harness/shared';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const real = realFixturesDir;
const single = path.join(real, 'hf-trainer-5.17');
const resumed = path.join(real, 'hf-trainer-5.17-resumed');
const eventFile = path.join(single, 'events.out.tfevents.1795425718.vm.723.0');

function parseAll(parser: StreamParser, bytes: Uint8Array, chunk = bytes.length) {
  const store = new SeriesStore();
  const warnings = [];
  for (let i = 0; i < bytes.length; i += chunk) warnings.push(...parser.push(bytes.subarray(i, i + chunk), store).warnings);
  warnings.push(...parser.end(store).warnings);
  return { store, warnings };
}

function points(store: SeriesStore, tag: string): [number, number][] {
  const s = store.series.get(tag);
  assert.ok(s, `no series ${tag}; have ${[...store.series.keys()].join(', ')}`);
  return s.toPoints().map((p) => [p.step, p.value]);
}

function stateSeries(file: string, tag: string): [number, number][] {
  const { store } = parseAll(new TrainerStateParser(file), readFileSync(file));
  return points(store, tag);
}

function tmpDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ftw-curves-'));
}

describe('TensorBoard event files (real file of hf-trainer-5.17)', () => {
  it('reads the same loss, eval loss and learning-rate series as trainer_state.json of the same run', () => {
    const { store, warnings } = parseAll(new TfEventsParser(eventFile), readFileSync(eventFile));
    assert.deepEqual(warnings, []);
    for (const tag of ['train/loss', 'eval/loss', 'train/learning_rate', 'train/grad_norm']) {
      const fromEvents = points(store, tag);
      // Event files store float32; trainer_state.json keeps the float64 the Trainer logged.
      const fromState = stateSeries(path.join(single, 'trainer_state.json'), tag).map(([s, v]) => [s, Math.fround(v)]);
      assert.deepEqual(fromEvents, fromState, tag);
    }
    assert.equal(points(store, 'train/loss').length, 60);
    assert.ok(Number.isFinite(store.series.get('train/loss')!.wallTimes[0]) && store.series.get('train/loss')!.wallTimes[0] > 1.7e9);
  });

  it('gives the same series whatever the chunking (incremental reads)', () => {
    const bytes = readFileSync(eventFile);
    const whole = parseAll(new TfEventsParser(eventFile), bytes).store;
    for (const chunk of [1, 7, 13, 100, 4096]) {
      const parts = parseAll(new TfEventsParser(eventFile), bytes, chunk);
      assert.deepEqual(parts.warnings, []);
      assert.deepEqual(points(parts.store, 'train/loss'), points(whole, 'train/loss'), `chunk ${chunk}`);
    }
  });

  it('keeps a partial last record pending without a warning, and reads it once complete', () => {
    const bytes = readFileSync(eventFile);
    const parser = new TfEventsParser(eventFile);
    const store = new SeriesStore();
    const cut = bytes.length - 20;
    assert.deepEqual(parser.push(bytes.subarray(0, cut), store).warnings, []);
    assert.ok(parser.pendingBytes > 0);
    const before = store.series.get('train/train_runtime')?.length ?? 0;
    assert.deepEqual(parser.push(bytes.subarray(cut), store).warnings, []);
    assert.equal(parser.pendingBytes, 0);
    assert.equal(parser.consumedOffset, bytes.length);
    assert.equal(before, 0);
  });

  it('skips a record with a bad data CRC with a warning naming the offset, and reads the rest', () => {
    const bytes = Buffer.from(readFileSync(eventFile));
    const clean = parseAll(new TfEventsParser(eventFile), bytes).store;
    // Find the record holding the loss at step 100 and flip one byte of its data.
    let pos = 0;
    let target = -1;
    while (pos < bytes.length) {
      const length = bytes.readUInt32LE(pos);
      const data = bytes.subarray(pos + 12, pos + 12 + length);
      if (data.includes(Buffer.from('train/loss')) && target < 0) {
        const p = new TfEventsParser('x');
        const s = new SeriesStore();
        p.push(bytes.subarray(pos, pos + 16 + length), s);
        if (s.series.get('train/loss')?.steps[0] === 100) target = pos;
      }
      pos += 16 + length;
    }
    assert.ok(target > 0);
    bytes[target + 12 + 3] ^= 0xff;
    const { store, warnings } = parseAll(new TfEventsParser('corrupt.tfevents'), bytes);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, new RegExp(`record at byte ${target} fails its CRC-32C check`));
    const loss = points(store, 'train/loss');
    assert.equal(loss.length, 59);
    assert.ok(!loss.some(([step]) => step === 100));
    assert.deepEqual(points(store, 'eval/loss'), points(clean, 'eval/loss'));
  });

  it('resynchronises after a corrupt length header', () => {
    const bytes = Buffer.from(readFileSync(eventFile));
    const firstLength = bytes.readUInt32LE(0);
    const second = 16 + firstLength;
    bytes[second + 1] ^= 0x40; // the length of the second record
    const { store, warnings } = parseAll(new TfEventsParser('corrupt.tfevents'), bytes);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /corrupt TFRecord header at byte \d+ .*skipping to the next valid record/);
    assert.ok(points(store, 'train/loss').length >= 59);
    assert.equal(points(store, 'eval/loss').length, 6);
  });

  it('checks the header CRC of every record, also of lengths seen before (the header CRC is reused per length)', () => {
    const bytes = Buffer.from(readFileSync(eventFile));
    const lengths: number[] = [];
    for (let pos = 0; pos < bytes.length; pos += 16 + bytes.readUInt32LE(pos)) lengths.push(bytes.readUInt32LE(pos));
    // The last record of the most common length: its header equals many before it.
    const common = [...new Set(lengths)].sort((a, b) => lengths.filter((l) => l === b).length - lengths.filter((l) => l === a).length)[0];
    let target = -1;
    for (let pos = 0; pos < bytes.length; pos += 16 + bytes.readUInt32LE(pos)) if (bytes.readUInt32LE(pos) === common) target = pos;
    assert.ok(lengths.filter((l) => l === common).length > 10 && target > 0);
    const clean = parseAll(new TfEventsParser(eventFile), bytes).store;
    bytes[target + 9] ^= 0x01; // its stored header CRC, not its length
    for (const chunk of [bytes.length, 1, 5, 12, 13, 97]) {
      const { store, warnings } = parseAll(new TfEventsParser('corrupt.tfevents'), bytes, chunk);
      assert.equal(warnings.length, 1, `chunk ${chunk}`);
      assert.match(warnings[0].message, new RegExp(`corrupt TFRecord header at byte ${target} `));
      const points = (s: SeriesStore) => [...s.series.values()].reduce((n, c) => n + c.length, 0);
      assert.equal(points(store), points(clean) - 1, `chunk ${chunk}: only that record is lost`);
    }
  });

  it('reports the same corrupt records whatever the chunking', () => {
    const bytes = Buffer.from(readFileSync(eventFile));
    // Corrupt the data of every 7th record and the length header of one.
    let index = 0;
    let lengthCorrupted = false;
    for (let pos = 0; pos < bytes.length; index++) {
      const length = bytes.readUInt32LE(pos);
      if (index % 7 === 3) bytes[pos + 12 + (length >> 1)] ^= 0x10;
      else if (index === 40 && !lengthCorrupted) {
        bytes[pos + 2] ^= 0x01;
        lengthCorrupted = true;
      }
      pos += 16 + length;
    }
    const whole = parseAll(new TfEventsParser('corrupt.tfevents'), bytes);
    assert.ok(whole.warnings.length > 5);
    for (const chunk of [1, 3, 12, 16, 50, 333, 4096]) {
      const parts = parseAll(new TfEventsParser('corrupt.tfevents'), bytes, chunk);
      assert.deepEqual(parts.warnings, whole.warnings, `chunk ${chunk}`);
      for (const tag of whole.store.series.keys()) assert.deepEqual(points(parts.store, tag), points(whole.store, tag), `${tag}, chunk ${chunk}`);
    }
  });

  it('keeps text summaries (args, model_config) as run metadata, and the train_runtime dict as the summary', () => {
    const out = new TfEventsParser(eventFile).push(readFileSync(eventFile), new SeriesStore());
    assert.ok(out.text?.args.includes('"logging_steps": 5'));
    assert.ok(out.text?.model_config);
    assert.ok(Math.abs(out.summary!.train_runtime - 12.99) < 0.01);
  });

  it('reads TB2 tensor summaries (float_val, tensor_content float/double/int, half) and hparams', () => {
    const f32 = new Uint8Array(new Float32Array([0.25]).buffer);
    const f64 = new Uint8Array(new Float64Array([1e-7]).buffer);
    const i64 = new Uint8Array(new BigInt64Array([42n]).buffer);
    const records = [
      encodeEvent(1700000000, 0, [], 'brain.Event:2'),
      encodeEvent(1700000001, 1, [{ tag: 'loss', plugin: 'scalars', tensor: { dtype: 1, floatVal: [1.5] } }]),
      encodeEvent(1700000002, 2, [{ tag: 'loss', tensor: { dtype: 1, content: f32 } }]),
      encodeEvent(1700000003, 2, [{ tag: 'lr', plugin: 'scalars', tensor: { dtype: 2, content: f64 } }]),
      encodeEvent(1700000004, 3, [{ tag: 'tokens', plugin: 'scalars', tensor: { dtype: 9, content: i64 } }]),
      encodeEvent(1700000005, 3, [{ tag: 'nan', plugin: 'scalars', tensor: { dtype: 1, floatVal: [NaN] } }]),
      encodeEvent(1700000006, 0, [{ tag: 'notes/text_summary', plugin: 'text', tensor: { dtype: 7, stringVal: ['hello run'] } }]),
      encodeEvent(1700000007, 0, [{ tag: '_hparams_/session_start_info', plugin: 'hparams', pluginContent: encodeHparams({ lr: 0.001, optim: 'adamw', bf16: true }) }]),
      encodeEvent(1700000008, 4, [{ tag: 'hist', plugin: 'histograms', tensor: { dtype: 2, doubleVal: [1, 2, 3] } }]),
    ];
    const bytes = Buffer.concat(records.map(frameRecord));
    const parser = new TfEventsParser('tb2.tfevents');
    const store = new SeriesStore();
    const out = parser.push(bytes, store);
    assert.deepEqual(out.warnings, []);
    assert.deepEqual(points(store, 'loss'), [[1, 1.5], [2, 0.25]]);
    assert.deepEqual(points(store, 'lr'), [[2, 1e-7]]);
    assert.deepEqual(points(store, 'tokens'), [[3, 42]]);
    assert.ok(Number.isNaN(points(store, 'nan')[0][1]));
    assert.equal(store.series.has('hist'), false);
    assert.deepEqual(out.text, { notes: 'hello run' });
    assert.deepEqual(out.hparams, { lr: 0.001, optim: 'adamw', bf16: true });
  });
});

describe('trainer_state.json', () => {
  it('reads log_history with steps, eval entries and the summary entry, and step hints', () => {
    const file = path.join(single, 'trainer_state.json');
    const parser = new TrainerStateParser(file);
    const { store } = parseAll(parser, readFileSync(file));
    assert.equal(points(store, 'train/loss').length, 60);
    assert.equal(points(store, 'eval/loss').length, 6);
    assert.equal(parser.info.loggingSteps, 5);
    assert.equal(parser.info.stepsPerEpoch, 250);
  });

  it('accepts the bare NaN/Infinity Python writes', () => {
    const text = '{"global_step": 2, "epoch": 1.0, "logging_steps": 1, "log_history": [{"loss": NaN, "step": 1}, {"loss": Infinity, "grad_norm": -Infinity, "step": 2}]}';
    const { store, warnings } = parseAll(new TrainerStateParser('t.json'), Buffer.from(text));
    assert.deepEqual(warnings, []);
    const loss = points(store, 'train/loss');
    assert.ok(Number.isNaN(loss[0][1]));
    assert.equal(loss[1][1], Infinity);
    assert.equal(points(store, 'train/grad_norm')[0][1], -Infinity);
  });

  it('warns (and plots nothing) on a half-written file', () => {
    const { store, warnings } = parseAll(new TrainerStateParser('t.json'), Buffer.from('{"log_history": [{"loss": 1, "st'));
    assert.equal(store.series.size, 0);
    assert.match(warnings[0].message, /not valid JSON/);
  });
});

describe('HF Trainer log lines', () => {
  it('parses transformers 5 string values and transformers 4 numbers with nan/inf', () => {
    assert.deepEqual(parsePythonDict("{'loss': '5.56', 'grad_norm': '0.1598', 'learning_rate': '0.0005333', 'epoch': '0.02'}"), {
      loss: 5.56,
      grad_norm: 0.1598,
      learning_rate: 0.0005333,
      epoch: 0.02,
    });
    const v4 = parsePythonDict("{'loss': 1.0778, 'grad_norm': nan, 'learning_rate': 2e-05, 'epoch': 0.01, 'x': inf}")!;
    assert.equal(v4.loss, 1.0778);
    assert.ok(Number.isNaN(v4.grad_norm));
    assert.equal(v4.x, Infinity);
  });

  it('places the real v5 stdout dicts on the steps of trainer_state.json (logging_steps 5, 250 steps/epoch)', () => {
    const file = path.join(single, 'torchrun-lora.stdout.txt');
    const parser = new HfLogParser(file, { loggingSteps: 5, stepsPerEpoch: 250 });
    const { store, out } = (() => {
      const s = new SeriesStore();
      const o = parser.push(readFileSync(file), s);
      parser.end(s);
      return { store: s, out: o };
    })();
    const fromLog = points(store, 'train/loss');
    const fromState = stateSeries(path.join(single, 'trainer_state.json'), 'train/loss');
    assert.deepEqual(fromLog.map(([s]) => s), fromState.map(([s]) => s));
    // transformers 5 prints 4 significant digits.
    for (let i = 0; i < fromLog.length; i++) assert.ok(Math.abs(fromLog[i][1] - fromState[i][1]) < 5e-3, `step ${fromLog[i][0]}`);
    assert.deepEqual(points(store, 'eval/loss').map(([s]) => s), [50, 100, 150, 200, 250, 300]);
    assert.equal(out.summary?.train_runtime, 12.99);
    assert.equal(store.series.has('train/train_runtime'), false);
  });

  it('infers steps from the order and logging_steps when nothing else is known', () => {
    const file = path.join(single, 'torchrun-lora.stdout.txt');
    const { store } = parseAll(new HfLogParser(file, { loggingSteps: 5 }), readFileSync(file));
    assert.deepEqual(points(store, 'train/loss').map(([s]) => s), Array.from({ length: 60 }, (_, i) => 5 * (i + 1)));
    assert.deepEqual(points(store, 'eval/loss').map(([s]) => s), [50, 100, 150, 200, 250, 300]);
  });

  it('splits tqdm carriage returns and takes the step from the training bar in a combined log', () => {
    const combined =
      '\r  0%|          | 0/300 [00:00<?, ?it/s]\r  3%|▎         | 8/300 [00:01<00:57,  5.09it/s]' +
      "{'loss': 1.0778, 'grad_norm': nan, 'learning_rate': 2e-05, 'epoch': 0.01}\n" +
      '\r  3%|▎         | 10/300 [00:01<00:56,  5.09it/s]\n\r 50%|█████     | 12/25 [00:00<00:00, 66.21it/s]\x1b[A' +
      '\r  6%|▋         | 19/300 [00:02<00:18, 14.97it/s]' +
      "{'loss': 0.9, 'grad_norm': 1.5, 'learning_rate': 1e-05, 'epoch': 0.02}\r\n";
    const { store } = parseAll(new HfLogParser('combined.log', { loggingSteps: 10 }), Buffer.from(combined), 17);
    const loss = points(store, 'train/loss');
    assert.deepEqual(loss, [[10, 1.0778], [20, 0.9]]);
    assert.ok(Number.isNaN(points(store, 'train/grad_norm')[0][1]));
  });

  it('reads every real stdout/stderr fixture: dicts only from stdout, tracebacks and tqdm bars give no series', () => {
    const files = [single, resumed].flatMap((dir) => readdirSync(dir).filter((n) => n.endsWith('.txt')).map((n) => path.join(dir, n)));
    assert.equal(files.length, 10);
    for (const file of files) {
      const { store, warnings } = parseAll(new HfLogParser(file, { loggingSteps: 5, stepsPerEpoch: 250 }), readFileSync(file), 1000);
      assert.deepEqual(warnings, []);
      const expected = /stdout/.test(file) ? ['eval/loss', 'eval/runtime', 'eval/samples_per_second', 'eval/steps_per_second', 'train/epoch', 'train/grad_norm', 'train/learning_rate', 'train/loss'] : [];
      assert.deepEqual([...store.series.keys()].sort(), expected, path.basename(file));
    }
  });

  it('marks the resume of the real resumed run and keeps the newest points per step', async () => {
    const dir = tmpDir();
    for (const name of ['first.stdout.txt', 'second.stdout.txt', 'trainer_state.json']) copyFileSync(path.join(resumed, name), path.join(dir, name));
    const [run] = await readRuns([dir]);
    const loss = run.series.find((s) => s.tag === 'train/loss')!;
    assert.equal(loss.kind, 'trainer_state'); // same last step; trainer_state.json is more precise than the log
    const reader = new RunReader(dir);
    await reader.refresh(true);
    // The log alone: remove trainer_state.json's series from the choice by reading logs with its hints only.
    const logs = new SeriesStore();
    const hints = { loggingSteps: 5, stepsPerEpoch: 250 };
    for (const name of ['first.stdout.txt', 'second.stdout.txt']) {
      const parser = new HfLogParser(name, hints);
      parser.push(readFileSync(path.join(resumed, name)), logs);
      parser.end(logs);
    }
    assert.equal(logs.resumes.length, 1);
    assert.equal(logs.resumes[0].step, 485);
    assert.equal(logs.resumes[0].replaced, 3);
    const fromState = stateSeries(path.join(resumed, 'trainer_state.json'), 'train/loss');
    const fromLog = points(logs, 'train/loss');
    assert.deepEqual(fromLog.map(([s]) => s), fromState.map(([s]) => s));
    for (let i = 0; i < fromLog.length; i++) assert.ok(Math.abs(fromLog[i][1] - fromState[i][1]) < 5e-3, `step ${fromLog[i][0]}`);
  });
});

describe('run folders', () => {
  it('reads the resumed run: two event folders, resume marked at 485, same loss series as the final trainer_state.json', async () => {
    const [run] = await readRuns([resumed]);
    const loss = run.series.find((s) => s.tag === 'train/loss')!;
    assert.equal(loss.kind, 'tfevents');
    assert.deepEqual(run.resumes.map((r) => r.step), [485]);
    const fromState = stateSeries(path.join(resumed, 'trainer_state.json'), 'train/loss');
    assert.deepEqual(Array.from(loss.steps), fromState.map(([s]) => s));
    assert.deepEqual(Array.from(loss.values), fromState.map(([, v]) => Math.fround(v)));
    assert.deepEqual(run.warnings, []);
  });

  it('reads the example run folder (runs/ subfolder, trainer_state.json, train.log)', async () => {
    const [run] = await readRuns([path.join(root, 'examples/minicpm-v-lora/output/lora_run')]);
    assert.deepEqual(run.files.map((f) => f.kind).sort(), ['log', 'tfevents', 'trainer_state']);
    assert.equal(run.series.find((s) => s.tag === 'train/loss')!.steps.length, 60);
    assert.equal(run.metadata.summary.train_runtime.toFixed(2), '12.99');
  });

  it('reads a growing event file incrementally and a replaced (shorter) file from the start', async () => {
    const dir = tmpDir();
    const bytes = readFileSync(eventFile);
    const target = path.join(dir, path.basename(eventFile));
    writeFileSync(target, bytes.subarray(0, 5000));
    const reader = new RunReader(dir);
    assert.equal(await reader.refresh(), true);
    const partial = reader.snapshot().series.find((s) => s.tag === 'train/loss')!.steps.length;
    assert.ok(partial > 0 && partial < 60);
    assert.equal(await reader.refresh(), false);
    appendFileSync(target, bytes.subarray(5000));
    assert.equal(await reader.refresh(), true);
    let snap = reader.snapshot();
    assert.equal(snap.series.find((s) => s.tag === 'train/loss')!.steps.length, 60);
    assert.deepEqual(snap.warnings, []);
    writeFileSync(target, bytes.subarray(0, 5000));
    await reader.refresh();
    snap = reader.snapshot();
    assert.equal(snap.series.find((s) => s.tag === 'train/loss')!.steps.length, partial);
    assert.deepEqual(snap.resumes, []);
  });

  it('classifies metric files and never takes a dataset .jsonl for metrics', () => {
    assert.equal(classifyFile('events.out.tfevents.1.host.1.0'), 'tfevents');
    assert.equal(classifyFile('trainer_log.jsonl'), 'jsonl');
    assert.equal(classifyFile('train.jsonl'), undefined);
    assert.equal(classifyFile('train.log'), 'log');
    assert.equal(classifyFile('slurm-1234.out'), 'log');
  });

  it('groups marker files into run folders (runs/<x>, checkpoint-N belong to the output dir)', () => {
    const folders = runFoldersFromMarkers([
      '/w/output/lora_run/trainer_state.json',
      '/w/output/lora_run/runs/Nov23_vm/events.out.tfevents.1',
      '/w/output/lora_run/checkpoint-100/trainer_state.json',
      '/w/output/other/checkpoint-5/trainer_state.json',
      '/w/lf/saves/qwen/trainer_log.jsonl',
    ]);
    assert.deepEqual(folders, ['/w/lf/saves/qwen', '/w/output/lora_run', '/w/output/other']);
  });

  it('prefers the freshest source per tag (a live log ahead of the last checkpoint)', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'trainer_state.json'), JSON.stringify({ global_step: 10, epoch: 0.1, logging_steps: 5, log_history: [{ loss: 2, step: 5, epoch: 0.05 }, { loss: 1.5, step: 10, epoch: 0.1 }] }));
    writeFileSync(path.join(dir, 'train.log'), "{'loss': '2', 'epoch': '0.05'}\n{'loss': '1.5', 'epoch': '0.1'}\n{'loss': '1.2', 'epoch': '0.15'}\n");
    const [run] = await readRuns([dir]);
    const loss = run.series.find((s) => s.tag === 'train/loss')!;
    assert.equal(loss.kind, 'log');
    assert.deepEqual(Array.from(loss.steps), [5, 10, 15]);
  });

  it('takes logging_steps from the launch script when there is no trainer_state.json', async () => {
    const dir = tmpDir();
    mkdirSync(path.join(dir, 'out'));
    writeFileSync(path.join(dir, 'finetune.sh'), 'torchrun train.py \\\n  --logging_steps 20 \\\n  --eval_steps 100\n');
    writeFileSync(path.join(dir, 'out', 'train.log'), "{'loss': 3.1, 'epoch': 0.1}\n{'loss': 2.9, 'epoch': 0.2}\n");
    const [run] = await readRuns([path.join(dir, 'out')]);
    assert.deepEqual(Array.from(run.series.find((s) => s.tag === 'train/loss')!.steps), [20, 40]);
  });
});

describe('JSONL and CSV metrics', () => {
  it("reads LLaMA-Factory's trainer_log.jsonl (current_steps, lr, nulls) and generic lines", () => {
    const text = [
      '{"current_steps": 10, "total_steps": 100, "loss": 1.234, "lr": 4.9e-05, "epoch": 0.1, "percentage": 10.0, "elapsed_time": "0:00:20", "remaining_time": "0:03:00"}',
      '{"current_steps": 20, "total_steps": 100, "loss": 1.1, "eval_loss": null, "lr": 4.5e-05, "epoch": 0.2, "percentage": 20.0}',
      '{"current_steps": 20, "total_steps": 100, "eval_loss": 1.3, "epoch": 0.2}',
      '{"step": 30, "loss": NaN, "_timestamp": 1700000000}',
      'not json',
      '{"step": 40, "loss": "0.9"',
    ].join('\n');
    const parser = new JsonlMetricsParser('trainer_log.jsonl');
    const store = new SeriesStore();
    const warnings = parser.push(Buffer.from(text), store).warnings;
    assert.deepEqual(points(store, 'train/loss').map(([s]) => s), [10, 20, 30]);
    assert.deepEqual(points(store, 'train/learning_rate'), [[10, 4.9e-5], [20, 4.5e-5]]);
    assert.deepEqual(points(store, 'eval/loss'), [[20, 1.3]]);
    assert.ok(Number.isNaN(points(store, 'train/loss')[2][1]));
    assert.equal(store.series.get('train/loss')!.wallTimes[2], 1700000000);
    assert.equal(store.series.has('train/percentage'), false);
    assert.match(warnings[0].message, /line 5 is not valid JSON/);
    // The unterminated last line waits; end() reads it as the final line.
    const endWarnings = parser.end(store).warnings;
    assert.match(endWarnings[0].message, /line 6/);
  });

  it('reads a TensorBoard CSV download and a W&B export', () => {
    const tb = 'Wall time,Step,Value\n1700000000.5,5,5.56\n1700000001.5,10,5.55\n';
    const a = parseAll(new CsvMetricsParser('run-lora_run-tag-train_loss.csv'), Buffer.from(tb), 9).store;
    assert.deepEqual(points(a, 'train_loss'), [[5, 5.56], [10, 5.55]]);
    assert.equal(a.series.get('train_loss')!.wallTimes[0], 1700000000.5);
    const wandb = '"Step","lora-run - train/loss","lora-run - train/loss__MIN","lora-run - train/loss__MAX"\n"5","5.56","5.5","5.6"\n"10","nan","",""\r\n';
    const b = parseAll(new CsvMetricsParser('wandb_export.csv'), Buffer.from(wandb)).store;
    assert.deepEqual([...b.series.keys()], ['train/loss']);
    assert.equal(points(b, 'train/loss')[0][1], 5.56);
    assert.ok(Number.isNaN(points(b, 'train/loss')[1][1]));
    const bad = parseAll(new CsvMetricsParser('x.csv'), Buffer.from('a,b\n1,2\n'));
    assert.match(bad.warnings[0].message, /no step column/);
  });
});

/**
 * How RunReader feeds parsers: one read buffer, reused for every read. A parser that keeps a view into it (for a
 * line or record cut by the read boundary) sees it overwritten; poison the buffer between reads to make that show.
 */
function parseThroughReusedBuffer(parser: StreamParser, bytes: Uint8Array, chunk: number) {
  const store = new SeriesStore();
  const buffer = Buffer.alloc(chunk);
  for (let i = 0; i < bytes.length; i += chunk) {
    const n = Math.min(chunk, bytes.length - i);
    buffer.set(bytes.subarray(i, i + n));
    parser.push(buffer.subarray(0, n), store);
    buffer.fill(0x7b); // '{': what the next read would leave there
  }
  parser.end(store);
  return store;
}

describe('readers fed through a reused read buffer', () => {
  const jsonl = Array.from({ length: 500 }, (_, i) => `{"step": ${i + 1}, "loss": ${(1 / (i + 1)).toFixed(6)}, "_timestamp": ${1700000000 + i}}\n`).join('');
  const cases: [string, () => StreamParser, () => Uint8Array][] = [
    ['JSONL', () => new JsonlMetricsParser('m.jsonl'), () => Buffer.from(jsonl)],
    ['JSONL (JSON.parse path)', () => new JsonlMetricsParser('m.jsonl', { scan: false }), () => Buffer.from(jsonl)],
    ['TensorBoard event file', () => new TfEventsParser(eventFile), () => readFileSync(eventFile)],
    ['HF Trainer log', () => new HfLogParser(path.join(single, 'torchrun-lora.stdout.txt')), () => readFileSync(path.join(single, 'torchrun-lora.stdout.txt'))],
    ['trainer_state.json', () => new TrainerStateParser(path.join(single, 'trainer_state.json')), () => readFileSync(path.join(single, 'trainer_state.json'))],
  ];
  for (const [name, make, read] of cases) {
    it(`${name}: same series as a whole-file read, for read sizes that cut lines and records`, () => {
      const bytes = read();
      const whole = parseAll(make(), bytes).store;
      for (const chunk of [7, 61, 1000, 4096]) {
        const reused = parseThroughReusedBuffer(make(), bytes, chunk);
        assert.deepEqual([...reused.series.keys()].sort(), [...whole.series.keys()].sort(), `tags, chunk ${chunk}`);
        for (const tag of whole.series.keys()) assert.deepEqual(points(reused, tag), points(whole, tag), `${tag}, chunk ${chunk}`);
      }
    });
  }
});

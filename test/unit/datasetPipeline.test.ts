// Differential test of the two-thread dataset lint (src/core/dataset/pipeline.ts, dist/workers/datasetPipeline.js):
// on generated datasets and malformed variants, with batches so small that samples, duplicate ids and the format
// detection window straddle them, it must give exactly what the one-thread lint gives.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { lintDatasetFile, type DatasetLintOptions, type DatasetLintResult } from '../../src/core/dataset/lint';
import { decodeFacts, defaultPipelineWorker, encodeFacts, lintDatasetFilePipelined, pipelineWorkerFor } from '../../src/core/dataset/pipeline';
import type { SampleFacts } from '../../src/core/dataset/rules';
import type { DatasetWorkerRequest, DatasetWorkerResponse } from '../../src/core/dataset/protocol';
import { repoRoot, sharedDir } from '../harness/shared';

const workerScript = path.join(repoRoot, 'dist', 'workers', 'datasetPipeline.js');
const generator = path.join(sharedDir, 'bench', 'gen-dataset.mjs');
const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-pipeline-'));

/** Text of a generated dataset (`gen-dataset.mjs`), with injected faults. */
function generate(args: string[]): string {
  const file = path.join(dir, `gen-${args.join('_').replace(/[^\w.]+/g, '')}.json`);
  const run = spawnSync(process.execPath, [generator, '--out', file, ...args]);
  assert.equal(run.status, 0, String(run.stderr));
  return readFileSync(file, 'latin1');
}

let files = 0;
function write(bytes: string | Buffer): string {
  const file = path.join(dir, `case-${files++}.json`);
  writeFileSync(file, typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  return file;
}

/** Lints `file` on one thread and on two with tiny batches (and a short queue); asserts the same result. */
async function sameBothWays(file: string, options: DatasetLintOptions = {}, batchBytes = 3000): Promise<DatasetLintResult> {
  const single = await lintDatasetFile(file, { ...options, pipeline: false });
  // Whether the reading thread shares the parsing of MiniCPM-V samples must not change anything either.
  for (const share of ['always', 'never'] as const) {
    const piped = await lintDatasetFilePipelined(file, workerScript, { ...options, pipeline: { batchBytes, maxBatchesInFlight: 2, share } });
    assert.deepEqual(piped, single, `${path.basename(file)} ${JSON.stringify(options)} batch ${batchBytes} share ${share}`);
  }
  return single;
}

const rulesOf = (result: DatasetLintResult) => new Set(result.findings.map((f) => f.rule));

describe('dataset lint on two threads gives the one-thread result', () => {
  let pretty: string;
  let compact: string;
  before(() => {
    pretty = generate(['--samples', '400', '--seed', '5', '--faults', '0.1', '--pretty']);
    compact = generate(['--samples', '400', '--seed', '6', '--faults', '0.1']);
    // Half of the images exist (one is not an image), so DS-IMG-FILE findings and the media memo take part.
    mkdirSync(path.join(dir, 'images'));
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);
    for (let n = 0; n < 400; n += 2) for (const s of ['', '_a', '_b']) writeFileSync(path.join(dir, 'images', `${n}${s}.jpg`), jpeg);
    writeFileSync(path.join(dir, 'images', '2.jpg'), 'not an image');
  });

  it('generated MiniCPM-V datasets (pretty and compact), batches smaller and larger than a sample', async () => {
    for (const text of [pretty, compact]) {
      const file = write(text);
      const result = await sameBothWays(file);
      // The comparison can fail: many rules fire, and ids repeat across batches.
      for (const rule of ['DS-IMG-FILE', 'DS-DUP-ID', 'DS-ROLE-VALUES', 'DS-SCHEMA', 'DS-FIRST-USER']) assert.ok(rulesOf(result).has(rule), `${rule} in ${[...rulesOf(result)]}`);
      await sameBothWays(file, {}, 200);
    }
  });

  it('options: hovers table, forced format, model length, model, no media checks', async () => {
    const file = write(pretty);
    const withTable = await sameBothWays(file, { collectSamples: true });
    assert.equal(withTable.sampleTable!.ranges.length, 6 * 400);
    await sameBothWays(file, { format: 'qwenvl' });
    await sameBothWays(file, { modelMaxLength: 40 });
    assert.ok(rulesOf(await sameBothWays(file, { model: 'openbmb/MiniCPM-Llama3-V-2_5' })).has('DS-MULTI-MODEL'));
    await sameBothWays(file, { checkMediaFiles: false, baseDir: os.tmpdir() });
  });

  it('other formats and JSON Lines (LF and CRLF)', async () => {
    for (const args of [['--format', 'llava', '--pretty'], ['--format', 'messages', '--jsonl'], ['--jsonl']]) {
      const text = generate(['--samples', '300', '--seed', '5', '--faults', '0.1', ...args]);
      assert.ok((await sameBothWays(write(text))).findings.length > 0);
      await sameBothWays(write(text.replace(/\n/g, '\r\n')), {}, 700);
    }
  });

  it('a BOM, CRLF, invalid UTF-8 and non-ASCII text', async () => {
    const crlf = pretty.replace(/\n/g, '\r\n');
    // Invalid bytes inside strings and between samples shift columns: positions after them must agree.
    const invalid = pretty.replace(/"images\/1(\d)\.jpg"/g, '"images/\xff\xfe1$1.jpg"').replace('},\n{', '},\xc3\n{');
    for (const text of [`\xef\xbb\xbf${pretty}`, `\xef\xbb\xbf${crlf}`, invalid]) {
      const result = await sameBothWays(write(text));
      assert.ok(result.findings.length > 0);
      await sameBothWays(write(text), { collectSamples: true }, 500);
    }
  });

  it('truncated files, broken structure, pseudo-JSON, garbage and empty files', async () => {
    const brokenStructure = pretty.replace('},\n{', '}\n{').replace('},\n{', '},,\n{').replace(/\n\]\n$/, ',\n]\n');
    const pseudo = pretty.replace('"id": "40"', "'id': '40'").replace('"id": "41",', '"id": "41",,');
    for (const text of [pretty.slice(0, -40), pretty.slice(0, pretty.length / 2), brokenStructure, pseudo, `${pretty}garbage`, '', '\x00\x01binary', '[\n  {"id": "a"']) {
      await sameBothWays(write(text), {}, 1000);
    }
  });

  it('oversized samples (over maxSampleBytes) are reported, not checked, on both paths', async () => {
    const file = write(pretty);
    const result = await sameBothWays(file, { maxSampleBytes: 1500 }, 700);
    assert.ok(result.findings.some((f) => /larger than/.test(f.message)));
  });

  it('duplicate ids in far-apart batches point at the first sample', async () => {
    const samples = Array.from({ length: 400 }, (_, i) => ({ id: i % 150 === 0 ? 'same' : String(i), image: 'x.png', conversations: [{ role: 'user', content: '<image>\nq' }, { role: 'assistant', content: 'a' }] }));
    const result = await sameBothWays(write(JSON.stringify(samples, null, 2)), { checkMediaFiles: false }, 500);
    assert.deepEqual(
      result.findings.filter((f) => f.rule === 'DS-DUP-ID').map((f) => f.sample),
      [150, 300],
    );
  });

  it('reports progress up to the file size and stops on cancellation', async () => {
    const file = write(pretty);
    const seen: number[] = [];
    await lintDatasetFilePipelined(file, workerScript, { pipeline: { batchBytes: 4096 }, onProgress: (read, total) => seen.push(read, total) });
    assert.equal(seen.at(-2), Buffer.byteLength(pretty, 'latin1'));
    assert.equal(seen.at(-1), Buffer.byteLength(pretty, 'latin1'));
    const controller = new AbortController();
    const cancelled = lintDatasetFilePipelined(file, workerScript, {
      signal: controller.signal,
      pipeline: { batchBytes: 2048, maxBatchesInFlight: 1 },
      onProgress: () => controller.abort(new Error('stop')),
    });
    await assert.rejects(cancelled, /stop/);
  });

  it('a failing worker rejects instead of hanging; a missing file fails as on one thread', async () => {
    const broken = path.join(dir, 'broken-worker.js');
    writeFileSync(broken, "throw new Error('worker failed to load');\n");
    await assert.rejects(lintDatasetFilePipelined(write(pretty), broken, { pipeline: { batchBytes: 1024, maxBatchesInFlight: 1 } }), /worker failed to load/);
    await assert.rejects(lintDatasetFilePipelined(path.join(dir, 'missing.json'), workerScript), { code: 'ENOENT' });
  });

  it('sample facts cross threads unchanged (ids and paths with any characters)', () => {
    const facts: (SampleFacts | undefined)[] = [
      { id: 'a\u0000b\xff', images: 1, turns: 2, media: [{ path: ['image'], file: 'x/\xe5\x9b\xbe.jpg', kind: 'image' }] },
      undefined,
      { id: undefined, images: 2, turns: 4, media: [{ path: ['image', '<image_00>'], file: '', kind: 'image' }, { path: ['image', '<image_01>'], file: 'v.mp4', kind: 'video' }] },
      { id: '', images: 0, turns: 2, media: [] },
      undefined,
    ];
    assert.deepEqual(decodeFacts(encodeFacts(facts), facts.length), facts);
  });

  it('takes the two-thread path only for large files and finds the worker beside the bundles', () => {
    const small = write('[]');
    assert.equal(pipelineWorkerFor(small, { workerScript }), undefined);
    assert.equal(pipelineWorkerFor(small, { workerScript, minBytes: 0 }), workerScript);
    assert.equal(pipelineWorkerFor(small, false), undefined);
    assert.equal(pipelineWorkerFor(path.join(dir, 'missing.json'), { workerScript, minBytes: 0 }), undefined);
    // dist/cli.js and dist/extension.js run from dist/, dist/workers/datasetLint.js from dist/workers/.
    assert.equal(defaultPipelineWorker(path.join(repoRoot, 'dist')), workerScript);
    assert.equal(defaultPipelineWorker(path.join(repoRoot, 'dist', 'workers')), workerScript);
    assert.equal(defaultPipelineWorker(path.join(repoRoot, 'out')), undefined);
  });
});

describe('Lint from Disk: the dataset-lint worker starts the pipeline worker itself (nested worker)', () => {
  let worker: Worker;
  before(() => {
    worker = new Worker(path.join(repoRoot, 'dist', 'workers', 'datasetLint.js'));
  });
  after(() => worker.terminate());

  it('gets the one-thread result', async () => {
    const file = write(generate(['--samples', '300', '--seed', '6', '--faults', '0.1', '--pretty']));
    const request: DatasetWorkerRequest = { type: 'lintFile', id: 1, filePath: file, options: { checkMediaFiles: false, pipeline: { minBytes: 0, batchBytes: 2048 } } };
    let progress = 0;
    const answer = await new Promise<DatasetWorkerResponse>((resolve) => {
      worker.on('message', (message: DatasetWorkerResponse) => {
        if (message.type === 'progress') progress++;
        else resolve(message);
      });
      worker.postMessage(request);
    });
    assert.equal(answer.type, 'result', JSON.stringify(answer));
    const single = await lintDatasetFile(file, { checkMediaFiles: false, pipeline: false });
    assert.ok(single.findings.length > 0);
    assert.deepEqual((answer as Extract<DatasetWorkerResponse, { type: 'result' }>).result, single);
    assert.ok(progress >= 1);
  });
});

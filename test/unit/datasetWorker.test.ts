// The dataset-lint worker thread (dist/workers/datasetLint.js) through its message protocol: the lint made when a
// tab opens, and the document mirror that reuses its text and result.
import assert from 'node:assert/strict';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { DatasetLintResult } from '../../src/core/dataset/lint';
import type { DatasetWorkerRequest, DatasetWorkerResponse } from '../../src/core/dataset/protocol';
import { repoRoot } from '../harness/shared';
import { lintDatasetText } from '../../src/core/dataset/lint';

const sample = (role: string, id: number) => ({ id: String(id), image: 'a.png', conversations: [{ role, content: '<image>\nq' }, { role: 'assistant', content: 'a' }] });
const datasetText = (roles: string[]) => `${JSON.stringify(roles.map(sample), null, 2)}\n`;
const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length - 1;
const rules = (result: DatasetLintResult | undefined) => result?.findings.map((f) => `${f.rule}@${f.range.start.line}`).sort();

describe('dataset lint worker: lint on tab open and document mirrors', () => {
  let worker: Worker;
  let nextId = 1;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-worker-'));

  before(() => {
    worker = new Worker(path.join(repoRoot, 'dist', 'workers', 'datasetLint.js'));
  });
  after(() => worker.terminate());

  function ask(request: (id: number) => DatasetWorkerRequest): Promise<DatasetWorkerResponse> {
    const id = nextId++;
    return new Promise((resolve) => {
      const listener = (message: DatasetWorkerResponse) => {
        if (message.id !== id || message.type === 'progress') return;
        worker.off('message', listener);
        resolve(message);
      };
      worker.on('message', listener);
      worker.postMessage(request(id));
    });
  }
  const tell = (request: DatasetWorkerRequest) => worker.postMessage(request);
  const options = { checkMediaFiles: false };

  async function lintSaved(filePath: string, maxBytes = 1e9) {
    const answer = await ask((id) => ({ type: 'lintSaved', id, filePath, maxBytes, options }));
    assert.equal(answer.type, 'savedResult', JSON.stringify(answer));
    return answer as Extract<DatasetWorkerResponse, { type: 'savedResult' }>;
  }
  async function mirrorLint(key: string, version: number) {
    const answer = await ask((id) => ({ type: 'mirrorLint', id, key, version, options }));
    assert.equal(answer.type, 'result', JSON.stringify(answer));
    return (answer as Extract<DatasetWorkerResponse, { type: 'result' }>).result;
  }

  it('warms up without answering, and lints the same afterwards', async () => {
    const answers: DatasetWorkerResponse[] = [];
    const listener = (message: DatasetWorkerResponse) => answers.push(message);
    worker.on('message', listener);
    tell({ type: 'warmUp' });
    const file = path.join(dir, 'after-warm-up.json');
    const text = datasetText(['user', 'gpt']);
    writeFileSync(file, text);
    const { result } = await lintSaved(file);
    worker.off('message', listener);
    assert.equal(answers.length, 1, 'only the lint answers');
    assert.deepEqual(result, lintDatasetText(text, { ...options, filePath: undefined }));
    assert.deepEqual(rules(result), ['DS-ALTERNATION@24', 'DS-FIRST-USER@20', 'DS-ROLE-VALUES@20']);
  });

  it('lints a saved dataset as the editor shows it (no BOM), and its mirror takes the kept text', async () => {
    const file = path.join(dir, 'bom.json');
    const text = datasetText(['user', 'human']);
    writeFileSync(file, `\uFEFF${text}`);
    const { result } = await lintSaved(file);
    assert.deepEqual(result, lintDatasetText(text, { ...options, filePath: undefined }));
    assert.deepEqual(rules(result), [`DS-ROLE-VALUES@${lineOf(text, '"human"')}`]);
    const key = `file://${file}`;
    tell({ type: 'mirrorLoad', key, version: 1, filePath: file, expectedLength: text.length });
    assert.deepEqual(await mirrorLint(key, 1), result);
    tell({ type: 'mirrorClose', key });
  });

  it('lints invalid UTF-8 as the editor decodes it (U+FFFD), the same as the text path', async () => {
    const file = path.join(dir, 'invalid.json');
    const bytes = Buffer.from(datasetText(['user', 'gpt']).replace('"a"', '"a\u00ff"'), 'utf8');
    const at = bytes.indexOf(0xc3);
    assert.ok(at > 0);
    bytes[at] = 0xff; // no longer UTF-8
    assert.ok(bytes.toString('utf8').includes('\ufffd'));
    writeFileSync(file, bytes);
    const { result } = await lintSaved(file);
    assert.deepEqual(result, lintDatasetText(bytes.toString('utf8'), options));
  });

  it('skips files that are not datasets and files over the size limit', async () => {
    const config = path.join(dir, 'ds_config.json');
    writeFileSync(config, '{"zero_optimization": {"stage": 2}}\n');
    assert.equal((await lintSaved(config)).result, undefined);
    const big = path.join(dir, 'big.json');
    writeFileSync(big, datasetText(['user', 'user']));
    assert.equal((await lintSaved(big, 10)).result, undefined);
    assert.ok((await lintSaved(big, 1e6)).result);
  });

  it('a mirror loaded after the tab-open lint gets the same findings, and edits to it are linted afresh', async () => {
    const file = path.join(dir, 'train.json');
    const text = datasetText(['human', 'user', 'user']);
    writeFileSync(file, text);
    const early = await lintSaved(file);
    const key = `file://${file}`;
    tell({ type: 'mirrorLoad', key, version: 1, filePath: file, expectedLength: text.length });
    const first = await mirrorLint(key, 1);
    assert.deepEqual(rules(first), rules(early.result));
    assert.equal(first.samples, 3);
    // "human" → "user" in the first sample: its finding goes, nothing else changes.
    const at = text.indexOf('"human"');
    tell({ type: 'mirrorChange', key, version: 2, changes: [{ offset: at, length: 7, text: '"user"' }] });
    assert.deepEqual(rules(await mirrorLint(key, 2)), []);
    tell({ type: 'mirrorClose', key });
  });

  it('an edit that arrives while the mirror is being linted aborts that lint; the lint of the edit answers', async () => {
    const file = path.join(dir, 'large.json');
    const roles = Array.from({ length: 12_000 }, (_, i) => (i === 5 ? 'gpt' : 'user'));
    const text = datasetText(roles); // over a 1 MB slice: the lint yields to the message queue at least once
    assert.ok(text.length > 2 * 1024 * 1024);
    writeFileSync(file, text);
    const key = `file://${file}`;
    tell({ type: 'mirrorLoad', key, version: 1, filePath: file, expectedLength: text.length });
    const first = ask((id) => ({ type: 'mirrorLint', id, key, version: 1, options }));
    const at = text.indexOf('"gpt"');
    tell({ type: 'mirrorChange', key, version: 2, changes: [{ offset: at, length: 5, text: '"user"' }] });
    const aborted = await first;
    assert.equal(aborted.type, 'error');
    assert.equal((aborted as Extract<DatasetWorkerResponse, { type: 'error' }>).cancelled, true);
    assert.deepEqual(rules(await mirrorLint(key, 2)), []);
    tell({ type: 'mirrorClose', key });
  });

  it('a file changed on disk after the tab-open lint is read again, not taken from the kept copy', async () => {
    const file = path.join(dir, 'changed.json');
    writeFileSync(file, datasetText(['user', 'user']));
    await lintSaved(file);
    const changed = datasetText(['gpt', 'user']);
    writeFileSync(file, changed);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const key = `file://${file}`;
    tell({ type: 'mirrorLoad', key, version: 1, filePath: file, expectedLength: changed.length });
    const found = rules(await mirrorLint(key, 1));
    assert.ok(found?.includes(`DS-ROLE-VALUES@${lineOf(changed, '"gpt"')}`), String(found));
    tell({ type: 'mirrorClose', key });
  });
});

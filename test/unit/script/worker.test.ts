import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { AnalyzeResponse, EstimateResponse, HoverResponse, WorkerReply } from '../../../src/core/script/protocol';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const example = path.join(root, 'examples', 'minicpm-v-lora', 'finetune_lora.sh');
const gpu = { name: 'NVIDIA A100-SXM4-80GB', memoryGiB: 80, computeCapability: '8.0', count: 8 };

describe('script-lint worker thread (dist/workers/scriptLint.js)', () => {
  it('analyses in the worker and answers hovers and estimates for that version; refuses stale versions', async () => {
    const worker = new Worker(path.join(root, 'dist', 'workers', 'scriptLint.js'));
    let next = 1;
    const ask = (request: object) =>
      new Promise<WorkerReply>((resolve) => {
        const id = next++;
        const onMessage = (reply: WorkerReply) => {
          if (reply.id !== id) return;
          worker.off('message', onMessage);
          resolve(reply);
        };
        worker.on('message', onMessage);
        worker.postMessage({ id, request });
      });
    try {
      const uri = 'file:///example/finetune_lora.sh';
      const analyzed = await ask({ op: 'analyze', uri, version: 3, kind: 'script', fileName: example, text: readFileSync(example, 'utf8'), gpu, gpuSource: 'test', openFiles: {} });
      assert.ok(analyzed.ok);
      const response = analyzed.response as AnalyzeResponse;
      assert.ok(response.findings.some((f) => f.rule === 'SCRIPT-LLMTYPE' && f.fixes?.length));
      assert.equal(response.lenses.length, 1);
      assert.equal(response.lenses[0].fits, true);
      assert.deepEqual(response.deepSpeedConfigs, [path.join(path.dirname(example), 'ds_config_zero2.json')]);
      const hover = await ask({ op: 'hover', uri, version: 3, position: { line: 42, character: 7 } });
      assert.ok(hover.ok);
      assert.match((hover.response as HoverResponse).hover!.markdown, /--use_lora/);
      const estimate = await ask({ op: 'estimate', uri, version: 3, launchIndex: 0 });
      assert.ok(estimate.ok && (estimate.response as EstimateResponse).peakBytesPerGpu! > 0);
      const stale = await ask({ op: 'hover', uri, version: 4, position: { line: 42, character: 7 } });
      assert.equal(stale.ok, false);
      assert.equal(!stale.ok && stale.stale, true);
      const ds = await ask({ op: 'analyze', uri: 'file:///x/ds_config.json', version: 1, kind: 'deepspeed', fileName: '/x/ds_config.json', text: '{"zero_optimisation": {}}', gpu, gpuSource: 'test', openFiles: {} });
      assert.ok(ds.ok);
      assert.deepEqual((ds.response as AnalyzeResponse).findings.map((f) => f.rule), ['DSCFG-UNKNOWN-KEY']);
    } finally {
      await worker.terminate();
    }
  });
});

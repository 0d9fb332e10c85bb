// UI test of the Training Curves panel in the real workbench (code-server + headless Chromium): a person opens the
// Runs view, clicks the example run, and toggles smoothing and log scale; each step must leave the loss chart with
// drawn pixels, and each toggle must change them. Screenshots land in test-results/.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { freePort, projectRoot } from '../harness/codeServer';
import { startProduct } from '../harness/product';
import { openWorkbench } from '../harness/workbench';

/** The frame of the curves webview (VS Code nests each webview in two iframes). */
async function curvesFrame(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (await frame.$('#charts').catch(() => null)) return frame;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the Training Curves webview did not appear');
}

interface CanvasStats {
  drawn: number;
  hash: number;
}

/** Share of non-transparent pixels of a chart's canvas, and a hash of its pixels (to see that a toggle redrew it). */
async function canvasStats(frame: Frame, group: string): Promise<CanvasStats> {
  return frame.evaluate(`(() => {
    const canvas = document.querySelector('.chart-card[data-group="${group}"] canvas');
    if (!canvas || !canvas.width) return { drawn: 0, hash: 0 };
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let drawn = 0;
    let hash = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 0) drawn++;
      hash = (hash * 31 + data[i] + data[i + 1] * 7 + data[i + 2] * 13 + data[i + 3] * 17) >>> 0;
    }
    return { drawn: drawn / (canvas.width * canvas.height), hash };
  })()`);
}

async function waitForDrawn(frame: Frame, group: string, previousHash?: number): Promise<CanvasStats> {
  const deadline = Date.now() + 30_000;
  let stats: CanvasStats = { drawn: 0, hash: 0 };
  while (Date.now() < deadline) {
    stats = await canvasStats(frame, group);
    if (stats.drawn > 0.01 && stats.hash !== previousHash) return stats;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`chart ${group} was not (re)drawn: ${JSON.stringify(stats)}`);
}

test('Training Curves of the example run in code-server', { timeout: 300_000 }, async (t) => {
  const workspace = path.join(mkdtempSync(path.join(os.tmpdir(), 'ftw-ui-curves-ws-')), 'minicpm-v-lora');
  cpSync(path.join(projectRoot, 'examples', 'minicpm-v-lora'), workspace, { recursive: true });
  const product = await startProduct(await freePort(), workspace);
  t.after(() => product.stop());
  const workbench = await openWorkbench(product.url);
  t.after(() => workbench.close());
  const { page } = workbench;
  let frame: Frame;
  let stats: CanvasStats;

  await t.test('the Runs view lists output/lora_run and a click opens its curves', async () => {
    const item = page.locator('.activitybar .action-item a[aria-label^="Fine-tune"]');
    await item.waitFor({ state: 'visible', timeout: 60_000 });
    await item.click();
    const run = page.locator('.part.sidebar .monaco-list-row', { hasText: 'lora_run' }).first();
    await run.waitFor({ state: 'visible', timeout: 60_000 });
    await workbench.screenshot('curves-runs-view');
    await run.locator('.label-name, .monaco-highlighted-label').first().click();
    frame = await curvesFrame(page);
    stats = await waitForDrawn(frame, 'loss');
    const groups = await frame.$$eval('.chart-card', (cards) => cards.map((c) => c.getAttribute('data-group')));
    assert.deepEqual(groups.slice(0, 3), ['loss', 'learning_rate', 'grad_norm']);
    await workbench.screenshot('curves-opened');
  });

  await t.test('turning smoothing off redraws the loss chart', async () => {
    await frame.fill('#smoothing', '0');
    assert.equal((await frame.textContent('#smoothing-value'))?.trim(), '0.00');
    stats = await waitForDrawn(frame, 'loss', stats.hash);
    await workbench.screenshot('curves-smoothing-off');
  });

  await t.test('log scale redraws the loss chart with data still drawn', async () => {
    await frame.click('#log-scale');
    stats = await waitForDrawn(frame, 'loss', stats.hash);
    assert.ok(stats.drawn > 0.01);
    await workbench.screenshot('curves-log-scale');
  });

  await t.test('a line appended to the run\'s log is drawn without any click (live)', async () => {
    const before = await canvasStats(frame, 'loss');
    const appendedAt = Date.now();
    appendFileSync(path.join(workspace, 'output', 'lora_run', 'train.log'), "{'loss': '5.9', 'grad_norm': '0.2', 'learning_rate': '1e-05', 'epoch': '1.22'}\n");
    stats = await waitForDrawn(frame, 'loss', before.hash);
    t.diagnostic(`append → redrawn in ${Date.now() - appendedAt} ms (file watcher, worker read, webview redraw)`);
    const live = await frame.textContent('#runs');
    assert.match(live ?? '', /live/);
    await workbench.screenshot('curves-live-append');
  });
});

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readRuns } from '../../src/core/metrics/run';
import { projectRoot } from '../harness/codeServer';
import { openWebviewPage, type WebviewPage } from '../harness/webviewPage';

/** The page's globals as these tests use them (this file is type-checked without the DOM library). */
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
interface PageGlobals {
  document: { querySelector(selector: string): Canvas | null };
  postMessage(message: unknown, target: string): void;
  __posted: { type: string; dataUrl?: string }[];
  __state: { smoothing: number; logScale: boolean; runs: string[] };
}

interface CardsGlobals {
  document: { querySelectorAll(selector: string): { length: number } };
}

/** Fraction of pixels of a chart canvas that differ from the most common (background) colour. */
async function drawnFraction(view: WebviewPage, group: string): Promise<number> {
  return view.page.evaluate((g) => {
    const canvas = (globalThis as unknown as PageGlobals).document.querySelector(`.chart-card[data-group="${g}"] canvas`);
    if (!canvas || canvas.width === 0) return 0;
    const ctx = canvas.getContext('2d')!;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let drawn = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
    return drawn / (canvas.width * canvas.height);
  }, group);
}

describe('curves webview (headless Chromium, strict CSP)', () => {
  let view: WebviewPage;
  before(async () => {
    view = await openWebviewPage('curves', { bodyData: { 'default-smoothing': '0.6' } });
  });
  after(async () => view?.close());

  it('draws the example run: one chart per metric group, train and eval loss overlaid, no CSP violation', async () => {
    const [run] = await readRuns([path.join(projectRoot, 'examples/minicpm-v-lora/output/lora_run')]);
    const series = run.series.map((s) => ({ tag: s.tag, start: 0, steps: Array.from(s.steps), values: Array.from(s.values), wallTimes: Array.from(s.wallTimes) }));
    await view.page.evaluate(
      ({ series, id }) => {
        (globalThis as unknown as PageGlobals).postMessage({ type: 'runData', run: { id, name: 'lora_run', description: 'output', resumes: [], summary: {}, warnings: [], live: false }, series, seenAt: 1 }, '*');
      },
      { series, id: run.folder },
    );
    await view.page.waitForFunction(() => (globalThis as unknown as PageGlobals).__posted.some((m) => m.type === 'drawn'));
    const groups = await view.page.$$eval('.chart-card', (cards) => cards.map((c) => c.getAttribute('data-group')));
    assert.deepEqual(groups.slice(0, 3), ['loss', 'learning_rate', 'grad_norm']);
    assert.ok((await drawnFraction(view, 'loss')) > 0.01);
    mkdirSync(path.join(projectRoot, 'test-results'), { recursive: true });
    await view.page.screenshot({ path: path.join(projectRoot, 'test-results', 'curves-webview.png') });
    assert.deepEqual(view.errors, []);
  });

  it('keeps smoothing, log scale and axis in the webview state', async () => {
    await view.page.fill('#smoothing', '0.9');
    await view.page.click('#log-scale');
    const state = await view.page.evaluate(() => (globalThis as unknown as PageGlobals).__state);
    assert.equal(state.smoothing, 0.9);
    assert.equal(state.logScale, true);
    assert.equal(state.runs.length, 1);
    assert.ok((await drawnFraction(view, 'loss')) > 0.01);
    assert.deepEqual(view.errors, []);
  });

  it('draws against epoch and relative time, and filters tags by regex', async () => {
    for (const mode of ['epoch', 'relative', 'step']) {
      await view.page.evaluate(`(() => { const s = document.querySelector('#x-axis'); s.value = '${mode}'; s.dispatchEvent(new Event('change')); })()`);
      await view.page.waitForTimeout(100);
      assert.ok((await drawnFraction(view, 'loss')) > 0.01, mode);
    }
    await view.page.evaluate(`(() => { const el = document.querySelector('#tag-filter'); el.value = '^eval/'; el.dispatchEvent(new Event('input')); })()`);
    await view.page.waitForFunction(() => (globalThis as unknown as CardsGlobals).document.querySelectorAll('.chart-card').length === 4);
    const groups = await view.page.$$eval('.chart-card', (cards) => cards.map((c) => c.getAttribute('data-group')));
    assert.deepEqual(groups, ['loss', 'runtime', 'samples_per_second', 'steps_per_second']);
    await view.page.evaluate(`(() => { const el = document.querySelector('#tag-filter'); el.value = ''; el.dispatchEvent(new Event('input')); })()`);
    await view.page.waitForFunction(() => (globalThis as unknown as CardsGlobals).document.querySelectorAll('.chart-card').length === 7);
    assert.deepEqual(view.errors, []);
  });

  it('compares runs with stable colours and shows the resume of a resumed run', async () => {
    const [resumed] = await readRuns(['/work/shared/fixtures/real/hf-trainer-5.17-resumed']);
    const post = (id: string, name: string, resumes: number[]) =>
      view.page.evaluate(
        ({ id, name, resumes, series }) =>
          (globalThis as unknown as PageGlobals).postMessage({ type: 'runData', run: { id, name, description: '', resumes, summary: {}, warnings: [], live: false }, series }, '*'),
        { id, name, resumes, series: resumed.series.map((s) => ({ tag: s.tag, start: 0, steps: Array.from(s.steps), values: Array.from(s.values), wallTimes: Array.from(s.wallTimes) })) },
      );
    await post('/runs/resumed', 'resumed', resumed.resumes.map((r) => r.step));
    await view.page.waitForFunction(() => (globalThis as unknown as PageGlobals).__state.runs.length === 2);
    await view.page.getByText('resumed from a checkpoint at step 485').waitFor();
    const colors = await view.page.evaluate(() => (globalThis as unknown as { __state: { colors: Record<string, number> } }).__state.colors);
    assert.equal(new Set(Object.values(colors)).size, 2);
    // Removing the first run (the host answers runRemoved) leaves the second run its colour.
    const first = Object.keys(colors).find((id) => id !== '/runs/resumed')!;
    await view.page.evaluate((id) => (globalThis as unknown as PageGlobals).postMessage({ type: 'runRemoved', id }, '*'), first);
    await post('/runs/third', 'third', []);
    await view.page.waitForFunction(() => (globalThis as unknown as PageGlobals).__state.runs.length === 2);
    const after = await view.page.evaluate(() => (globalThis as unknown as { __state: { colors: Record<string, number> } }).__state.colors);
    assert.equal(after['/runs/resumed'], colors['/runs/resumed']);
    assert.notEqual(after['/runs/third'], after['/runs/resumed']);
    assert.ok((await drawnFraction(view, 'loss')) > 0.01);
    // After the axis switches above, the chart still spans the new runs' steps (a reset is not a zoom).
    assert.equal(await view.page.getAttribute('.chart-card[data-group="loss"]', 'data-x-max'), '1200');
    await view.page.screenshot({ path: path.join(projectRoot, 'test-results', 'curves-webview-compare.png') });
    assert.deepEqual(view.errors, []);
  });

  it('zooms the x axis by dragging, re-downsamples the range, and resets', async () => {
    const canvas = view.page.locator('.chart-card[data-group="loss"] canvas');
    const box = (await canvas.boundingBox())!;
    await view.page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
    await view.page.mouse.down();
    await view.page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 5 });
    await view.page.mouse.up();
    await view.page.waitForFunction(() => {
      const card = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } } }).document.querySelector('.chart-card[data-group="loss"]');
      return Number(card.getAttribute('data-x-max')) < 1000;
    });
    const zoomedMin = Number(await view.page.getAttribute('.chart-card[data-group="loss"]', 'data-x-min'));
    assert.ok(zoomedMin > 100, `zoomed from ${zoomedMin}`);
    assert.ok((await drawnFraction(view, 'loss')) > 0.01);
    await view.page.click('#reset-zoom');
    assert.equal(await view.page.getAttribute('.chart-card[data-group="loss"]', 'data-x-max'), '1200');
  });

  it('exports all charts as one PNG', async () => {
    await view.page.click('#export-png');
    const message = await view.page.evaluate(() => (globalThis as unknown as PageGlobals).__posted.find((m) => m.type === 'exportPng'));
    assert.ok(message?.dataUrl?.startsWith('data:image/png;base64,'));
    assert.ok(message!.dataUrl!.length > 5000);
  });
});

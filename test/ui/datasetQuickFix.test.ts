// UI test: a person opens the example dataset, sees the squiggles, clicks the light bulb on an LLaVA-style role and
// applies the quick fix; the saved file differs from the original in exactly that value.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, projectRoot } from '../harness/codeServer';
import { startProduct } from '../harness/product';
import { openWorkbench } from '../harness/workbench';

test('a dataset quick fix applied through the light bulb', { timeout: 240_000 }, async (t) => {
  const workspace = path.join(mkdtempSync(path.join(os.tmpdir(), 'ftw-ui-ws-')), 'minicpm-v-lora');
  cpSync(path.join(projectRoot, 'examples', 'minicpm-v-lora'), workspace, { recursive: true });
  const file = path.join(workspace, 'data', 'train.json');
  const original = readFileSync(file, 'utf8');
  const product = await startProduct(await freePort(), workspace);
  t.after(() => product.stop());
  const workbench = await openWorkbench(product.url);
  t.after(() => workbench.close());
  const { page } = workbench;

  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  // Quick Open the dataset, as a person would.
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill('data/train.json');
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'train.json' }).waitFor({ state: 'visible' });
  await input.press('Enter');
  await page.locator('.editor-instance .squiggly-error').first().waitFor({ state: 'visible', timeout: 60_000 });

  // Put the cursor on "human" (line 14, column 18) and click the light bulb.
  await page.keyboard.press('Control+G');
  await input.waitFor({ state: 'visible' });
  await input.fill(':14:18');
  await input.press('Enter');
  const bulb = page.locator('.lightBulbWidget');
  await bulb.waitFor({ state: 'visible', timeout: 30_000 });
  await workbench.screenshot('dataset-light-bulb');
  await bulb.click();
  const item = page.locator('.action-widget .monaco-list-row', { hasText: 'Change role to "user"' });
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  await workbench.screenshot('dataset-quick-fix-menu');
  // The menu lies under a pointer block until the mouse moves; choose with the keyboard, as people often do.
  const focused = page.locator('.action-widget .monaco-list-row.focused', { hasText: 'Change role to "user"' });
  for (let k = 0; k < 5 && !(await focused.isVisible()); k++) await page.keyboard.press('ArrowDown');
  await focused.waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
  await page.keyboard.press('Control+S');

  // The file on disk: exactly that value changed, everything else byte-identical.
  const expected = original.replace('{"from": "human", "value": "<image>\\nWhat is the weather', '{"from": "user", "value": "<image>\\nWhat is the weather');
  assert.notEqual(expected, original);
  const deadline = Date.now() + 30_000;
  while (readFileSync(file, 'utf8') !== expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(readFileSync(file, 'utf8'), expected);
  await workbench.screenshot('dataset-quick-fix-applied');
});

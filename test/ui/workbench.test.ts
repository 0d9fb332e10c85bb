// UI test of the product command: `npm start` serves the workbench with the extension installed on the example
// workspace; a person's clicks (activity bar → Fine-tune views → a command) are replayed with Playwright and
// screenshots land in test-results/.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../harness/codeServer';
import { startProduct } from '../harness/product';
import { openWorkbench, runCommandFromPalette, waitForText } from '../harness/workbench';

test('the product command serves the workbench with the Fine-tune views', { timeout: 240_000 }, async (t) => {
  const product = await startProduct(await freePort());
  t.after(() => product.stop());
  assert.match(product.url, /folder=.*examples%2Fminicpm-v-lora/);
  const workbench = await openWorkbench(product.url);
  t.after(() => workbench.close());
  const { page } = workbench;

  await t.test('the activity bar has the Fine-tune container', async () => {
    const item = page.locator('.activitybar .action-item a[aria-label^="Fine-tune"]');
    await item.waitFor({ state: 'visible', timeout: 60_000 });
    await item.click();
  });

  await t.test('Jobs, Runs and Hosts show their empty states with a next step', async () => {
    for (const title of ['Jobs', 'Runs', 'Hosts']) {
      await page.locator('.pane-header', { hasText: title }).first().waitFor({ state: 'visible', timeout: 30_000 });
    }
    // The welcome content of the first view, with its button.
    const sidebar = page.locator('.part.sidebar');
    await sidebar.getByText('No fine-tuning jobs yet', { exact: false }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await sidebar.getByRole('button').filter({ hasText: /Launch Panel|Open/ }).first().waitFor({ state: 'visible' });
    await workbench.screenshot('workbench-fine-tune-views');
  });

  await t.test('a palette command runs and the log shows the extension active in this VS Code', async () => {
    await runCommandFromPalette(page, 'Finetune Workbench: Show Log');
    await waitForText(page.locator('.part.panel'), /Finetune Workbench \d+\.\d+\.\d+ activated in VS Code \d+\.\d+\.\d+/);
    await workbench.screenshot('workbench-show-log');
  });
});

// UI test of the product command: `npm start` serves the workbench with the extension installed on the example
// workspace; a person's clicks (activity bar → Fine-tune views → a command) are replayed with Playwright and
// screenshots land in test-results/.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, projectRoot } from '../harness/codeServer';
import { openWorkbench, runCommandFromPalette, waitForText } from '../harness/workbench';

async function startProduct(port: number): Promise<{ url: string; stop(): void }> {
  const child = spawn(
    process.execPath,
    [path.join(projectRoot, 'scripts', 'start.mjs'), '--port', String(port), '--no-install', '--no-build', '--state-dir', mkdtempSync(path.join(os.tmpdir(), 'ftw-ui-'))],
    { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL in 90 s:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running in code-server at (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}):\n${output}`));
    });
  });
  return { url, stop: () => child.kill('SIGINT') };
}

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

// Drives the Launch panel in a real workbench (code-server + headless Chromium): fill the form, launch a job,
// see it in the Jobs view, reload the window and find the form restored (no retainContextWhenHidden).
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { projectRoot, startCodeServer, workbenchUrl } from '../harness/codeServer';
import { openWorkbench } from '../harness/workbench';

/** Runs a command from the palette, retrying while the workbench is still registering extension commands. */
async function runCommand(page: Page, title: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ state: 'visible', timeout: 3000 });
      await input.press('Enter');
      return;
    } catch (error) {
      await page.keyboard.press('Escape');
      if (Date.now() > end) throw error;
      await page.waitForTimeout(1000);
    }
  }
}

async function launchFrame(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    for (const frame of page.frames()) {
      if ((await frame.locator('#launch').count().catch(() => 0)) > 0) return frame;
    }
    await page.waitForTimeout(250);
  }
  throw new Error('the Launch panel webview did not appear');
}

test('Launch panel: launch from the form, job appears in the Jobs view, form survives a window reload', { timeout: 240_000 }, async (t) => {
  const temp = mkdtempSync(path.join(os.tmpdir(), 'ftw-ui-launch-'));
  const workspace = path.join(temp, 'workspace');
  cpSync(path.join(projectRoot, 'examples', 'minicpm-v-lora'), workspace, { recursive: true });
  mkdirSync(path.join(workspace, 'jobs-ui'));
  writeFileSync(path.join(workspace, 'jobs-ui', 'hello.sh'), '#!/bin/bash\necho hello\n');
  const state = mkdtempSync(path.join(os.tmpdir(), 'ftw-ui-state-'));
  const server = await startCodeServer({ workspace, stateDir: state });
  t.after(() => server.stop());
  const workbench = await openWorkbench(workbenchUrl(server, workspace, { extensionDevelopmentPath: projectRoot }));
  t.after(() => workbench.close());
  const { page } = workbench;
  try {
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await runCommand(page, 'Finetune Workbench: Open Launch Panel');
    let frame = await launchFrame(page);
    const marker = `ui-launch-${Date.now()}`;
    // Long enough that the window reload below happens while the job runs: the reloaded extension re-attaches.
    await frame.locator('#command textarea').fill(`echo ${marker}; sleep 6; echo done`);
    await frame.locator('#resolved').filter({ hasText: marker }).waitFor({ timeout: 20_000 });
    // The form's script is the example's finetune_lora.sh: its preflight lists findings linked to file:line and the
    // memory estimate, and its errors block the launch until overridden.
    const llmType = frame.locator('#preflight li', { hasText: 'SCRIPT-LLMTYPE' });
    await llmType.waitFor({ timeout: 60_000 });
    assert.equal(await llmType.locator('a').textContent(), 'finetune_lora.sh:16');
    await frame.locator('#preflight li a', { hasText: 'data/train.json:4' }).first().waitFor();
    await frame.locator('#preflightFacts').filter({ hasText: /Memory estimate \(line 27\): ≈ [\d.]+ GiB per GPU/ }).waitFor();
    await frame.locator('#preflightFacts').filter({ hasText: /errors block the launch/ }).waitFor();
    await frame.locator('#launch').click();
    await frame.locator('#status').filter({ hasText: /Not launched: the preflight found \d+ error/ }).waitFor({ timeout: 30_000 });
    await llmType.locator('a').click();
    await page.locator('.tab.active', { hasText: 'finetune_lora.sh' }).waitFor({ timeout: 20_000 });
    await page.locator('.statusbar-item', { hasText: /Ln 16, Col \d+/ }).first().waitFor({ timeout: 20_000 });
    // The editor group beside the panel can re-host its iframe: find the panel's frame again (its state is restored).
    frame = await launchFrame(page);
    await frame.locator('#resolved').filter({ hasText: marker }).waitFor({ timeout: 20_000 });
    await frame.locator('#overridePreflight').click();
    await frame.locator('#launch').click();
    await frame.locator('#status').filter({ hasText: /launched on local/ }).waitFor({ timeout: 30_000 });

    await runCommand(page, 'Fine-tune: Focus on Jobs View');
    await page.locator('.monaco-list-row', { hasText: /local · \d+:\d+/ }).first().waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.monaco-list-row', { hasText: 'exit 0' }).count(), 0, 'still running at reload time');

    // A marker on the page's global object tells the reloaded page from the old one (tests have no DOM lib).
    await page.evaluate(() => Object.assign(globalThis, { ftwBeforeReload: true }));
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForFunction(() => !('ftwBeforeReload' in globalThis), undefined, { timeout: 30_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    frame = await launchFrame(page);
    await frame.locator('#resolved').filter({ hasText: marker }).waitFor({ timeout: 30_000 });
    assert.equal(await frame.locator('#command textarea').inputValue(), `echo ${marker}; sleep 6; echo done`);
    // The reloaded extension found the running job in its registry, followed it and settled it.
    await runCommand(page, 'Fine-tune: Focus on Jobs View');
    await page.locator('.monaco-list-row', { hasText: 'exit 0' }).first().waitFor({ timeout: 60_000 });
  } catch (error) {
    await workbench.screenshot('launch-panel-failure');
    throw error;
  }
});

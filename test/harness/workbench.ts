import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { existsSync, mkdirSync } from 'node:fs';
import { format } from 'node:util';
import path from 'node:path';
import { chromiumArgs, chromiumPath, projectRoot } from './codeServer';

export const resultsDir = path.join(projectRoot, 'test-results');

export interface OpenWorkbench {
  readonly browser: Browser;
  readonly page: Page;
  /** Everything the extension host printed (console.* of tests and extensions), as forwarded by the workbench. */
  readonly hostLog: string[];
  /** Resolves with the exit code when an extensionTestsPath payload finishes. */
  readonly exitCode: Promise<number>;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openWorkbench(url: string, options: { echoHostLog?: boolean } = {}): Promise<OpenWorkbench> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}. Run 'bash scripts/install-system-deps.sh' (npm test does this itself).`);
  }
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const hostLog: string[] = [];
  let resolveExit!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => (resolveExit = resolve));
  // The workbench forwards the extension host's console to these hooks in test mode (as VS Code's own
  // browser test runner does).
  await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
    const line = format(...args); // the host forwards console.log's format string and arguments
    hostLog.push(line);
    if (options.echoHostLog) process.stdout.write(`[ext host ${type}] ${line}\n`);
  });
  await page.exposeFunction('codeAutomationExit', (code: number) => resolveExit(code));
  await page.goto(url);
  return {
    browser,
    page,
    hostLog,
    exitCode,
    async screenshot(name: string) {
      mkdirSync(resultsDir, { recursive: true });
      const file = path.join(resultsDir, `${name}.png`);
      await page.screenshot({ path: file });
      return file;
    },
    async close() {
      await browser.close();
    },
  };
}

/** Runs a command from the palette by its title, as a person would. */
export async function runCommandFromPalette(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  // Enter runs the focused row, so wait until filtering has put the command there.
  const focused = page.locator('.quick-input-list .monaco-list-row.focused', { hasText: title });
  await focused.waitFor({ state: 'visible' });
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/**
 * Waits until the rendered text of `locator` matches. Editors split a line into many spans (log syntax colours
 * numbers and dates apart), so text selectors miss text a person plainly sees; innerText does not.
 */
export async function waitForText(locator: Locator, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = (await locator.allInnerTexts()).join('\n').replace(/\u00a0/g, ' '); // editors render spaces as NBSP
    if (pattern.test(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`text ${pattern} did not appear within ${timeoutMs} ms; last text:\n${last.slice(-1500)}`);
}

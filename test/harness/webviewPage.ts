import { chromium, type Browser, type Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromiumArgs, chromiumPath, projectRoot } from './codeServer';

/**
 * A built webview bundle (dist/webview/<panel>.js) in headless Chromium outside VS Code, under the same strict CSP
 * the extension sets (a script nonce, no 'unsafe-inline'), with a stand-in for acquireVsCodeApi that records what
 * the page posts. For benchmarks and for checks that do not need the whole workbench.
 */
export interface WebviewPage {
  browser: Browser;
  page: Page;
  /** Console errors and CSP violations seen so far. */
  errors: string[];
  close(): Promise<void>;
}

const origin = 'http://webview.test';

export async function openWebviewPage(
  panel: string,
  options: { bodyData?: Record<string, string>; width?: number; height?: number; themeCss?: string; root?: string } = {},
): Promise<WebviewPage> {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
  const page = await browser.newPage({ viewport: { width: options.width ?? 1300, height: options.height ?? 900 } });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  const nonce = 'bm9uY2UtZm9yLXRlc3Rz';
  const csp = `default-src 'none'; img-src ${origin} data:; style-src ${origin}; font-src ${origin}; script-src 'nonce-${nonce}'`;
  const data = Object.entries(options.bodyData ?? {})
    .map(([k, v]) => ` data-${k}="${v}"`)
    .join('');
  // VS Code's dark theme variables, as the workbench injects them into webviews.
  const theme =
    options.themeCss ??
    '--vscode-foreground:#cccccc;--vscode-editor-background:#1f1f1f;--vscode-charts-blue:#3794ff;--vscode-charts-orange:#d18616;--vscode-charts-red:#f14c4c;--vscode-charts-green:#89d185;--vscode-font-family:sans-serif;--vscode-font-size:13px';
  await page.route(`${origin}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/') {
      await route.fulfill({
        contentType: 'text/html',
        body: `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="${csp}"><link rel="stylesheet" href="${origin}/theme.css"></head><body class="vscode-dark"${data}><script nonce="${nonce}" src="${origin}/${panel}.js"></script></body></html>`,
      });
    } else if (url.pathname === '/theme.css') {
      await route.fulfill({ contentType: 'text/css', body: `html { ${theme} }` });
    } else {
      await route.fulfill({ contentType: 'text/javascript', body: readFileSync(path.join(options.root ?? projectRoot, 'dist', 'webview', path.basename(url.pathname))) });
    }
  });
  // Runs in the page before its scripts (as browser code, hence a string: this file is type-checked for Node).
  await page.addInitScript(`
    window.__posted = [];
    window.acquireVsCodeApi = () => ({
      postMessage: (message) => window.__posted.push({ ...message, postedAt: performance.now() }),
      getState: () => window.__state,
      setState: (state) => (window.__state = state),
    });
    document.addEventListener('securitypolicyviolation', (event) => console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI));
  `);
  await page.goto(`${origin}/`);
  return {
    browser,
    page,
    errors,
    close: () => browser.close(),
  };
}

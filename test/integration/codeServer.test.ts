// Runs the mocha suite of test/integration/suite inside the extension host of a real VS Code (code-server),
// driven by headless Chromium, and reports each mocha test as a node:test subtest.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { projectRoot, startCodeServer, workbenchUrl } from '../harness/codeServer';
import { openWorkbench } from '../harness/workbench';
import type { SuiteResults } from './suite/index';

const suiteTimeoutMs = 15 * 60_000;

test('integration suite in code-server', { timeout: suiteTimeoutMs + 120_000 }, async (t) => {
  const temp = mkdtempSync(path.join(os.tmpdir(), 'ftw-integration-'));
  const workspace = path.join(temp, 'workspace');
  cpSync(path.join(projectRoot, 'examples', 'minicpm-v-lora'), workspace, { recursive: true });
  const resultsFile = path.join(temp, 'results.json');
  const server = await startCodeServer({ workspace, env: { FTW_TEST_RESULTS: resultsFile, FTW_TEST_WORKSPACE: workspace } });
  const url = workbenchUrl(server, workspace, {
    extensionDevelopmentPath: projectRoot,
    extensionTestsPath: path.join(projectRoot, 'out', 'test', 'integration', 'suite', 'index.js'),
  });
  const workbench = await openWorkbench(url, { echoHostLog: process.env.FTW_ECHO_HOST_LOG === '1' }).catch(async (error: unknown) => {
    await server.stop();
    throw error;
  });
  t.after(async () => {
    await workbench.close(); // the browser first, so the server's shutdown is not logged as a lost connection
    await server.stop();
  });
  let timer: NodeJS.Timeout | undefined;
  const exitCode = await Promise.race([
    workbench.exitCode,
    new Promise<number>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`suite did not finish in ${suiteTimeoutMs} ms`)), suiteTimeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (!existsSync(resultsFile)) {
    await workbench.screenshot('integration-no-results');
    assert.fail(`the suite wrote no results (exit ${exitCode}). Extension host log:\n${workbench.hostLog.slice(-60).join('\n')}`);
  }
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as SuiteResults;
  t.diagnostic(`VS Code ${results.vscodeVersion} (${results.appName}) ran ${results.tests.length} integration tests`);
  const activation = workbench.hostLog.find((line) => line.includes('active in VS Code'));
  if (activation) t.diagnostic(activation);
  assert.ok(results.tests.length > 0, 'the suite ran no test');
  for (const result of results.tests) {
    await t.test(result.title, { skip: result.state === 'pending' ? 'pending in mocha' : false }, () => {
      if (result.state === 'failed') assert.fail(result.error ?? 'failed');
    });
  }
  assert.equal(exitCode, 0, 'extension host reported failure');
});

// Entry point that VS Code's extension host loads through `extensionTestsPath` (code-server or
// @vscode/test-electron alike). Runs every *.test.js beside this file with mocha and writes a machine-readable
// result file for the driver, because the host's exit code alone cannot say which test failed.
import Mocha from 'mocha';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';

export interface SuiteTestResult {
  title: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs: number;
  error?: string;
}

export interface SuiteResults {
  vscodeVersion: string;
  appName: string;
  tests: SuiteTestResult[];
}

export function run(): Promise<void> {
  return runMochaSuite(__dirname);
}

/** Runs every *.test.js in `dir` (a folder of bundled mocha test files) and writes the result file. */
export function runMochaSuite(dir: string): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const grep = process.env.FTW_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(path.join(dir, file));
  }
  console.log(`[ftw-suite] VS Code ${vscode.version} (${vscode.env.appName}), extension host pid ${process.pid}`);
  const results: SuiteResults = { vscodeVersion: vscode.version, appName: vscode.env.appName, tests: [] };
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const file = process.env.FTW_TEST_RESULTS;
      if (file) writeFileSync(file, JSON.stringify(results, null, 2));
      if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
      else resolve();
    });
    runner.on('pass', (test) => results.tests.push({ title: test.fullTitle(), state: 'passed', durationMs: test.duration ?? 0 }));
    runner.on('fail', (test, error: Error) =>
      results.tests.push({ title: test.fullTitle(), state: 'failed', durationMs: test.duration ?? 0, error: error.stack ?? error.message }),
    );
    runner.on('pending', (test) => results.tests.push({ title: test.fullTitle(), state: 'pending', durationMs: 0 }));
  });
}

// The project's one test command (`npm test`): installs what the tests need when missing (Debian packages,
// code-server), builds, then runs every layer with node's test runner and ends with one summary line
// `N passed, M failed[, K skipped]`.
//   --only unit|system|integration|ui|package|static   run one layer (system: real sshd and Slurm for the launcher)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex >= 0 ? process.argv[onlyIndex + 1] : undefined;
const started = Date.now();

function step(title, command, args, options = {}) {
  console.log(`\n▶ ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`✖ ${title} failed (exit ${result.status ?? result.signal})`);
    console.log('\n0 passed, 1 failed');
    process.exit(1);
  }
}

function testFiles(dir) {
  const full = path.join(root, dir);
  if (!existsSync(full)) return [];
  const found = [];
  for (const name of readdirSync(full)) {
    const p = path.join(full, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'suite') found.push(...testFiles(path.join(dir, name)));
    } else if (name.endsWith('.test.js')) found.push(p);
  }
  return found.sort();
}

const layers = [
  { name: 'unit', dirs: ['out/test/unit', 'out/test/static'], concurrency: os.availableParallelism() },
  { name: 'system', dirs: ['out/test/system'], concurrency: 1 },
  { name: 'integration', dirs: ['out/test/integration'], concurrency: 1 },
  { name: 'ui', dirs: ['out/test/ui'], concurrency: 1 },
  // Last: it rebuilds dist/ in production mode, which the other layers must not see change under them.
  { name: 'package', dirs: ['out/test/package'], concurrency: 1 },
].filter((layer) => !only || layer.name === only || (only === 'static' && layer.name === 'unit'));

const needsSystemPackages = layers.some((layer) => layer.name !== 'unit');
const needsVsCode = layers.some((layer) => layer.name === 'integration' || layer.name === 'ui');
if (needsSystemPackages) step('system packages (Chromium, ripgrep, sshd, Slurm, ...)', 'bash', ['scripts/install-system-deps.sh']);
if (needsVsCode) step('code-server (cached in .vscode-test/)', 'bash', ['scripts/install-code-server.sh']);
step('build', process.execPath, ['scripts/build.mjs']);

const totals = { passed: 0, failed: 0, skipped: 0, failures: [] };
const countsDir = mkdtempSync(path.join(os.tmpdir(), 'ftw-counts-'));
for (const layer of layers) {
  const files = layer.dirs.flatMap(testFiles);
  console.log(`\n▶ ${layer.name} tests (${files.length} files)`);
  if (files.length === 0) {
    totals.failed++;
    totals.failures.push(`${layer.name}: no test files found`);
    continue;
  }
  const countsFile = path.join(countsDir, `${layer.name}.json`);
  const result = spawnSync(
    process.execPath,
    [
      '--test',
      `--test-concurrency=${layer.concurrency}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${path.join(root, 'scripts', 'count-reporter.mjs')}`,
      '--test-reporter-destination=stderr',
      ...files,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, FTW_COUNTS_FILE: countsFile } },
  );
  if (!existsSync(countsFile)) {
    totals.failed++;
    totals.failures.push(`${layer.name}: the test runner crashed (exit ${result.status})`);
    continue;
  }
  const counts = JSON.parse(readFileSync(countsFile, 'utf8'));
  console.log(`  ${layer.name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  totals.passed += counts.passed;
  totals.failed += counts.failed;
  totals.skipped += counts.skipped;
  totals.failures.push(...counts.failures.map((f) => `${layer.name}: ${f}`));
  if (result.status !== 0 && counts.failed === 0) {
    totals.failed++;
    totals.failures.push(`${layer.name}: the test runner exited with ${result.status}`);
  }
}

if (totals.failures.length) {
  console.log('\nFailures:');
  for (const failure of totals.failures) console.log(`  ✖ ${failure}`);
}
console.log(`\nTest time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
console.log(`${totals.passed} passed, ${totals.failed} failed${skipped}`);
process.exit(totals.failed > 0 ? 1 : 0);

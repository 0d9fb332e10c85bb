import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..');

test('npm run package makes a small .vsix with only what runs', { timeout: 180_000 }, () => {
  const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'package.mjs')], { cwd: root, encoding: 'utf8' });
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  const { name, version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  const vsix = path.join(root, `${name}-${version}.vsix`);
  assert.ok(statSync(vsix).size < 5 * 1024 * 1024);
  const files = result.stdout.split('\n').filter((line) => line.startsWith('  ')).map((line) => line.trim());
  for (const required of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/cli.js', 'extension/readme.md']) {
    assert.ok(files.some((f) => f.toLowerCase() === required), `${required} missing from ${files.join(', ')}`);
  }
  const unwanted = files.filter((f) => /\/(src|test|out|node_modules|examples|bench)\/|\.ts$|\.map$/.test(f));
  assert.deepEqual(unwanted, []);
  const line = result.stdout.split('\n').find((l) => /\.vsix: \d+ files/.test(l));
  if (line) console.log(line);
});

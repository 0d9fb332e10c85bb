import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../src/cli/main';
import { bufferIo } from '../harness/cliIo';

const root = path.resolve(__dirname, '..', '..', '..');

describe('ftw CLI skeleton', () => {
  it('prints help with the exit-code contract', async () => {
    const io = bufferIo(root);
    assert.equal(await runCli(['--help'], io), 0);
    assert.match(io.out, /Usage: ftw <command>/);
    assert.match(io.out, /0 clean, 1 findings at error severity, 2 usage or I\/O error/);
  });

  it('prints the manifest version', async () => {
    const io = bufferIo(root);
    assert.equal(await runCli(['--version'], io), 0);
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    assert.equal(io.out.trim(), version);
  });

  it('exits 2 on an unknown command and on no command', async () => {
    const io = bufferIo(root);
    assert.equal(await runCli(['frobnicate'], io), 2);
    assert.match(io.err, /unknown command 'frobnicate'/);
    assert.equal(await runCli([], bufferIo(root)), 2);
  });

  it('works as the bundled bin (dist/cli.js)', () => {
    const result = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), '--version'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

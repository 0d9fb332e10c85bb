import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('static checks', () => {
  it('type-checks the extension, core, CLI and tests with strict tsc', () => {
    const { status, output } = run(bin('tsc'), ['-p', '.', '--noEmit']);
    assert.equal(status, 0, output);
  });

  it('type-checks the webviews (DOM lib) with strict tsc', () => {
    const { status, output } = run(bin('tsc'), ['-p', 'webview', '--noEmit']);
    assert.equal(status, 0, output);
  });

  it('passes ESLint (typescript-eslint)', () => {
    const { status, output } = run(bin('eslint'), ['--max-warnings=0', '--no-error-on-unmatched-pattern', 'src', 'webview', 'test', 'scripts', 'bench']);
    assert.equal(status, 0, output);
  });
});

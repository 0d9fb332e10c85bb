import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quoteShellArg, shellCommand } from '../../../src/core/jobs/shellQuote';

/** Runs `printf '%s\0' <quoted args>` in a real shell and returns the arguments it received. */
function echoThrough(shell: string, args: string[]): string[] {
  const result = spawnSync(shell, ['-c', `printf '%s\\0' ${shellCommand(args)}`], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\0').slice(0, -1);
}

const hostile = [
  'file name with spaces.sh',
  "it's a 'quoted' name",
  'double "quotes" here',
  '$(touch /tmp/ftw-pwned)',
  '`touch /tmp/ftw-pwned`',
  'line one\nline two',
  'tab\there',
  '; rm -rf ~ #',
  '&& echo injected',
  '-rf',
  '~/not-expanded',
  '*.json',
  '数据集 données ✓ 🚀',
  "\\'\\\"",
  '',
  '$HOME ${PATH} $((1+1))',
  '!event',
];

describe('quoteShellArg', () => {
  it('passes hostile arguments through bash and sh unchanged', () => {
    assert.deepEqual(echoThrough('bash', hostile), hostile);
    assert.deepEqual(echoThrough('sh', hostile), hostile);
  });

  it('property: any string without NUL comes back from bash -c exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', minLength: 0, maxLength: 30 }).filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 6 }), (args) => {
        // Lone surrogates cannot be passed to a process as UTF-8; real file names are valid Unicode.
        const valid = args.map((a) => Buffer.from(a, 'utf8').toString('utf8'));
        assert.deepEqual(echoThrough('bash', valid), valid);
      }),
      { numRuns: 150 },
    );
  });

  it('property: survives two levels of quoting (a script passed to bash -c by a login shell, as over ssh)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (arg) => {
        const inner = `printf '%s' ${quoteShellArg(arg)}`;
        const result = spawnSync('sh', ['-c', `bash -c ${quoteShellArg(inner)}`], { encoding: 'utf8' });
        assert.equal(result.stdout, arg);
      }),
      { numRuns: 100 },
    );
  });

  it('rejects NUL, which no process argument can hold', () => {
    assert.throws(() => quoteShellArg('a\0b'), /NUL/);
  });

  it('leaves plain words readable', () => {
    assert.equal(shellCommand(['torchrun', '--nproc_per_node=8', 'finetune.py']), 'torchrun --nproc_per_node=8 finetune.py');
    assert.equal(quoteShellArg('a b'), "'a b'");
  });
});

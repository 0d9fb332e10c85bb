import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DatasetLintSession, type DatasetLintResult } from '../../src/core/dataset/lint';

const root = path.resolve(__dirname, '..', '..', '..');
const fixtures = '/work/shared/fixtures/real/datasets';

const seeds: Buffer[] = [
  readFileSync(path.join(root, 'examples/minicpm-v-lora/data/train.json')),
  ...readdirSync(fixtures).map((name) => readFileSync(path.join(fixtures, name))),
];

/** Lints raw bytes, fed in chunks of `chunk` bytes (the scanner must not care where chunks end). */
function lintBytes(bytes: Buffer, chunk: number): DatasetLintResult {
  const session = new DatasetLintSession({ checkMediaFiles: false, collectSamples: chunk % 2 === 0 });
  for (let i = 0; i < bytes.length; i += chunk) session.push(bytes.subarray(i, i + chunk));
  return session.end();
}

/** Valid as one JSON value, or as JSON Lines. */
function parses(bytes: Buffer): boolean {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  try {
    JSON.parse(text);
    return true;
  } catch {
    const lines = text.split('\n').filter((l) => l.trim());
    if (!lines.length || !text.trimStart().startsWith('{')) return false;
    return lines.every((l) => {
      try {
        JSON.parse(l);
        return true;
      } catch {
        return false;
      }
    });
  }
}

function checkPositions(bytes: Buffer, result: DatasetLintResult): void {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  for (const f of result.findings) {
    const { start, end } = f.range;
    for (const p of [start, end]) {
      assert.ok(Number.isInteger(p.line) && Number.isInteger(p.character) && p.line >= 0 && p.character >= 0, JSON.stringify(f));
      assert.ok(p.line < lines.length, `${f.rule} line ${p.line} beyond ${lines.length} lines`);
      assert.ok(p.character <= lines[p.line]!.length + 1, `${f.rule} at ${p.line}:${p.character}, line has ${lines[p.line]!.length}`);
    }
    assert.ok(start.line < end.line || (start.line === end.line && start.character <= end.character), JSON.stringify(f));
    assert.ok(f.message.length > 0 && f.rule.length > 0);
  }
}

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'bom' }
  | { kind: 'crlf' }
  | { kind: 'nest'; at: number; depth: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.constantFrom(0x22, 0x27, 0x2c, 0x5b, 0x5d, 0x7b, 0x7d, 0x5c, 0x0a, 0x0d, 0x00, 0xff, 0xc3, 0xe4, 0xf0, 0x80), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.constant({ kind: 'bom' as const }),
  fc.constant({ kind: 'crlf' as const }),
  fc.record({ kind: fc.constant('nest' as const), at: fc.nat(), depth: fc.integer({ min: 1, max: 20_000 }) }),
);

function mutate(input: Buffer, m: Mutation): Buffer {
  const at = input.length ? ('at' in m ? m.at % (input.length + 1) : 0) : 0;
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(input);
      if (out.length) out[at % out.length] = m.byte;
      return out;
    }
    case 'insert':
      return Buffer.concat([input.subarray(0, at), Buffer.from(m.bytes), input.subarray(at)]);
    case 'delete':
      return Buffer.concat([input.subarray(0, at), input.subarray(at + m.length)]);
    case 'truncate':
      return input.subarray(0, at);
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), input]);
    case 'crlf':
      return Buffer.from(input.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
    case 'nest':
      return Buffer.concat([input.subarray(0, at), Buffer.from('['.repeat(m.depth)), input.subarray(at)]);
  }
}

describe('dataset scanner fuzzing', () => {
  it('never throws, and every invalid file gets a finding with a valid position', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 4096 }), (seed, mutations, chunk) => {
        const bytes = mutations.reduce(mutate, seeds[seed]!);
        const result = lintBytes(bytes, chunk);
        checkPositions(bytes, result);
        if (!parses(bytes)) assert.ok(result.findings.length > 0, `no finding for invalid input:\n${bytes.toString('latin1').slice(0, 400)}`);
      }),
      { numRuns: 400 },
    );
  });

  it('handles random binary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 2000 }), (data) => {
        const bytes = Buffer.from(data);
        const result = lintBytes(bytes, 257);
        checkPositions(bytes, result);
        if (!parses(bytes)) assert.ok(result.findings.length > 0);
      }),
      { numRuns: 300 },
    );
  });

  it('survives pathological shapes: deep nesting, a long single line, an unterminated string', () => {
    const deep = Buffer.from(`[{"image": "x.png", "conversations": ${'['.repeat(200_000)}${']'.repeat(200_000)}}]`);
    const long = Buffer.from(`[${Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: i, image: 'x.png', conversations: [{ role: 'user', content: '<image>'.padEnd(300, 'x') }, { role: 'assistant', content: 'a' }] })).join(',')}]`);
    const unterminated = Buffer.from('[{"image": "x.png", "conversations": [{"role": "user", "content": "<image>\nq');
    for (const bytes of [deep, long, unterminated]) {
      const result = lintBytes(bytes, 65536);
      checkPositions(bytes, result);
    }
    assert.ok(lintBytes(unterminated, 7).findings.some((f) => f.rule === 'DS-JSON'));
    assert.equal(lintBytes(long, 1000).samples, 3000);
  });
});

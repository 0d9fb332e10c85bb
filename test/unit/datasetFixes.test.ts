import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { runCli } from '../../src/cli/main';
import { applyTextEdits, convertToArray, convertToJsonl, fixDatasetText, fixEdits } from '../../src/core/dataset/fixes';
import { lintDatasetText } from '../../src/core/dataset/lint';
import { SampleSplitter } from '../../src/core/dataset/splitter';
import { bufferIo } from '../harness/cliIo';

const root = path.resolve(__dirname, '..', '..', '..');

function sampleTexts(text: string): string[] {
  const splitter = new SampleSplitter();
  return [...splitter.push(Buffer.from(text)), ...splitter.end()].map((s) => s.text);
}

const faults = ['roleKeys', 'roleAlias', 'tagLater', 'tagNone', 'unknownTag', 'pseudo'] as const;
type Fault = (typeof faults)[number];
const ruleOf: Record<Fault, string> = {
  roleKeys: 'DS-ROLE-KEYS',
  roleAlias: 'DS-ROLE-VALUES',
  tagLater: 'DS-IMG-TAG-LATER',
  tagNone: 'DS-IMG-TAG-NONE',
  unknownTag: 'DS-MULTI-UNKNOWN-TAG',
  pseudo: 'DS-JSON',
};

const word = fc.constantFrom('cat', 'plate', 'two', '图片', '颜色', '😀', 'say "hi"', 'a\\b', 'line\nbreak', 'tab\t', "it's");
const plainWord = fc.constantFrom('cat', 'plate', 'two', 'red', 'street');
const sentence = fc.array(word, { minLength: 1, maxLength: 6 }).map((w) => w.join(' '));

interface Sample {
  id: string;
  image: string | Record<string, string>;
  conversations: Record<string, string>[];
}

const sampleArb = fc.record({
  pairs: fc.array(fc.tuple(sentence, sentence), { minLength: 1, maxLength: 3 }),
});

function makeSample(i: number, pairs: [string, string][]): Sample {
  const conversations = pairs.flatMap(([q, a], t) => [
    { role: 'user', content: t === 0 ? `<image>\n${q}` : q },
    { role: 'assistant', content: a },
  ]);
  return { id: String(i), image: 'images/x.png', conversations };
}

function inject(sample: Sample, fault: Fault): void {
  const c = sample.conversations;
  switch (fault) {
    case 'roleKeys': {
      const t = c[c.length - 1]!;
      c[c.length - 1] = { from: t.role!, value: t.content! };
      break;
    }
    case 'roleAlias':
      c[0]!.role = 'human';
      break;
    case 'tagLater':
      c[0]!.content = c[0]!.content!.replace('<image>\n', '');
      c[c.length - 1]!.content = `<image>\n${c[c.length - 1]!.content}`;
      break;
    case 'tagNone':
      c[0]!.content = c[0]!.content!.replace('<image>\n', '');
      break;
    case 'unknownTag':
      sample.image = { '<image_00>': 'a.png', '<image_01>': 'b.png' };
      c[0]!.content = c[0]!.content!.replace('<image>\n', '<image_00>\n<image_07>\n');
      break;
    case 'pseudo':
      break;
  }
}

function serialize(samples: { sample: Sample; pseudo: boolean }[], indent: number, crlf: boolean): string {
  const parts = samples.map(({ sample, pseudo }) => {
    if (!pseudo) return JSON.stringify(sample, null, indent).replace(/\n/g, `\n${' '.repeat(indent)}`);
    const turns = sample.conversations.map((t) => `{'role': '${t.role}', 'content': '${t.content!.replace(/\n/g, '\\n')}'},`).join(' ');
    return `{'id': '${sample.id}', 'image': '${sample.image as string}', 'conversations': [${turns}]}`;
  });
  const text = indent ? `[\n${' '.repeat(indent)}${parts.join(`,\n${' '.repeat(indent)}`)}\n]\n` : `[${parts.join(',')}]`;
  return crlf ? text.replace(/\n/g, '\r\n') : text;
}

describe('dataset quick fixes (property-based)', () => {
  it('each fix: the file still parses, the finding is gone, every other sample is byte-identical', () => {
    fc.assert(
      fc.property(
        fc.array(sampleArb, { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.constantFrom(...faults),
        fc.constantFrom(0, 2, 4),
        fc.boolean(),
        fc.array(fc.tuple(plainWord, plainWord), { minLength: 1, maxLength: 3 }),
        (records, pick, fault, indent, crlf, plainPairs) => {
          const k = pick % records.length;
          const samples = records.map((r, i) => ({ sample: makeSample(i, (fault === 'pseudo' && i === k ? plainPairs : r.pairs) as [string, string][]), pseudo: false }));
          inject(samples[k]!.sample, fault);
          samples[k]!.pseudo = fault === 'pseudo';
          const text = serialize(samples, indent, crlf);
          const before = lintDatasetText(text, { format: 'minicpmv', checkMediaFiles: false });
          const finding = before.findings.find((f) => f.rule === ruleOf[fault] && f.sample === k && f.fix);
          assert.ok(finding, `${fault}: no fixable finding in\n${text}\n${JSON.stringify(before.findings, null, 1)}`);
          const fixed = applyTextEdits(text, fixEdits(text, finding));
          const after = lintDatasetText(fixed, { format: 'minicpmv', checkMediaFiles: false });
          assert.deepEqual(after.findings.filter((f) => f.rule === 'DS-JSON'), [], fixed);
          assert.equal(after.findings.filter((f) => f.rule === ruleOf[fault] && f.sample === k).length, 0, fixed);
          const a = sampleTexts(text);
          const b = sampleTexts(fixed);
          assert.equal(b.length, a.length);
          a.forEach((t, i) => {
            if (i !== k) assert.equal(b[i], t);
          });
          JSON.parse(fixed.replace(/\r\n/g, '\n'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('converts JSON Lines to a JSON array and back without touching single-line samples', () => {
    fc.assert(
      fc.property(fc.array(sampleArb, { minLength: 1, maxLength: 5 }), (records) => {
        const lines = records.map((r, i) => JSON.stringify(makeSample(i, r.pairs as [string, string][])));
        const jsonl = `${lines.join('\n')}\n`;
        const array = convertToArray(jsonl);
        assert.deepEqual(JSON.parse(array), lines.map((l) => JSON.parse(l)));
        assert.deepEqual(sampleTexts(array), lines);
        assert.equal(convertToJsonl(array), jsonl);
      }),
      { numRuns: 100 },
    );
  });

  it('offers the conversion as the fix of a JSON Lines MiniCPM-V file', () => {
    const line = JSON.stringify({ image: 'x.png', conversations: [{ role: 'user', content: '<image>q' }, { role: 'assistant', content: 'a' }] });
    const result = fixDatasetText(`${line}\n${line}\n`, { checkMediaFiles: false });
    assert.equal(result.text, `[\n${line},\n${line}\n]\n`);
    assert.deepEqual(result.remaining, []);
  });
});

describe('ftw fix', () => {
  it('fixes the example dataset in place, keeps a .bak, and leaves what it cannot fix', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-fix-'));
    const file = path.join(dir, 'train.json');
    copyFileSync(path.join(root, 'examples/minicpm-v-lora/data/train.json'), file);
    const original = readFileSync(file, 'utf8');
    const io = bufferIo(dir);
    assert.equal(await runCli(['fix', 'train.json'], io), 1);
    assert.equal(readFileSync(`${file}.bak`, 'utf8'), original);
    const fixed = readFileSync(file, 'utf8');
    assert.match(fixed, /\{"role": "user", "content": "<image>\\nWhat is the weather/);
    assert.match(fixed, /\{"role": "user", "content": "<image>\\nWhich bar is the tallest\?"\}/);
    assert.match(fixed, /\{"role": "user", "content": "And the shortest\?"\}/);
    assert.equal(fixed.split('\n').length, original.split('\n').length);
    assert.match(io.err, /5 fix\(es\) applied/);
    assert.doesNotMatch(io.out, /DS-ROLE|DS-IMG-TAG-LATER/);
    // Named rules only; --no-backup writes no .bak.
    const other = path.join(dir, 'second.json');
    copyFileSync(path.join(root, 'examples/minicpm-v-lora/data/train.json'), other);
    await runCli(['fix', 'second.json', '--rule', 'DS-MULTI-UNKNOWN-TAG', '--no-backup'], bufferIo(dir));
    assert.equal(existsSync(`${other}.bak`), false);
    const renamed = readFileSync(other, 'utf8');
    assert.match(renamed, /<image_00>\\n<image_01>"/);
    assert.match(renamed, /"from": "human"/);
  });
});

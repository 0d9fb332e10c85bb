import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { runCli } from '../../src/cli/main';
import { detectFormat } from '../../src/core/dataset/formats';
import { lintDatasetFile, lintDatasetText, lintDatasetTextInSlices, type DatasetFinding } from '../../src/core/dataset/lint';
import { checkSample, cleanMiniCpmFacts, modelSupportsMultiImage } from '../../src/core/dataset/rules';
import { sampleValidator } from '../../src/core/dataset/schemas';
import { SampleSplitter, type RawSample } from '../../src/core/dataset/splitter';
import { linterFor } from '../../src/core/lint/registry';
import { bufferIo } from '../harness/cliIo';
import { realFixturesDir } from '../harness/shared';

const root = path.resolve(__dirname, '..', '..', '..');
const example = path.join(root, 'examples/minicpm-v-lora/data/train.json');
const fixtures = path.join(realFixturesDir, 'datasets');

function textAt(text: string, f: DatasetFinding): string {
  const lines = text.split('\n');
  assert.equal(f.range.start.line, f.range.end.line, `${f.rule} spans lines`);
  return lines[f.range.start.line]!.slice(f.range.start.character, f.range.end.character);
}

describe('dataset lint: the example dataset', () => {
  const text = readFileSync(example, 'utf8');

  it('finds every deliberate fault, at the offending key or value', async () => {
    const result = await lintDatasetFile(example);
    assert.equal(result.format, 'minicpmv');
    assert.equal(result.container, 'array');
    assert.equal(result.samples, 6);
    const found = result.findings.map((f) => `${f.rule}@${f.sample}:${textAt(text, f)}`);
    assert.deepEqual(found, [
      'DS-ROLE-KEYS@1:"from"',
      'DS-ROLE-VALUES@1:"human"',
      'DS-ROLE-KEYS@1:"from"',
      'DS-ROLE-VALUES@1:"gpt"',
      'DS-IMG-TAG-LATER@2:<image>',
      'DS-MULTI-UNUSED-IMG@3:"<image_01>"',
      'DS-MULTI-UNKNOWN-TAG@3:<image_02>',
      'DS-IMG-FILE@4:"images/missing.png"',
      'DS-DUP-ID@5:"3"',
      'DS-IMG-FILE@5:"images/broken.jpg"',
      'DS-EMPTY@5:""',
    ]);
    assert.ok(result.findings.every((f) => f.message.length > 30));
  });

  it('checks videos by their header: MP4, QuickTime, WebM/Matroska and AVI pass, anything else is named', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-video-'));
    const heads: Record<string, Buffer> = {
      'a.mp4': Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom\0\0\x02\0', 'latin1')]),
      'b.mov': Buffer.concat([Buffer.from([0, 0, 0, 0x14]), Buffer.from('ftypqt  ', 'latin1')]),
      'c.webm': Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]),
      'd.avi': Buffer.from('RIFF\x10\0\0\0AVI LIST', 'latin1'),
      'e.mp4': Buffer.from('<html>not found</html>'),
      'f.mp4': Buffer.alloc(0),
      'g.mp4': Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic', 'latin1')]),
    };
    for (const [name, head] of Object.entries(heads)) writeFileSync(path.join(dir, name), head);
    const samples = Object.keys(heads).map((name) => ({ video: name, conversations: [{ from: 'human', value: '<video>\nq' }, { from: 'gpt', value: 'a' }] }));
    const file = path.join(dir, 'data.json');
    writeFileSync(file, JSON.stringify(samples, null, 2));
    const findings = (await lintDatasetFile(file, { format: 'qwenvl' })).findings;
    assert.deepEqual(
      findings.map((f) => [f.rule, f.sample, f.message.split(' (resolved')[0]]),
      [
        ['DS-IMG-FILE', 4, 'Video "e.mp4" is not an MP4, QuickTime, WebM, Matroska or AVI video (by its header)'],
        ['DS-IMG-FILE', 5, 'Video "f.mp4" is empty'],
        ['DS-IMG-FILE', 6, 'Video "g.mp4" is not an MP4, QuickTime, WebM, Matroska or AVI video (by its header)'],
      ],
    );
  });

  it('resolves images against a given base folder', async () => {
    const result = await lintDatasetFile(example, { baseDir: mkdtempSync(path.join(os.tmpdir(), 'ftw-empty-')) });
    assert.equal(result.findings.filter((f) => f.rule === 'DS-IMG-FILE').length, 7);
  });

  it('estimates token length against model_max_length when asked', () => {
    const result = lintDatasetText(text, { filePath: example, modelMaxLength: 600 });
    assert.equal(result.findings.filter((f) => f.rule === 'DS-LEN').length, 6);
    assert.equal(lintDatasetText(text, { filePath: example, modelMaxLength: 5000 }).findings.filter((f) => f.rule === 'DS-LEN').length, 0);
  });
});

describe('dataset lint: public examples', () => {
  const expected: Record<string, { format: string; rules: string[] }> = {
    'llamafactory_mllm_demo.json': { format: 'llamafactory', rules: Array(6).fill('DS-IMG-TAG-NONE') },
    'llava_docs_custom_data_example.INVALID_JSON.txt': { format: 'llava', rules: ['DS-JSON', 'DS-JSON'] },
    'minicpmv_readme_multi_image_example.json': { format: 'minicpmv', rules: [] },
    'minicpmv_readme_single_image_example.INVALID_JSON.txt': { format: 'minicpmv', rules: ['DS-JSON', 'DS-JSON'] },
    'qwen1_test_sampled_qwen.json': { format: 'qwen', rules: [] },
    'qwen25_sft_example_data.jsonl': { format: 'messages', rules: [] },
    'qwen3vl_demo_single_images.json': { format: 'qwenvl', rules: [] },
    'qwen3vl_demo_video.json': { format: 'qwenvl', rules: [] },
  };
  for (const [name, want] of Object.entries(expected)) {
    it(`${name}: ${want.format}, ${want.rules.length ? want.rules.join(', ') : 'no findings'}`, async () => {
      const file = path.join(fixtures, name);
      assert.ok(linterFor(file, readFileSync(file, 'utf8').slice(0, 8192)), 'ftw lint picks the dataset linter');
      const result = await lintDatasetFile(file, { checkMediaFiles: false });
      assert.equal(result.format, want.format);
      assert.deepEqual(
        result.findings.map((f) => f.rule),
        want.rules,
        JSON.stringify(result.findings, null, 1),
      );
      // Images of the public examples are not shipped: with the check on, only missing-file findings are added.
      const withFiles = await lintDatasetFile(file);
      assert.ok(withFiles.findings.filter((f) => !want.rules.includes(f.rule)).every((f) => f.rule === 'DS-IMG-FILE'));
    });
  }

  it('points the README pseudo-JSON finding at the first single quote and offers a fix', async () => {
    const file = path.join(fixtures, 'minicpmv_readme_single_image_example.INVALID_JSON.txt');
    const result = await lintDatasetFile(file, { checkMediaFiles: false });
    const [pseudo, trailing] = result.findings;
    // Python: "Expecting value: line 4 column 16 (char 42)"
    assert.deepEqual(pseudo!.range.start, { line: 3, character: 15 });
    assert.ok(pseudo!.fix && 'edits' in pseudo!.fix && pseudo!.fix.edits.length > 10);
    assert.deepEqual(trailing!.range.start, { line: 29, character: 5 });
  });

  it('honours a forced format', () => {
    const text = readFileSync(path.join(fixtures, 'qwen3vl_demo_single_images.json'), 'utf8');
    const result = lintDatasetText(text, { format: 'minicpmv', checkMediaFiles: false });
    assert.equal(result.format, 'minicpmv');
    assert.equal(result.detected, false);
    assert.ok(result.findings.some((f) => f.rule === 'DS-ROLE-KEYS'));
  });
});

describe('dataset lint: format detection', () => {
  it('tells the formats apart by their keys and speakers', () => {
    const conv = (a: string, b: string, k = ['from', 'value']) => [{ [k[0]!]: a, [k[1]!]: 'q' }, { [k[0]!]: b, [k[1]!]: 'a' }];
    assert.equal(detectFormat([{ image: 'a.png', conversations: conv('user', 'assistant', ['role', 'content']) }]), 'minicpmv');
    assert.equal(detectFormat([{ id: '1', image: 'a.png', conversations: conv('human', 'gpt') }]), 'llava');
    assert.equal(detectFormat([{ image: ['a.png', 'b.png'], conversations: conv('human', 'gpt') }]), 'qwenvl');
    assert.equal(detectFormat([{ conversations: conv('human', 'gpt') }]), 'sharegpt');
    assert.equal(detectFormat([{ id: 'identity_0', conversations: conv('user', 'assistant') }]), 'qwen');
    assert.equal(detectFormat([{ messages: conv('user', 'assistant', ['role', 'content']) }]), 'messages');
    assert.equal(detectFormat([{ messages: conv('user', 'assistant', ['role', 'content']), images: ['a.png'] }]), 'llamafactory');
    assert.equal(detectFormat([{ conversations: conv('human', 'gpt'), images: ['a.png'] }]), 'llamafactory');
  });
});

describe('dataset lint: rules', () => {
  const lint = (samples: unknown[], format?: string) => lintDatasetText(JSON.stringify(samples, null, 2), { format, checkMediaFiles: false }).findings;
  const ua = (u: string, a: string) => [
    { role: 'user', content: u },
    { role: 'assistant', content: a },
  ];

  it('MiniCPM-V: first turn user, at least one answer, last turn the answer, alternation', () => {
    const rules = (conversations: unknown[]) => lint([{ image: 'x.png', conversations }], 'minicpmv').map((f) => f.rule).filter((r) => r !== 'DS-IMG-TAG-NONE');
    assert.deepEqual(rules([{ role: 'assistant', content: 'a' }, ...ua('<image>\nq', 'a')]), ['DS-FIRST-USER', 'DS-IMG-TAG-LATER']);
    assert.deepEqual(rules([{ role: 'user', content: '<image>\nq' }, ...ua('q', 'a')]), ['DS-ALTERNATION']);
    assert.deepEqual(rules([{ role: 'user', content: '<image>\nq' }]), ['DS-MIN-TURNS']);
    assert.deepEqual(rules([...ua('<image>\nq', 'a'), { role: 'user', content: 'more?' }]), ['DS-LAST-ASSISTANT']);
    assert.deepEqual(rules([{ role: 'system', content: 's' }, ...ua('<image>\nq', 'a')]), ['DS-FIRST-USER', 'DS-ROLE-VALUES', 'DS-IMG-TAG-LATER']);
  });

  it('MiniCPM-V: image tags, reserved tokens, missing image', () => {
    assert.deepEqual(
      lint([{ image: 'x.png', conversations: ua('<image><image>q', 'a </image>') }]).map((f) => f.rule),
      ['DS-IMG-TAG-DUP', 'DS-RESERVED'],
    );
    assert.deepEqual(lint([{ image: 'x.png', conversations: ua('q', 'a') }], 'minicpmv').map((f) => [f.rule, f.severity]), [['DS-IMG-TAG-NONE', 'info']]);
    assert.deepEqual(lint([{ conversations: ua('q', 'a') }], 'minicpmv').map((f) => f.rule), ['DS-IMG-MISSING']);
    assert.deepEqual(lint([{ image: 42, conversations: ua('q', 'a') }], 'minicpmv').map((f) => f.rule), ['DS-SCHEMA']);
    assert.deepEqual(lint([{ image: { '<image_00>': 'a.png' }, conversations: ua('<image_00><image>', 'a') }]).map((f) => f.rule), ['DS-RESERVED']);
  });

  it('MiniCPM-V: DS-THINK marks thinking data, at the <think> tag; nothing without both tags', () => {
    const samples = [{ image: 'x.png', conversations: ua('<image>\nq', 'x <think>why</think> so') }];
    const text = JSON.stringify(samples, null, 2);
    const findings = lintDatasetText(text, { checkMediaFiles: false }).findings;
    assert.deepEqual(findings.map((f) => [f.rule, f.severity]), [['DS-THINK', 'info']]);
    assert.equal(textAt(text, findings[0]!), '<think>');
    assert.deepEqual(lint([{ image: 'x.png', conversations: ua('<image>\nq', 'x <think>why') }]).map((f) => f.rule), []);
    assert.deepEqual(lint([{ image: 'x.png', conversations: ua('<image>\nq', 'x </think><think>') }]).map((f) => f.rule), []);
    // Only the last message counts.
    assert.deepEqual(lint([{ image: 'x.png', conversations: [...ua('<image>\nq', '<think>a</think>b'), ...ua('q2', 'b')] }]).map((f) => f.rule), []);
  });

  it('MiniCPM-V: DS-MULTI-MODEL when the model is known and cannot take several images', async () => {
    assert.equal(modelSupportsMultiImage('openbmb/MiniCPM-Llama3-V-2_5'), false);
    assert.equal(modelSupportsMultiImage('/models/MiniCPM-V-2'), false);
    assert.equal(modelSupportsMultiImage('openbmb/MiniCPM-V-2_6'), true);
    assert.equal(modelSupportsMultiImage('openbmb/MiniCPM-o-2_6'), true);
    assert.equal(modelSupportsMultiImage('openbmb/MiniCPM-V-4_5'), true);
    assert.equal(modelSupportsMultiImage('./output/checkpoint-1000'), undefined);
    const multi = { image: { '<image_00>': 'a.png', '<image_01>': 'b.png' }, conversations: ua('<image_00>\n<image_01>\nq', 'a') };
    const single = { image: 'a.png', conversations: ua('<image>\nq', 'a') };
    const text = JSON.stringify([single, multi], null, 2);
    const rules = (model?: string) => lintDatasetText(text, { model, checkMediaFiles: false }).findings.map((f) => [f.rule, f.sample]);
    assert.deepEqual(rules('openbmb/MiniCPM-Llama3-V-2_5'), [['DS-MULTI-MODEL', 1]]);
    const finding = lintDatasetText(text, { model: 'openbmb/MiniCPM-Llama3-V-2_5', checkMediaFiles: false }).findings[0]!;
    assert.equal(textAt(text, finding), '"image"');
    assert.match(finding.message, /2 images in one sample, but MiniCPM-Llama3-V-2_5 cannot/);
    assert.deepEqual(rules('openbmb/MiniCPM-V-2_6'), []);
    assert.deepEqual(rules(undefined), []);
    assert.deepEqual(rules('./output/checkpoint-1000'), []);
    // Through the CLI.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-multi-'));
    writeFileSync(path.join(dir, 'd.json'), text);
    const io = bufferIo(dir);
    assert.equal(await runCli(['lint', '--no-media-check', '--model', 'openbmb/MiniCPM-Llama3-V-2_5', 'd.json'], io), 1);
    assert.match(io.out, /^d\.json:\d+:\d+ error DS-MULTI-MODEL /);
  });

  it('Qwen-VL: placeholder count equals the number of files, no tags in answers', () => {
    const conv = (u: string, a: string) => [
      { from: 'human', value: u },
      { from: 'gpt', value: a },
    ];
    const rules = (sample: object) => lint([sample], 'qwenvl').map((f) => f.rule);
    assert.deepEqual(rules({ image: ['a.png', 'b.png'], conversations: conv('<image><image>q', 'a') }), []);
    assert.deepEqual(rules({ image: ['a.png', 'b.png'], conversations: conv('<image>q', 'a') }), ['QVL-COUNT']);
    assert.deepEqual(rules({ image: 'a.png', conversations: conv('<image>q', '<image>') }), ['QVL-COUNT']);
    assert.deepEqual(rules({ images: ['a.png'], conversations: conv('<image>q', 'a') }), ['QVL-IMAGES-KEY']);
  });

  it('Qwen (1st gen): from is user/assistant (QWEN1-ROLE, with a fix), inline <img> files are checked at their span', async () => {
    const conv = (u: string, a: string, from = 'user') => [
      { from, value: u },
      { from: 'assistant', value: a },
    ];
    const human = lint([{ id: 'identity_0', conversations: conv('q', 'a', 'human') }], 'qwen');
    assert.deepEqual(human.map((f) => f.rule), ['QWEN1-ROLE']);
    assert.equal(human[0]!.severity, 'error');
    assert.match(human[0]!.message, /use "user"/);
    assert.ok(human[0]!.fix && 'edits' in human[0]!.fix);
    assert.deepEqual(lint([{ conversations: conv('q', 'a') }], 'qwen'), []);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-qwenvl1-'));
    writeFileSync(path.join(dir, 'here.png'), readFileSync(path.join(root, 'examples/minicpm-v-lora/data/images/cat.png')));
    const value = 'Picture 1: <img>here.png</img>\nPicture 2: <img>missing.jpg</img>\nPicture 3: <img>https://example.com/x.png</img>\nWhat differs?';
    const text = JSON.stringify([{ id: 'identity_0', conversations: conv(value, 'a') }], null, 2);
    const file = path.join(dir, 'qwenvl1.json');
    writeFileSync(file, text);
    const result = await lintDatasetFile(file, { collectSamples: true });
    assert.equal(result.format, 'qwen');
    assert.deepEqual(result.findings.map((f) => f.rule), ['DS-IMG-FILE']);
    assert.equal(textAt(text, result.findings[0]!), 'missing.jpg');
    assert.match(result.findings[0]!.message, /"missing\.jpg" does not exist/);
  });

  it('LLaVA: human/gpt only and strict alternation', () => {
    const rules = lint([{ id: '1', image: 'a.png', conversations: [{ from: 'human', value: '<image>q' }, { from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }] }], 'llava').map((f) => f.rule);
    assert.deepEqual(rules, ['LLAVA-ALT']);
    assert.deepEqual(lint([{ id: '1', conversations: [{ from: 'user', value: 'q' }, { from: 'gpt', value: 'a' }] }], 'llava').map((f) => f.rule), ['LLAVA-ALT']);
  });

  it('messages: a leading system turn is fine, a JSON array gets the JSONL hint', () => {
    const findings = lint([{ messages: [{ role: 'system', content: 's' }, ...ua('q', 'a')] }], 'messages');
    assert.deepEqual(findings.map((f) => f.rule), ['QWEN25-JSONL']);
  });
});

describe('dataset lint: scanner and positions', () => {
  it('reports UTF-16 characters after CJK and astral characters', () => {
    const text = '[{"id": "😀中", "image": "x.png", "conversations": [{"role": "user", "content": "<image>"}, {"role": "gpt", "content": "a"}]}]';
    const [finding] = lintDatasetText(text, { checkMediaFiles: false }).findings;
    assert.equal(finding!.rule, 'DS-ROLE-VALUES');
    assert.equal(text.slice(finding!.range.start.character, finding!.range.end.character), '"gpt"');
  });

  it('splits JSON Lines with CRLF and positions findings on the right line', () => {
    const line = (role: string) => JSON.stringify({ messages: [{ role, content: 'q' }, { role: 'assistant', content: 'a' }] });
    const text = `${line('user')}\r\n\r\n${line('human')}\r\n`;
    const result = lintDatasetText(text, { checkMediaFiles: false });
    assert.equal(result.container, 'jsonl');
    assert.equal(result.samples, 2);
    assert.deepEqual(result.findings.map((f) => [f.rule, f.range.start.line, f.sample]), [['DS-ROLE-VALUES', 2, 1]]);
  });

  it('reports a BOM, a missing comma, an extra comma and truncation with positions', () => {
    const s = JSON.stringify({ image: 'x.png', conversations: [{ role: 'user', content: '<image>' }, { role: 'assistant', content: 'a' }] });
    const result = lintDatasetText(`\uFEFF[\n${s}\n${s},,\n${s}`, { checkMediaFiles: false });
    const json = result.findings.filter((f) => f.rule === 'DS-JSON').map((f) => [f.message.split(' ').slice(0, 3).join(' '), f.range.start.line, f.range.start.character]);
    assert.deepEqual(json, [
      ['The file starts', 0, 0],
      ['Missing comma between', 2, 0],
      ['Extra comma: no', 2, s.length + 1],
      ['The file ends', 3, s.length],
    ]);
  });

  it('lints in slices (the worker can take edits in between) with the same findings as in one piece, multibyte text included', async () => {
    const text = readFileSync(example, 'utf8').replace('"user"', '"human"').replace('Which', 'Welches 图 😀');
    const whole = lintDatasetText(text, { checkMediaFiles: false });
    assert.ok(whole.findings.length > 0);
    for (const sliceBytes of [1, 3, 17, 1000]) {
      assert.deepEqual(await lintDatasetTextInSlices(text, { checkMediaFiles: false, sliceBytes }), whole, `slices of ${sliceBytes} bytes`);
    }
    const controller = new AbortController();
    controller.abort(new Error('superseded'));
    await assert.rejects(lintDatasetTextInSlices(text, { checkMediaFiles: false, sliceBytes: 100, signal: controller.signal }), /superseded/);
  });

  it('streams: the same samples whatever the chunk size', () => {
    const text = readFileSync(example, 'utf8');
    const view = (samples: RawSample[]) => samples.map((s) => ({ index: s.index, text: s.text, start: s.start, byteOffset: s.byteOffset }));
    const whole = new SampleSplitter();
    const expected = view([...whole.push(Buffer.from(text)), ...whole.end()]);
    for (const size of [1, 7, 64]) {
      const splitter = new SampleSplitter();
      const samples: RawSample[] = [];
      const bytes = Buffer.from(text);
      // Read texts at once: the bytes of a sample are only valid until the next push.
      const take = (batch: RawSample[]) => {
        for (const s of batch) void s.text;
        samples.push(...batch);
      };
      for (let i = 0; i < bytes.length; i += size) take(splitter.push(bytes.subarray(i, i + size)));
      take(splitter.end());
      assert.deepEqual(view(samples), expected);
    }
  });

  it('reports oversized samples instead of holding them', () => {
    const big = JSON.stringify({ image: 'x.png', conversations: [{ role: 'user', content: 'x'.repeat(5000) }] });
    const result = lintDatasetText(`[${big},\n${big}]`, { maxSampleBytes: 1000, checkMediaFiles: false });
    assert.deepEqual(result.findings.map((f) => [f.rule, f.range.start.line]), [
      ['DS-JSON', 0],
      ['DS-JSON', 1],
    ]);
    assert.match(result.findings[0]!.message, /larger than/);
  });

  it('says a binary file is not a dataset', () => {
    const result = lintDatasetText('\u0000\u0001PK\u0003', { checkMediaFiles: false });
    assert.equal(result.container, 'invalid');
    assert.match(result.findings[0]!.message, /binary/);
  });
});

describe('ftw lint on datasets', () => {
  it('prints the JSON contract in file order with 0-based positions, exit 1 on errors', async () => {
    const io = bufferIo(root);
    const code = await runCli(['lint', '--json', 'examples/minicpm-v-lora/data/train.json'], io);
    assert.equal(code, 1);
    const findings = JSON.parse(io.out) as { file: string; rule: string; range: { start: { line: number; character: number } } }[];
    assert.equal(findings.length, 11);
    assert.deepEqual(Object.keys(findings[0]!), ['file', 'rule', 'severity', 'message', 'range']);
    assert.deepEqual(findings[0]!.range.start, { line: 13, character: 7 });
  });

  it('prints file:line:col severity rule message and exits 0 on a clean dataset', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ftw-ds-'));
    const file = path.join(dir, 'clean.jsonl');
    writeFileSync(file, `${JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] })}\n`);
    const io = bufferIo(dir);
    assert.equal(await runCli(['lint', 'clean.jsonl'], io), 0);
    assert.equal(io.out, '');
    const bad = bufferIo(root);
    await runCli(['lint', 'examples/minicpm-v-lora/data/train.json', '--format', 'minicpmv'], bad);
    assert.match(bad.out.split('\n')[0]!, /^examples\/minicpm-v-lora\/data\/train\.json:14:8 error DS-ROLE-KEYS /);
  });
});

describe('dataset lint: the clean-sample fast path', () => {
  it('never calls a sample clean that the schema or the full rules would flag', () => {
    const validate = sampleValidator('minicpmv');
    // Clean samples, then up to two mutations each: the fast path must reject every mutated one the rules flag.
    const mutations = ['roleSwap', 'dropTurn', 'emptyText', 'spaceText', 'ideographicSpace', 'extraTag', 'reserved', 'unknownKey', 'unusedKey', 'badKeyName', 'video', 'fromNumber', 'contentNumber', 'idDouble', 'imageEmpty', 'tagLater', 'noTag', 'system', 'literalImageInMulti'] as const;
    const sample = fc
      .record({
        pairs: fc.integer({ min: 1, max: 3 }),
        multi: fc.boolean(),
        words: fc.array(fc.string({ minLength: 1, maxLength: 6 }).map((w) => w.replace(/[<\s]/g, 'x') || 'x'), { minLength: 6, maxLength: 6 }),
        id: fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.constant(undefined)),
        mutate: fc.array(fc.constantFrom(...mutations), { maxLength: 2 }),
      })
      .map(({ pairs, multi, words, id, mutate }) => {
        const image: Record<string, unknown> | string = multi ? { '<image_00>': 'a.png', '<image_01>': 'b.png' } : 'x.png';
        const tags = multi ? '<image_00>\n<image_01>\n' : '<image>\n';
        const conversations: Record<string, unknown>[] = [];
        for (let p = 0; p < pairs; p++) {
          conversations.push({ role: 'user', content: `${p === 0 ? tags : ''}${words[p * 2]}` }, { role: 'assistant', content: words[p * 2 + 1] });
        }
        const s: Record<string, unknown> = { image, conversations };
        if (id !== undefined) s.id = id;
        const last = conversations[conversations.length - 1]!;
        for (const m of mutate) {
          if (m === 'roleSwap') conversations[0]!.role = 'assistant';
          if (m === 'dropTurn') conversations.pop();
          if (m === 'emptyText') last.content = '';
          if (m === 'spaceText') last.content = ' ';
          if (m === 'ideographicSpace') last.content = '\u3000';
          if (m === 'extraTag') conversations[0]!.content = `${conversations[0]!.content as string}<image>`;
          if (m === 'reserved') last.content = `${last.content as string}</image>`;
          if (m === 'unknownKey') conversations[0]!.content = `${conversations[0]!.content as string}<image_05>`;
          if (m === 'unusedKey' && typeof s.image === 'object') (s.image as Record<string, string>)['<image_02>'] = 'c.png';
          if (m === 'badKeyName' && typeof s.image === 'object') (s.image as Record<string, string>)['<image_1>'] = 'c.png';
          if (m === 'video') s.video = 'v.mp4';
          if (m === 'fromNumber') last.from = 7;
          if (m === 'contentNumber') last.content = 7;
          if (m === 'idDouble') s.id = 1.5;
          if (m === 'imageEmpty') s.image = '';
          if (m === 'tagLater') last.content = `<image>${String(last.content)}`;
          if (m === 'noTag') conversations[0]!.content = 'q';
          if (m === 'system') conversations.unshift({ role: 'system', content: 's' });
          if (m === 'literalImageInMulti' && typeof s.image === 'object') conversations[0]!.content = `<image>${String(conversations[0]!.content)}`;
        }
        return s;
      });
    let clean = 0;
    fc.assert(
      fc.property(sample, (s) => {
        if (!cleanMiniCpmFacts(s)) return;
        clean++;
        assert.ok(validate(s), JSON.stringify(validate.errors));
        assert.deepEqual(checkSample(s, 'minicpmv', { modelMaxLength: 0 }).issues, []);
      }),
      { numRuns: 5000 },
    );
    // The property must not hold vacuously.
    assert.ok(cleanMiniCpmFacts({ image: { '<image_00>': 'a.png', '<image_01>': 'b.png' }, conversations: [{ role: 'user', content: 'x<image_01><image_00>' }, { role: 'assistant', content: 'a' }] }));
    assert.ok(clean > 50, `only ${clean} generated samples were clean`);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FixableFinding } from '../../../src/core/lint/fixes';
import { isQwen1Model } from '../../../src/core/python/peft';
import { findQuantizationCalls } from '../../../src/core/python/quantization';
import { findRequirement, rangeMeets, specifierRange } from '../../../src/core/python/requirements';

const adapterConfig = (base: string | null) => JSON.stringify({ base_model_name_or_path: base, peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 64 });

/** A workspace like Qwen's after finetune_lora_ds.sh: output_qwen/ holds the adapter and the tokenizer Trainer saved. */
const qwenWorkspace: Record<string, string> = {
  '/ws/output_qwen/adapter_config.json': adapterConfig('Qwen/Qwen-7B-Chat'),
  '/ws/output_qwen/tokenizer_config.json': '{"tokenizer_class": "QWenTokenizer", "auto_map": {"AutoTokenizer": ["tokenization_qwen.QWenTokenizer", null]}}',
};

/** The Qwen README's loading snippet, with the adapter path and keywords to vary. */
function readmeSnippet(adapter = '"output_qwen"', keywords = 'device_map="auto", trust_remote_code=True'): string {
  return ['from peft import AutoPeftModelForCausalLM', '', `model = AutoPeftModelForCausalLM.from_pretrained(`, `    ${adapter},`, `    ${keywords}`, ').eval()', ''].join('\n');
}

/** `filePath` null: a text with no file (nothing next to it is read). */
async function lint(text: string, files: Record<string, string> = {}, filePath: string | null = '/ws/infer.py', baseDir?: string): Promise<FixableFinding[]> {
  const all = { ...qwenWorkspace, ...files };
  const { findings } = await findQuantizationCalls(text, { filePath: filePath ?? undefined, baseDir, readText: (p) => all[p] });
  return findings.filter((f) => f.rule === 'QWEN-PEFT-TOKENIZER');
}

function covered(text: string, f: FixableFinding): string {
  const lines = text.split('\n');
  assert.equal(f.range.start.line, f.range.end.line);
  return lines[f.range.start.line].slice(f.range.start.character, f.range.end.character);
}

describe('QWEN-PEFT-TOKENIZER (Qwen-1 adapters loaded with peft >= 0.8.0)', () => {
  it("the README snippet with requirements.txt pinning peft 0.8.2: a warning on the call naming the error and the README's fixes", async () => {
    const text = readmeSnippet();
    const [f, ...rest] = await lint(text, { '/ws/requirements.txt': 'transformers==4.32.0\npeft==0.8.2\n' });
    assert.equal(rest.length, 0);
    assert.equal(f.severity, 'warning');
    assert.equal(covered(text, f), 'AutoPeftModelForCausalLM.from_pretrained');
    assert.match(f.message, /"output_qwen" is a Qwen \(1st gen\) adapter \(base_model_name_or_path "Qwen\/Qwen-7B-Chat" in its adapter_config\.json\)/);
    assert.match(f.message, /peft 0\.8\.x loads the tokenizer saved in the adapter folder \(it has tokenizer_config\.json\) without trust_remote_code/);
    assert.match(f.message, /"ValueError: Tokenizer class QWenTokenizer does not exist or is not currently imported\."/);
    assert.match(f.message, /requirements\.txt line 2 asks for peft==0\.8\.2/);
    assert.match(f.message, /Pin peft<0\.8\.0 \(Qwen README\) or peft>=0\.9\.0, or move the tokenizer files out of the adapter folder/);
    assert.equal(f.fixes, undefined, 'a version pin is not an edit of this file');
  });

  it('the peft version decides: <0.8.0 and (with trust_remote_code=True) >=0.9.0 are fine; without trust_remote_code every peft >= 0.8 fails', async () => {
    const trusted = readmeSnippet();
    const untrusted = readmeSnippet('"output_qwen"', 'device_map="auto"');
    const req = (spec: string) => ({ '/ws/requirements.txt': `${spec}\n` });
    for (const spec of ['peft<0.8.0', 'peft==0.7.1', 'peft~=0.7.0', 'peft>=0.5,<0.8']) {
      assert.deepEqual(await lint(trusted, req(spec)), [], spec);
      assert.deepEqual(await lint(untrusted, req(spec)), [], `${spec} without trust_remote_code: the tokenizer is not loaded at all`);
    }
    for (const spec of ['peft>=0.9', 'peft==0.10.0', 'peft==0.9.*']) {
      assert.deepEqual(await lint(trusted, req(spec)), [], spec);
      const [f] = await lint(untrusted, req(spec));
      assert.equal(f?.severity, 'warning', `${spec} without trust_remote_code`);
      assert.match(f.message, /peft 0\.8\.0 and newer load .* and this call does not pass trust_remote_code=True.*Pass trust_remote_code=True with peft>=0\.9\.0/);
    }
    for (const spec of ['peft>=0.8', 'peft==0.8.*', 'peft', 'peft>=0.5']) assert.equal((await lint(trusted, req(spec)))[0]?.severity, 'warning', spec);
  });

  it('an unknown peft version: a warning without trust_remote_code=True, a note (info) with it', async () => {
    assert.equal((await lint(readmeSnippet('"output_qwen"', 'device_map="auto"')))[0]?.severity, 'warning');
    const [note] = await lint(readmeSnippet());
    assert.equal(note?.severity, 'info');
    assert.match(note.message, /no requirements\.txt at or above this folder names peft, so its version is not known/);
    const url = await lint(readmeSnippet(), { '/ws/requirements.txt': 'peft @ git+https://github.com/huggingface/peft\n' });
    assert.equal(url[0]?.severity, 'info');
    assert.match(url[0].message, /asks for peft @ git\+https:\/\/github\.com\/huggingface\/peft, which does not say the version/);
  });

  it('requirements.txt above the file, relative adapter paths from the base folder, the adapter from a variable', async () => {
    const text = 'from peft import AutoPeftModelForCausalLM\nadapter_dir = "output_qwen"\nmodel = AutoPeftModelForCausalLM.from_pretrained(adapter_dir, trust_remote_code=True)\n';
    const [f] = await lint(text, { '/requirements.txt': 'peft==0.8.0\n', '/ws/requirements.txt': 'torch\n' }, '/ws/scripts/infer.py', '/ws');
    assert.equal(f?.severity, 'warning');
    assert.match(f.message, /\.\.\/\.\.\/requirements\.txt line 1 asks for peft==0\.8\.0/);
    assert.match(f.message, /"output_qwen" is a Qwen \(1st gen\) adapter/);
    assert.deepEqual(await lint(text, { '/ws/scripts/requirements.txt': 'peft<0.8\n', '/requirements.txt': 'peft==0.8.0\n' }, '/ws/scripts/infer.py', '/ws'), [], 'the nearest file that names peft wins');
    const kw = 'import peft\nmodel = peft.AutoPeftModelForCausalLM.from_pretrained(pretrained_model_name_or_path="output_qwen")\n';
    assert.match((await lint(kw))[0]?.message ?? '', /^AutoPeftModelForCausalLM\.from_pretrained: "output_qwen" is a Qwen \(1st gen\) adapter/);
  });

  it('without an adapter config to read: a Qwen-1 name as the argument, or a Qwen-1 model the file loads elsewhere', async () => {
    const byName = await lint(readmeSnippet('"someone/Qwen-14B-Chat-lora"'), {}, null);
    assert.match(byName[0]?.message ?? '', /"someone\/Qwen-14B-Chat-lora" names a Qwen \(1st gen\) model.*peft's version is not known/);
    const elsewhere = [
      'tokenizer = AutoTokenizer.from_pretrained("Qwen/Qwen-VL-Chat", trust_remote_code=True)',
      'model = AutoPeftModelForCausalLM.from_pretrained(args.adapter, device_map="auto", trust_remote_code=True)',
      '',
    ].join('\n');
    assert.match((await lint(elsewhere))[0]?.message ?? '', /this file works with the Qwen \(1st gen\) model "Qwen\/Qwen-VL-Chat", so args\.adapter is presumably its adapter/);
  });

  it('no finding: adapters of Qwen1.5/2/2.5, an adapter folder without tokenizer files, PeftModel.from_pretrained, files with no Qwen-1 model', async () => {
    assert.deepEqual(await lint(readmeSnippet(), { '/ws/output_qwen/adapter_config.json': adapterConfig('Qwen/Qwen2.5-7B-Instruct') }), []);
    const noTokenizer = { ...qwenWorkspace };
    delete noTokenizer['/ws/output_qwen/tokenizer_config.json'];
    const { findings } = await findQuantizationCalls(readmeSnippet(), { filePath: '/ws/infer.py', readText: (p) => noTokenizer[p] });
    assert.deepEqual(findings, [], 'peft loads a tokenizer only when the adapter folder has tokenizer_config.json');
    const peftModel = 'base = AutoModelForCausalLM.from_pretrained("Qwen/Qwen-7B-Chat", trust_remote_code=True)\nmodel = PeftModel.from_pretrained(base, "output_qwen")\n';
    assert.deepEqual(await lint(peftModel), [], 'PeftModel.from_pretrained loads no tokenizer');
    for (const name of ['Qwen/Qwen1.5-7B-Chat-lora', 'Qwen/Qwen2-VL-7B-Instruct', 'out/qwen2.5-lora']) assert.deepEqual(await lint(readmeSnippet(`"${name}"`), {}, null), [], name);
    assert.deepEqual(await lint('model = AutoPeftModelForCausalLM.from_pretrained(args.adapter)\n', {}, null), [], 'nothing says Qwen-1');
  });

  it('isQwen1Model: Qwen (1st gen) names only', () => {
    for (const name of ['Qwen/Qwen-7B', 'Qwen/Qwen-7B-Chat-Int4', 'Qwen/Qwen-1_8B-Chat', '/models/Qwen-72B-Chat', 'Qwen/Qwen-VL-Chat', 'Qwen/Qwen-Audio-Chat', 'qwen-14b'])
      assert.ok(isQwen1Model(name), name);
    for (const name of ['Qwen/Qwen1.5-7B-Chat', 'Qwen/Qwen2-7B', 'Qwen/Qwen2.5-VL-7B-Instruct', 'Qwen/Qwen3-8B', 'openbmb/MiniCPM-V-2_6', 'output_qwen', 'MyQwen-7B'])
      assert.ok(!isQwen1Model(name), name);
  });
});

describe('requirements.txt specifiers', () => {
  it('reads the peft line: extras, markers, comments, hashes; not other packages', () => {
    assert.deepEqual(findRequirement('# peft==0.1\ntorch>=2\npeft[test] >= 0.9 ; python_version > "3.8"  # pinned\n', 'peft'), { text: 'peft[test] >= 0.9 ; python_version > "3.8"', line: 3, range: { lower: { version: '0.9', inclusive: true } } });
    assert.equal(findRequirement('peft-extras==1.0\npefty\n', 'peft'), undefined);
    assert.deepEqual(findRequirement('peft==0.8.2 --hash=sha256:abc\n', 'peft')?.range, { lower: { version: '0.8.2', inclusive: true }, upper: { version: '0.8.2', inclusive: true } });
    assert.deepEqual(findRequirement('PEFT\n', 'peft')?.range, {}, 'unpinned: any version');
    assert.equal(findRequirement('peft @ https://example.org/peft.whl\n', 'peft')?.range, undefined);
  });

  it('specifier intervals and whether they reach [0.8.0, 0.9.0)', () => {
    const meets = (spec: string, below?: string) => rangeMeets(specifierRange(spec)!, '0.8.0', below);
    const table: Array<[string, boolean, boolean]> = [
      // spec, reaches [0.8.0, 0.9.0), reaches [0.8.0, ∞)
      ['<0.8.0', false, false],
      ['<=0.8.0', true, true],
      ['<0.8', false, false],
      ['==0.8.2', true, true],
      ['==0.8.*', true, true],
      ['==0.7.*', false, false],
      ['~=0.7.1', false, false],
      ['~=0.8', true, true],
      ['>=0.9.0', false, true],
      ['>0.8.2,<0.9', true, true],
      ['>=0.9,<0.8', false, false],
      ['!=0.8.0', true, true],
    ];
    for (const [spec, inEight, fromEight] of table) {
      assert.equal(meets(spec, '0.9.0'), inEight, `${spec} within [0.8.0, 0.9.0)`);
      assert.equal(meets(spec), fromEight, `${spec} from 0.8.0`);
    }
    assert.equal(specifierRange('>=banana'), undefined);
  });
});

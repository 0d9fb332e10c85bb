import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findQuantizationCalls } from '../../../src/core/python/quantization';

describe('Python quantization lint (tree-sitter-python)', () => {
  it('Q-8BIT-HALFCHAR: MiniCPM-V loaded 8-bit without skipping the resampler projections; fix adds the list', async () => {
    const text = [
      'from transformers import AutoModel, BitsAndBytesConfig',
      'q = BitsAndBytesConfig(load_in_8bit=True)',
      "model = AutoModel.from_pretrained('openbmb/MiniCPM-V-2_6', quantization_config=q, trust_remote_code=True)",
    ].join('\n');
    const { calls, findings } = await findQuantizationCalls(text);
    assert.deepEqual(calls.map((c) => c.callee), ['BitsAndBytesConfig', 'from_pretrained']);
    assert.equal(findings.length, 1);
    assert.equal(findings[0].rule, 'Q-8BIT-HALFCHAR');
    assert.equal(findings[0].range.start.line, 1);
    const edit = findings[0].fixes![0].edits[0];
    assert.deepEqual(edit.range.start, { line: 1, character: 40 });
    assert.equal(edit.newText, ", llm_int8_skip_modules=['out_proj', 'kv_proj', 'lm_head']");
  });

  it('accepts configs that skip out_proj and kv_proj, 4-bit configs, and non-MiniCPM models', async () => {
    const ok = "m='openbmb/MiniCPM-V-2_6'\nq = BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=[\"out_proj\", \"kv_proj\", \"lm_head\"])\n";
    assert.deepEqual((await findQuantizationCalls(ok)).findings, []);
    assert.deepEqual((await findQuantizationCalls("m='openbmb/MiniCPM-V-2_6'\nq = BitsAndBytesConfig(load_in_4bit=True)\n")).findings, []);
    assert.deepEqual((await findQuantizationCalls("m='Qwen/Qwen2.5-7B'\nq = BitsAndBytesConfig(load_in_8bit=True)\n")).findings, []);
  });

  it('fixes a partial skip list in place, and warns about .to() on a quantized model (Q-TO)', async () => {
    const text = "m = 'openbmb/MiniCPM-Llama3-V-2_5'\nmodel = AutoModel.from_pretrained(m, load_in_8bit=True, llm_int8_skip_modules=['lm_head'])\nmodel.to('cuda')\n";
    const { findings } = await findQuantizationCalls(text);
    assert.deepEqual(findings.map((f) => f.rule), ['Q-8BIT-HALFCHAR', 'Q-TO']);
    assert.equal(findings[0].fixes![0].edits[0].newText, "['out_proj', 'kv_proj', 'lm_head']");
    assert.equal(findings[1].range.start.line, 2);
  });

  it('Q-BNB-PLATFORM: BitsAndBytesConfig / load_in_4bit on macOS or without CUDA; silent on Linux+CUDA or an unknown platform', async () => {
    const text = "from transformers import BitsAndBytesConfig\nq = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4')\nm = AutoModel.from_pretrained('Qwen/Qwen2.5-7B', load_in_8bit=True)\n";
    const mac = (await findQuantizationCalls(text, { platform: { os: 'darwin' } })).findings.filter((f) => f.rule === 'Q-BNB-PLATFORM');
    assert.deepEqual(mac.map((f) => [f.severity, f.range.start.line, f.range.start.character, f.range.end.character]), [['error', 1, 4, 22], ['error', 2, 4, 29]]);
    assert.match(mac[0].message, /^BitsAndBytesConfig needs bitsandbytes.*macOS/);
    assert.match(mac[1].message, /^from_pretrained\(\.\.\., load_in_8bit=True\)/);
    assert.equal((await findQuantizationCalls(text, { platform: { os: 'linux', cuda: false } })).findings[0]?.rule, 'Q-BNB-PLATFORM');
    assert.deepEqual((await findQuantizationCalls(text, { platform: { os: 'linux', cuda: true } })).findings, []);
    assert.deepEqual((await findQuantizationCalls(text)).findings, []);
    const gptq = "from transformers import GPTQConfig\nm = AutoModel.from_pretrained('Qwen/Qwen-7B-Chat-Int4', quantization_config=GPTQConfig(bits=4, disable_exllama=True))\n";
    assert.deepEqual((await findQuantizationCalls(gptq, { platform: { os: 'darwin' } })).findings, [], 'GPTQ is not bitsandbytes');
  });

  it('Q-8BIT-CC: 8-bit bitsandbytes on a GPU under compute capability 7.5 (slow int8 matmul); silent for 4-bit, for 7.5+ and without GPU facts', async () => {
    const text = "from transformers import BitsAndBytesConfig\nq8 = BitsAndBytesConfig(load_in_8bit=True)\nq4 = BitsAndBytesConfig(load_in_4bit=True)\nm = AutoModel.from_pretrained('Qwen/Qwen2.5-7B', load_in_8bit=True)\n";
    const v100 = { name: 'Tesla V100-SXM2-32GB', memoryGiB: 32, computeCapability: '7.0', count: 8 };
    const found = (await findQuantizationCalls(text, { gpu: v100, gpuSource: 'setting finetuneWorkbench.gpu.default' })).findings.filter((f) => f.rule === 'Q-8BIT-CC');
    // The load_in_8bit=True keyword of each 8-bit call, not the 4-bit one.
    assert.deepEqual(found.map((f) => [f.severity, f.range.start.line, f.range.start.character, f.range.end.character]), [['warning', 1, 24, 41], ['warning', 3, 49, 66]]);
    assert.match(found[0].message, /Tesla V100-SXM2-32GB, compute capability 7\.0 \(setting finetuneWorkbench\.gpu\.default\).*Only slow 8-bit matmul.*load_in_4bit=True/);
    const t4 = { name: 'Tesla T4', memoryGiB: 16, computeCapability: '7.5', count: 1 };
    assert.deepEqual((await findQuantizationCalls(text, { gpu: t4 })).findings.filter((f) => f.rule === 'Q-8BIT-CC'), []);
    assert.deepEqual((await findQuantizationCalls(text)).findings.filter((f) => f.rule === 'Q-8BIT-CC'), []);
    const only4bit = "q = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4')\n";
    assert.deepEqual((await findQuantizationCalls(only4bit, { gpu: v100 })).findings, []);
  });

  it('QWEN-GPTQ-MERGE: merge_and_unload() where the base is a Qwen GPTQ Int4 checkpoint; fine for bf16 and MiniCPM bnb int4', async () => {
    const merge = (model: string) => `from peft import AutoPeftModelForCausalLM\nbase = '${model}'\nmodel = AutoPeftModelForCausalLM.from_pretrained('output_qwen', device_map='auto')\nmerged = model.merge_and_unload()\n`;
    // These Qwen-1 loads also meet QWEN-PEFT-TOKENIZER (peft.test.ts); this test is about merging.
    const mergeFindings = async (text: string) => (await findQuantizationCalls(text)).findings.filter((f) => f.rule !== 'QWEN-PEFT-TOKENIZER');
    const findings = await mergeFindings(merge('Qwen/Qwen-7B-Chat-Int4'));
    assert.deepEqual(findings.map((f) => [f.rule, f.severity, f.range.start.line, f.range.start.character, f.range.end.character]), [['QWEN-GPTQ-MERGE', 'error', 3, 15, 31]]);
    assert.match(findings[0].message, /Qwen\/Qwen-7B-Chat-Int4.*Cannot merge LORA layers when the model is gptq quantized/);
    assert.equal((await mergeFindings(merge('Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4')))[0]?.rule, 'QWEN-GPTQ-MERGE');
    assert.deepEqual(await mergeFindings(merge('Qwen/Qwen-7B-Chat')), []);
    assert.deepEqual(await mergeFindings(merge('openbmb/MiniCPM-V-2_6-int4')), []);
  });
});

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
});

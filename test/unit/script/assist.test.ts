import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { flagCompletions, hoverAt } from '../../../src/core/script/assist';
import { lintShellScript } from '../../../src/core/script/rules';

const example = path.resolve(__dirname, '..', '..', '..', '..', 'examples', 'minicpm-v-lora');
const text = readFileSync(path.join(example, 'finetune_lora.sh'), 'utf8');
const lines = text.split('\n');
const at = (needle: string, offset = 2) => {
  const line = lines.findIndex((l) => l.includes(needle));
  return { line, character: lines[line].indexOf(needle) + offset };
};

describe('script hovers and completion', () => {
  it('hovers a flag with its meaning, default, allowed values and source', async () => {
    const result = await lintShellScript(text, { launchDir: example });
    const hover = hoverAt(result, at('--tune_llm'))!;
    assert.match(hover.markdown, /\*\*--tune_llm\*\* `bool`/);
    assert.match(hover.markdown, /Must be false with --use_lora true/);
    assert.match(hover.markdown, /Default: `True`/);
    assert.match(hover.markdown, /Value here: `false`/);
    assert.match(hover.markdown, /MiniCPM-V finetune\/finetune.py/);
    const torchrun = hoverAt(result, at('--nproc_per_node'))!;
    assert.match(torchrun.markdown, /torchrun option/);
    assert.match(torchrun.markdown, /`8` \(from `\$DISTRIBUTED_ARGS` → `\$GPUS_PER_NODE`\)/);
  });

  it('hovers variables where they are used and where they are set', async () => {
    const result = await lintShellScript(text, { launchDir: example });
    const use = hoverAt(result, at('$LLM_TYPE', 1))!;
    assert.match(use.markdown, /\*\*\$LLM_TYPE\*\* = `qwen2` \(set on line 16\)/);
    const def = hoverAt(result, at('MODEL_MAX_Length=', 1))!;
    assert.match(def.markdown, /\*\*MODEL_MAX_Length\*\* = `2048`/);
    assert.match(def.markdown, /Used by --model_max_length/);
    assert.equal(hoverAt(result, { line: 0, character: 3 }), undefined);
  });

  it('completes flag names not yet given, and values of flags with a fixed set', async () => {
    const result = await lintShellScript(text, { launchDir: example });
    const line = at('--tune_llm').line;
    const names = flagCompletions(result, line, '    --lora_').map((c) => c.label);
    assert.ok(names.includes('--lora_r') && names.includes('--lora_alpha'));
    assert.ok(!names.includes('--lora_target_modules'), 'already given');
    assert.ok(flagCompletions(result, line, '    --lora_').every((c) => c.replaceLength === 7));
    assert.deepEqual(flagCompletions(result, line, '    --llm_type q').map((c) => c.label), ['qwen', 'qwen2']);
    assert.deepEqual(flagCompletions(result, line, '    --eval_strategy "').map((c) => c.label), ['no', 'steps', 'epoch']);
    assert.deepEqual(flagCompletions(result, 2, '--'), [], 'outside the launch command');
  });
});

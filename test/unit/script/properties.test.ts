import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Range } from '../../../src/core/lint/findings';
import type { FixableFinding } from '../../../src/core/lint/fixes';
import { lintShellScript } from '../../../src/core/script/rules';
import { parseShellScript } from '../../../src/core/script/shell';

function inBounds(text: string, range: Range): boolean {
  const lines = text.split('\n');
  const ok = (p: Range['start']) => p.line >= 0 && p.line < lines.length && p.character >= 0 && p.character <= lines[p.line].length;
  return ok(range.start) && ok(range.end);
}

function apply(text: string, finding: FixableFinding, fixIndex: number): string {
  const lines = text.split('\n');
  const offset = (p: Range['start']) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  const edits = [...finding.fixes![fixIndex].edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of edits) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

const shellPieces = ['X=1', 'Y="$X b"', "Z='q'", 'export W=${U:-2}', 'A=(--a "b c")', '$(pwd)', '`date`', '"', "'", '\\', '\n', ' ', '--flag', '$X', '${Y}', '"${A[@]}"', 'torchrun', 'python -m torch.distributed.run', 'deepspeed', 'finetune.py', 'if', 'then', 'fi', ';', '|', '&&', '(', ')', '{', '}', '#c', '数据', '=', '$'];

describe('script analysis properties (fast-check)', () => {
  it('keeps the syntax error of an unclosed group at the end of the text inside the text (found by the property below)', async () => {
    const text = '{ X=1 torchrun \n';
    const result = await lintShellScript(text, { launchDir: '/nowhere', readText: () => undefined, fileExists: () => false });
    const syntax = result.findings.filter((f) => f.rule === 'SCRIPT-SYNTAX');
    assert.ok(syntax.length > 0);
    for (const f of syntax) assert.ok(inBounds(text, f.range), JSON.stringify(f.range));
  });

  it('never throws on arbitrary shell-like text, and every range lies inside the text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.constantFrom(...shellPieces), fc.string({ maxLength: 4 })), { maxLength: 40 }), async (pieces) => {
        const text = pieces.join(' ');
        const script = await parseShellScript(text);
        for (const launch of script.launches) {
          for (const flag of [...launch.launcherFlags, ...launch.programFlags]) {
            assert.ok(inBounds(text, flag.flagRange));
            if (flag.value) assert.ok(inBounds(text, flag.value.range) && inBounds(text, flag.value.useRange));
          }
        }
        const result = await lintShellScript(text, { launchDir: '/nowhere', readText: () => undefined, fileExists: () => false });
        for (const f of result.findings) assert.ok(inBounds(text, f.range), `${f.rule} out of bounds`);
      }),
      { numRuns: 150 },
    );
  });

  it('every quick fix removes its own finding and leaves the rest of a generated script unchanged', async () => {
    const files: Record<string, string> = { '/ws/finetune.py': '', '/ws/d.json': '[]' };
    const flagValues = {
      use_lora: ['true', 'false', null],
      tune_llm: ['true', 'false', null],
      tune_vision: ['true', 'false', null],
      bf16: ['true', 'false', null],
      fp16: ['true', 'false', null],
      evaluation_strategy: ['"steps"', null],
      logging_dir: ['out/runs', null],
      tune_visoin: ['true', null],
    } as const;
    const arbitrary = fc.record({
      model: fc.constantFrom('openbmb/MiniCPM-V-2_6', 'openbmb/MiniCPM-V-2_6-int4', 'openbmb/MiniCPM-Llama3-V-2_5'),
      llmType: fc.constantFrom('qwen', 'qwen2', 'llama3', 'minicpm'),
      gpus: fc.constantFrom('2', '8', '16'),
      viaVariable: fc.boolean(),
      flags: fc.record(Object.fromEntries(Object.entries(flagValues).map(([k, v]) => [k, fc.constantFrom(...v)])) as Record<string, fc.Arbitrary<string | null>>),
      version: fc.constantFrom(undefined, '4.51.2', '5.17.0'),
      capability: fc.constantFrom('7.0', '8.0'),
    });
    const applied = new Set<string>();
    await fc.assert(
      fc.asyncProperty(arbitrary, async (c) => {
        const lines = [`GPUS_PER_NODE=${c.gpus}`, `MODEL="${c.model}"`, `LLM_TYPE="${c.llmType}"`, 'torchrun --nproc_per_node $GPUS_PER_NODE finetune.py \\'];
        lines.push(`    --model_name_or_path ${c.viaVariable ? '$MODEL' : c.model} --llm_type $LLM_TYPE --data_path d.json --eval_data_path d.json \\`);
        for (const [flag, value] of Object.entries(c.flags)) if (value !== null) lines.push(`    --${flag} ${value} \\`);
        lines.push('    --output_dir out');
        const text = `${lines.join('\n')}\n`;
        const options = { launchDir: '/ws', readText: (p: string) => files[p], fileExists: (p: string) => p in files, transformersVersion: c.version, gpu: { name: 'GPU', memoryGiB: 80, computeCapability: c.capability, count: 8 } };
        const { findings } = await lintShellScript(text, options);
        for (const finding of findings) {
          for (let i = 0; i < (finding.fixes?.length ?? 0); i++) {
            const fixed = apply(text, finding, i);
            applied.add(`${finding.rule}: ${finding.fixes![i].title.replace(/\d+/g, 'N')}`);
            const after = await lintShellScript(fixed, options);
            assert.ok(!after.findings.some((f) => f.rule === finding.rule && f.message === finding.message), `${finding.rule} "${finding.fixes![i].title}" did not remove its finding`);
            // Only lines the edits touch change (a removed line counts once).
            const touched = new Set(finding.fixes![i].edits.flatMap((e) => [e.range.start.line, e.range.end.line]));
            const before = text.split('\n');
            const afterLines = fixed.split('\n');
            if (before.length === afterLines.length) {
              before.forEach((line, n) => {
                if (!touched.has(n)) assert.equal(afterLines[n], line, `${finding.rule} changed line ${n}`);
              });
            } else {
              assert.equal(before.length - afterLines.length, 1);
            }
          }
        }
      }),
      { numRuns: 120 },
    );
    // The property is not vacuous: the generated scripts exercised most of the fixes.
    assert.ok(applied.size >= 8, [...applied].join('; '));
  });
});

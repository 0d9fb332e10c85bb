import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';

const extensionId = 'finetune-workbench.finetune-workbench';

function workspacePath(...parts: string[]): string {
  const root = process.env.FTW_TEST_WORKSPACE;
  assert.ok(root, 'FTW_TEST_WORKSPACE is not set');
  return path.join(root, ...parts);
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function ours(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'Finetune Workbench');
}

async function diagnosticsWith(uri: vscode.Uri, rule: string): Promise<vscode.Diagnostic[]> {
  return waitFor(`${rule} on ${path.basename(uri.fsPath)}`, () => {
    const list = ours(uri);
    return list.some((d) => d.code === rule) ? list : undefined;
  });
}

async function applyFix(document: vscode.TextDocument, diagnostic: vscode.Diagnostic, title: RegExp): Promise<void> {
  const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', document.uri, diagnostic.range, vscode.CodeActionKind.QuickFix.value);
  const action = actions.find((a) => title.test(a.title));
  assert.ok(action?.edit, `no quick fix matching ${title} among: ${actions.map((a) => a.title).join(', ')}`);
  assert.ok(await vscode.workspace.applyEdit(action.edit));
}

describe('script lint, quick fixes, hovers and memory estimate', () => {
  let script: vscode.TextDocument;

  before(async () => {
    await vscode.extensions.getExtension(extensionId)!.activate();
    script = await vscode.workspace.openTextDocument(workspacePath('finetune_lora.sh'));
    await vscode.window.showTextDocument(script);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('shows the script findings of examples/minicpm-v-lora/finetune_lora.sh as diagnostics', async () => {
    const list = await diagnosticsWith(script.uri, 'SCRIPT-LLMTYPE');
    const codes = list.map((d) => String(d.code)).sort();
    assert.deepEqual(codes, ['SCRIPT-CWD', 'SCRIPT-EVALSTRAT', 'SCRIPT-FP16-NAN', 'SCRIPT-LLMTYPE', 'SCRIPT-LR', 'SCRIPT-SCHED-IGNORED']);
    const llmType = list.find((d) => d.code === 'SCRIPT-LLMTYPE')!;
    assert.equal(llmType.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(script.getText(llmType.range), 'qwen2');
    const evalStrategy = list.find((d) => d.code === 'SCRIPT-EVALSTRAT')!;
    assert.equal(script.getText(evalStrategy.range), '--evaluation_strategy');
  });

  it('quick fix renames --evaluation_strategy to --eval_strategy and changes nothing else', async () => {
    const before = script.getText();
    const diagnostic = (await diagnosticsWith(script.uri, 'SCRIPT-EVALSTRAT')).find((d) => d.code === 'SCRIPT-EVALSTRAT')!;
    await applyFix(script, diagnostic, /Rename to --eval_strategy/);
    assert.equal(script.getText(), before.replace('--evaluation_strategy "steps"', '--eval_strategy "steps"'));
    await waitFor('SCRIPT-EVALSTRAT to clear', () => (ours(script.uri).some((d) => d.code === 'SCRIPT-EVALSTRAT') ? undefined : true));
  });

  it('quick fix sets LLM_TYPE to the value the model needs', async () => {
    const diagnostic = (await diagnosticsWith(script.uri, 'SCRIPT-LLMTYPE')).find((d) => d.code === 'SCRIPT-LLMTYPE')!;
    await applyFix(script, diagnostic, /Set LLM_TYPE to "qwen"/);
    assert.match(script.lineAt(15).text, /^LLM_TYPE="qwen" # if use/);
    await waitFor('SCRIPT-LLMTYPE to clear', () => (ours(script.uri).some((d) => d.code === 'SCRIPT-LLMTYPE') ? undefined : true));
  });

  it('hovers a flag with its meaning and default', async () => {
    const line = script.getText().split('\n').findIndex((l) => l.includes('--tune_llm'));
    const character = script.lineAt(line).text.indexOf('--tune_llm') + 3;
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', script.uri, new vscode.Position(line, character));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /--tune_llm/);
    assert.match(text, /Default: `True`/);
  });

  it('completes flag names', async () => {
    const line = script.getText().split('\n').findIndex((l) => l.includes('--max_slice_nums'));
    await vscode.window.activeTextEditor!.edit((b) => b.insert(new vscode.Position(line, 4), '--lora_ \\\n    '));
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', script.uri, new vscode.Position(line, 11));
    const labels = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    assert.ok(labels.includes('--lora_r'), labels.slice(0, 20).join(', '));
    await vscode.commands.executeCommand('undo');
  });

  it('shows the memory estimate as a CodeLens on the launcher line, and the command returns it', async () => {
    const lenses = await waitFor('a memory CodeLens', async () => {
      const found = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', script.uri);
      return found.length ? found : undefined;
    });
    const torchrunLine = script.getText().split('\n').findIndex((l) => l.startsWith('torchrun'));
    const lens = lenses.find((l) => l.range.start.line === torchrunLine);
    assert.ok(lens?.command, 'no lens on the torchrun line');
    assert.match(lens.command.title, /≈ \d+\.\d GiB of 80 GiB per GPU/);
    const result = await vscode.commands.executeCommand<{ peakBytesPerGpu: number; breakdown: Record<string, number>; fits: boolean }>('finetuneWorkbench.estimateMemory', script.uri, 0);
    assert.ok(result.peakBytesPerGpu > 10 * 1024 ** 3);
    assert.deepEqual(Object.keys(result.breakdown), ['weights', 'gradients', 'optimizer', 'activations', 'overhead']);
  });

  it('lints a DeepSpeed config with a typo and suggests the key', async () => {
    const file = workspacePath('ds_config_typo.json');
    writeFileSync(file, '{\n  "zero_optimisation": {"stage": 2},\n  "bf16": {"enabled": "auto"}\n}\n');
    const document = await vscode.workspace.openTextDocument(file);
    const list = await diagnosticsWith(document.uri, 'DSCFG-UNKNOWN-KEY');
    const typo = list.find((d) => d.code === 'DSCFG-UNKNOWN-KEY')!;
    assert.match(typo.message, /did you mean "zero_optimization"\?/);
    assert.equal(typo.range.start.line, 1);
  });

  it('quick fix adds llm_int8_skip_modules to an 8-bit MiniCPM-V BitsAndBytesConfig', async () => {
    const file = workspacePath('load_8bit.py');
    writeFileSync(file, "from transformers import AutoModel, BitsAndBytesConfig\nq = BitsAndBytesConfig(load_in_8bit=True)\nm = AutoModel.from_pretrained('openbmb/MiniCPM-V-2_6', quantization_config=q)\n");
    const document = await vscode.workspace.openTextDocument(file);
    const diagnostic = (await diagnosticsWith(document.uri, 'Q-8BIT-HALFCHAR')).find((d) => d.code === 'Q-8BIT-HALFCHAR')!;
    await applyFix(document, diagnostic, /llm_int8_skip_modules/);
    assert.equal(document.lineAt(1).text, "q = BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=['out_proj', 'kv_proj', 'lm_head'])");
    await waitFor('Q-8BIT-HALFCHAR to clear', () => (ours(document.uri).some((d) => d.code === 'Q-8BIT-HALFCHAR') ? undefined : true));
  });
});

/** A MiniCPM-V LoRA script (launched from the workspace, where data/ and ds_config_zero2.json exist) with changes. */
function scriptWith(vars: Record<string, string>, flags: string, launcherFlags = ''): string {
  const v = { GPUS_PER_NODE: '2', MODEL: 'openbmb/MiniCPM-V-2_6', LLM_TYPE: 'qwen', ...vars };
  return [
    ...Object.entries(v).map(([k, val]) => `${k}="${val}"`),
    `torchrun --nproc_per_node $GPUS_PER_NODE ${launcherFlags}finetune.py \\`,
    '    --model_name_or_path $MODEL --llm_type $LLM_TYPE \\',
    '    --data_path data/train.json --eval_data_path data/eval.json \\',
    `    ${flags} \\`,
    '    --output_dir output/lora \\',
    '    --deepspeed ds_config_zero2.json',
    '',
  ].join('\n');
}

describe('every script quick fix, applied in the editor', () => {
  const cases: Array<{ rule: string; vars?: Record<string, string>; launcherFlags?: string; flags: string; fix: RegExp; expect: RegExp; settings?: Record<string, unknown> }> = [
    { rule: 'SCRIPT-PORT', vars: { MASTER_PORT: '80' }, launcherFlags: '--master_port $MASTER_PORT ', flags: '--bf16 true --use_lora true --tune_llm false', fix: /Set MASTER_PORT to 29500/, expect: /^MASTER_PORT="29500"$/m },
    { rule: 'SCRIPT-LORA-TUNELLM', flags: '--bf16 true --use_lora true --tune_vision true', fix: /Add --tune_llm false/, expect: /--use_lora true --tune_llm false --tune_vision/ },
    { rule: 'SCRIPT-LORA-TUNELLM', flags: '--bf16 true --use_lora true --tune_llm true', fix: /Set --tune_llm false/, expect: /--use_lora true --tune_llm false \\/ },
    { rule: 'Q-TUNEVISION', vars: { MODEL: 'openbmb/MiniCPM-V-2_6-int4' }, flags: '--bf16 true --use_lora true --tune_llm false --tune_vision true', fix: /Set --tune_vision false/, expect: /--tune_vision false \\/ },
    { rule: 'Q-PURE', vars: { MODEL: 'openbmb/MiniCPM-V-2_6-int4' }, flags: '--bf16 true --use_lora false --tune_llm false --tune_vision false', fix: /Set --use_lora true/, expect: /--use_lora true --tune_llm false/ },
    { rule: 'SCRIPT-GPUS', vars: { GPUS_PER_NODE: '16' }, flags: '--bf16 true --use_lora true --tune_llm false', fix: /Set GPUS_PER_NODE to 8/, expect: /^GPUS_PER_NODE="8"$/m },
    { rule: 'SCRIPT-FP16-NAN', flags: '--fp16 true --bf16 false --use_lora true --tune_llm false', fix: /Use bf16 instead of fp16/, expect: /--fp16 false --bf16 true/ },
    { rule: 'SCRIPT-UNKNOWN-ARG', flags: '--bf16 true --use_lora true --tune_llm false --tune_visoin true', fix: /Rename to --tune_vision/, expect: /--tune_llm false --tune_vision true/ },
    {
      rule: 'SCRIPT-PRECISION',
      flags: '--bf16 true --fp16 false --use_lora true --tune_llm false',
      fix: /Use fp16 instead of bf16/,
      expect: /--bf16 false --fp16 true/,
      settings: { 'gpu.default': { name: 'Tesla V100-SXM2-32GB', memoryGiB: 32, computeCapability: '7.0', count: 8 } },
    },
    {
      rule: 'SCRIPT-UNKNOWN-ARG',
      flags: '--bf16 true --use_lora true --tune_llm false \\\n    --logging_dir output/runs',
      fix: /Remove --logging_dir/,
      expect: /^(?![\s\S]*logging_dir)/,
      settings: { 'script.transformersVersion': '5.17.0' },
    },
  ];

  const config = () => vscode.workspace.getConfiguration('finetuneWorkbench');

  for (const [index, c] of cases.entries()) {
    it(`${c.rule}: ${c.fix.source}`, async () => {
      for (const [key, value] of Object.entries(c.settings ?? {})) await config().update(key, value, vscode.ConfigurationTarget.Workspace);
      try {
        const file = workspacePath(`fix_case_${index}.sh`);
        writeFileSync(file, scriptWith(c.vars ?? {}, c.flags, c.launcherFlags));
        const document = await vscode.workspace.openTextDocument(file);
        const diagnostic = await waitFor(`${c.rule} with a fix on ${path.basename(file)}`, async () => {
          const found = ours(document.uri).filter((d) => d.code === c.rule);
          for (const d of found) {
            const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', document.uri, d.range, vscode.CodeActionKind.QuickFix.value);
            if (actions.some((a) => c.fix.test(a.title))) return d;
          }
          return undefined;
        });
        const before = document.getText();
        await applyFix(document, diagnostic, c.fix);
        const after = document.getText();
        assert.match(after, c.expect);
        // The fix changes only what it says: the rest of the script is untouched.
        // Lines removed plus lines added (as multisets), so a deleted line counts once.
        const counts = new Map<string, number>();
        for (const line of before.split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1);
        for (const line of after.split('\n')) counts.set(line, (counts.get(line) ?? 0) - 1);
        const changedLines = [...counts.values()].reduce((n, v) => n + Math.abs(v), 0);
        assert.ok(changedLines <= 2, `${changedLines} lines changed`);
        await waitFor(`${c.rule} to clear`, () => (ours(document.uri).some((d) => d.code === c.rule && d.message === diagnostic.message) ? undefined : true));
      } finally {
        for (const key of Object.keys(c.settings ?? {})) await config().update(key, undefined, vscode.ConfigurationTarget.Workspace);
      }
    });
  }
});


import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { GpuFacts } from '../../../src/core/gpu/nvidiaSmi';
import type { FixableFinding } from '../../../src/core/lint/fixes';
import { lintShellScript } from '../../../src/core/script/rules';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const launchDir = '/ws';
const dsZero2 = readFileSync(path.join(root, 'examples', 'minicpm-v-lora', 'ds_config_zero2.json'), 'utf8');
const dsZero3 = readFileSync(path.resolve(root, '..', 'shared', 'fixtures', 'real', 'deepspeed', 'qwen1_ds_config_zero3.json'), 'utf8');

const a100x8: GpuFacts = { name: 'NVIDIA A100-SXM4-80GB', memoryGiB: 80, computeCapability: '8.0', count: 8 };
const v100x2: GpuFacts = { name: 'Tesla V100-SXM2-32GB', memoryGiB: 32, computeCapability: '7.0', count: 2 };

/** A MiniCPM-V LoRA script with overridable flags; `null` drops a flag. */
function minicpm(over: Record<string, string | null> = {}, vars: Record<string, string> = {}): string {
  const v = { GPUS_PER_NODE: '2', MODEL: 'openbmb/MiniCPM-V-2_6', LLM_TYPE: 'qwen', ...vars };
  const flags: Record<string, string | null> = {
    model_name_or_path: '$MODEL', llm_type: '$LLM_TYPE', data_path: 'data/train.json', eval_data_path: 'data/eval.json',
    remove_unused_columns: 'false', bf16: 'true', fp16: 'false', do_train: '', tune_vision: 'true', tune_llm: 'false', use_lora: 'true',
    eval_strategy: '"steps"', output_dir: 'output/lora', per_device_train_batch_size: '1', gradient_accumulation_steps: '1',
    learning_rate: '1e-6', deepspeed: 'ds_config_zero2.json', ...over,
  };
  const lines = Object.entries(v).map(([k, val]) => `${k}="${val}"`);
  lines.push('DISTRIBUTED_ARGS="--nproc_per_node $GPUS_PER_NODE --nnodes 1"');
  lines.push('torchrun $DISTRIBUTED_ARGS finetune.py \\');
  const entries = Object.entries(flags).filter(([, val]) => val !== null);
  entries.forEach(([k, val], i) => lines.push(`    --${k}${val ? ` ${val}` : ''}${i < entries.length - 1 ? ' \\' : ''}`));
  return `${lines.join('\n')}\n`;
}

const files: Record<string, string> = {
  '/ws/finetune.py': '',
  '/ws/data/train.json': '[]',
  '/ws/data/eval.json': '[]',
  '/ws/ds_config_zero2.json': dsZero2,
  '/ws/ds_config_zero3.json': dsZero3,
};

async function lint(text: string, extra: { gpu?: GpuFacts; transformersVersion?: string; files?: Record<string, string> } = {}): Promise<FixableFinding[]> {
  const all = { ...files, ...extra.files };
  const result = await lintShellScript(text, { launchDir, gpu: extra.gpu ?? a100x8, transformersVersion: extra.transformersVersion, readText: (p) => all[p], fileExists: (p) => all[p] !== undefined });
  return result.findings;
}

function rules(findings: FixableFinding[]): string[] {
  return findings.map((f) => f.rule);
}

function applyFix(text: string, finding: FixableFinding): string {
  const fix = finding.fixes?.[0];
  assert.ok(fix, `${finding.rule} has a fix`);
  const lines = text.split('\n');
  const offset = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  const edits = [...fix.edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of edits) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

describe('script rules (domain.md D.2, D.3, D.3c)', () => {
  it('a clean MiniCPM-V LoRA script has no findings', async () => {
    assert.deepEqual(await lint(minicpm()), []);
  });

  it('SCRIPT-LORA-TUNELLM: --use_lora true with tune_llm default or true; fix sets/adds --tune_llm false', async () => {
    const missing = minicpm({ tune_llm: null });
    const f = (await lint(missing)).find((x) => x.rule === 'SCRIPT-LORA-TUNELLM');
    assert.equal(f?.severity, 'error');
    assert.match(f!.message, /default is True/);
    assert.deepEqual(await lint(applyFix(missing, f!)), []);
    const explicit = minicpm({ tune_llm: 'true' });
    const g = (await lint(explicit)).find((x) => x.rule === 'SCRIPT-LORA-TUNELLM')!;
    assert.match(applyFix(explicit, g), /--tune_llm false/);
    assert.ok(!rules(await lint(minicpm({ use_lora: 'false', tune_llm: 'true' }))).includes('SCRIPT-LORA-TUNELLM'));
  });

  it('SCRIPT-LLMTYPE: qwen2 / llama3 / typo against the model, fix edits the LLM_TYPE assignment', async () => {
    const text = minicpm({}, { LLM_TYPE: 'qwen2' });
    const f = (await lint(text)).find((x) => x.rule === 'SCRIPT-LLMTYPE')!;
    assert.equal(f.range.start.line, 2, 'points at the LLM_TYPE assignment');
    assert.match(applyFix(text, f), /LLM_TYPE="qwen"/);
    assert.deepEqual(await lint(applyFix(text, f)), []);
    assert.ok(rules(await lint(minicpm({}, { LLM_TYPE: 'llama3' }))).includes('SCRIPT-LLMTYPE'));
    assert.ok(rules(await lint(minicpm({}, { MODEL: 'my/own-model', LLM_TYPE: 'qwen3' }))).includes('SCRIPT-LLMTYPE'));
    assert.ok(!rules(await lint(minicpm({}, { MODEL: 'openbmb/MiniCPM-Llama3-V-2_5', LLM_TYPE: 'llama3' }))).includes('SCRIPT-LLMTYPE'));
    // 2024-08..2025-01 code (dataset.py compares with "qwen2") accepts qwen2 for V-2.6.
    const era = await lint(minicpm({}, { LLM_TYPE: 'qwen2' }), { files: { '/ws/dataset.py': 'if llm_type == "qwen2":\n    pass\n' } });
    assert.ok(!rules(era).includes('SCRIPT-LLMTYPE'));
  });

  it('SCRIPT-MINICPM-BROKEN warns for LLM_TYPE minicpm on HEAD code', async () => {
    assert.ok(rules(await lint(minicpm({}, { MODEL: 'openbmb/MiniCPM-V-2', LLM_TYPE: 'minicpm' }))).includes('SCRIPT-MINICPM-BROKEN'));
    assert.ok(!rules(await lint(minicpm())).includes('SCRIPT-MINICPM-BROKEN'));
  });

  it('Q-PURE: full fine-tune of an int4 model; Q-TUNEVISION: tune_vision on int4', async () => {
    const int4 = { MODEL: 'openbmb/MiniCPM-V-2_6-int4' };
    const full = await lint(minicpm({ use_lora: 'false', tune_vision: 'false' }, int4));
    assert.ok(rules(full).includes('Q-PURE'));
    const pureFix = full.find((x) => x.rule === 'Q-PURE')!;
    assert.match(applyFix(minicpm({ use_lora: 'false', tune_vision: 'false' }, int4), pureFix), /--use_lora true/);
    const vision = await lint(minicpm({}, int4));
    const tv = vision.find((x) => x.rule === 'Q-TUNEVISION')!;
    assert.equal(tv.severity, 'error');
    assert.deepEqual(await lint(applyFix(minicpm({}, int4), tv)), []);
    assert.ok(rules(await lint(minicpm({ tune_vision: null }, int4))).includes('Q-TUNEVISION'), 'default tune_vision is True');
    assert.ok(!rules(await lint(minicpm())).some((r) => r.startsWith('Q-')));
  });

  it('QWEN-QLORA-BNB-ON-GPTQ: bnb QLoRA on a GPTQ Qwen2.5 checkpoint', async () => {
    const qwen = (model: string) => `torchrun --nproc_per_node 1 finetune.py --model_name_or_path ${model} --use_lora True --q_lora True --output_dir o --learning_rate 1e-4 --bf16 True\n`;
    assert.ok(rules(await lint(qwen('Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4'))).includes('QWEN-QLORA-BNB-ON-GPTQ'));
    assert.ok(!rules(await lint(qwen('Qwen/Qwen2.5-7B-Instruct'))).includes('QWEN-QLORA-BNB-ON-GPTQ'));
  });

  it('QWEN1-QLORA-INT4 and QWEN1-ZERO3-LORA-BASE for Qwen (1st gen)', async () => {
    const q1 = (model: string, extra: string) => `torchrun --nproc_per_node 1 finetune.py --model_name_or_path ${model} --data_path data/train.json --use_lora ${extra} --output_dir o\n`;
    assert.ok(rules(await lint(q1('Qwen/Qwen-7B-Chat', '--q_lora --fp16 True --deepspeed ds_config_zero2.json'))).includes('QWEN1-QLORA-INT4'));
    assert.ok(!rules(await lint(q1('Qwen/Qwen-7B-Chat-Int4', '--q_lora --fp16 True --deepspeed ds_config_zero2.json'))).includes('QWEN1-QLORA-INT4'));
    assert.ok(rules(await lint(q1('Qwen/Qwen-7B', '--bf16 True --deepspeed ds_config_zero3.json'))).includes('QWEN1-ZERO3-LORA-BASE'));
    assert.ok(!rules(await lint(q1('Qwen/Qwen-7B-Chat', '--bf16 True --deepspeed ds_config_zero3.json'))).includes('QWEN1-ZERO3-LORA-BASE'));
  });

  it('SCRIPT-PRECISION: fp16+bf16, and bf16 on a pre-Ampere GPU (from nvidia-smi facts)', async () => {
    assert.ok(rules(await lint(minicpm({ fp16: 'true' }))).includes('SCRIPT-PRECISION'));
    const v100 = await lint(minicpm(), { gpu: v100x2 });
    const p = v100.find((x) => x.rule === 'SCRIPT-PRECISION')!;
    assert.match(p.message, /7\.0/);
    const fixed = applyFix(minicpm(), p);
    assert.match(fixed, /--bf16 false/);
    assert.match(fixed, /--fp16 true/);
    assert.ok(!rules(await lint(minicpm())).includes('SCRIPT-PRECISION'));
  });

  it('SCRIPT-FP16-NAN: LoRA with fp16 on an Ampere GPU', async () => {
    assert.ok(rules(await lint(minicpm({ fp16: 'true', bf16: 'false' }))).includes('SCRIPT-FP16-NAN'));
    assert.ok(!rules(await lint(minicpm({ fp16: 'true', bf16: 'false' }), { gpu: v100x2 })).includes('SCRIPT-FP16-NAN'));
  });

  it('SCRIPT-GPUS: GPUS_PER_NODE above the GPU count or CUDA_VISIBLE_DEVICES; fix sets the count', async () => {
    const text = minicpm({}, { GPUS_PER_NODE: '8' });
    const f = (await lint(text, { gpu: { ...a100x8, count: 4 } })).find((x) => x.rule === 'SCRIPT-GPUS')!;
    assert.equal(f.range.start.line, 0);
    assert.match(applyFix(text, f), /GPUS_PER_NODE="4"/);
    assert.ok(rules(await lint(`export CUDA_VISIBLE_DEVICES=0,1\n${minicpm({}, { GPUS_PER_NODE: '4' })}`)).includes('SCRIPT-GPUS'));
    assert.ok(!rules(await lint(text)).includes('SCRIPT-GPUS'));
  });

  it('SCRIPT-EVALSTRAT: warning before 4.46, error with a removed-version target; fix renames the flag', async () => {
    const text = minicpm({ eval_strategy: null, evaluation_strategy: '"steps"' });
    const w = (await lint(text)).find((x) => x.rule === 'SCRIPT-EVALSTRAT')!;
    assert.equal(w.severity, 'warning');
    assert.deepEqual(await lint(applyFix(text, w)), []);
    assert.equal((await lint(text, { transformersVersion: '4.51.2' })).find((x) => x.rule === 'SCRIPT-EVALSTRAT')?.severity, 'error');
    assert.ok(!rules(await lint(minicpm())).includes('SCRIPT-EVALSTRAT'));
  });

  it('SCRIPT-UNKNOWN-ARG: logging_dir / warmup_ratio removed in transformers 5, unknown and video-era flags', async () => {
    const v5 = await lint(minicpm({ logging_dir: 'output/runs', warmup_ratio: '0.01' }), { transformersVersion: '5.17.0' });
    assert.deepEqual(v5.filter((x) => x.rule === 'SCRIPT-UNKNOWN-ARG').map((x) => x.message.slice(0, 14)), ['--logging_dir ', '--warmup_ratio']);
    assert.equal((await lint(minicpm({ logging_dir: 'output/runs', warmup_ratio: '0.01' }), { transformersVersion: '4.51.2' })).length, 0);
    const typo = (await lint(minicpm({ tune_visoin: 'true' }))).find((x) => x.rule === 'SCRIPT-UNKNOWN-ARG')!;
    assert.match(typo.message, /Did you mean --tune_vision/);
    assert.ok(rules(await lint(minicpm({ max_num_frames: '1' }))).includes('SCRIPT-UNKNOWN-ARG'));
  });

  it('SCRIPT-UNKNOWN-ARG reads the real argument set from finetune.py dataclasses when present', async () => {
    const finetunePy = [
      'from dataclasses import dataclass, field',
      'import transformers',
      '@dataclass',
      'class ModelArguments:',
      '    model_name_or_path: str = field(default="x")',
      '    my_new_flag: int = 3',
      '@dataclass',
      'class TrainingArguments(transformers.TrainingArguments):',
      '    llm_type: str = "minicpm"',
      'parser = transformers.HfArgumentParser((ModelArguments, TrainingArguments))',
    ].join('\n');
    const findings = await lint(minicpm({ my_new_flag: '1', use_lora: null, tune_vision: null, tune_llm: null }), { files: { '/ws/finetune.py': finetunePy } });
    assert.deepEqual(findings.filter((x) => x.rule === 'SCRIPT-UNKNOWN-ARG').map((x) => x.message.split(' ')[0]), ['--data_path', '--eval_data_path']);
  });

  it('cross-file: missing dataset / DeepSpeed config, DS config errors, "auto" mismatches, scheduler/optimizer override', async () => {
    const missing = await lint(minicpm({ data_path: 'data/nope.json', deepspeed: 'missing.json' }));
    assert.equal(missing.filter((x) => x.rule === 'SCRIPT-FILE-MISSING').length, 2);
    const badDs = await lint(minicpm(), { files: { '/ws/ds_config_zero2.json': '{"zero_optimization": {"stage": 5}}' } });
    assert.ok(rules(badDs).includes('SCRIPT-DSCONFIG'));
    const fixedBatch = dsZero2.replace('"train_micro_batch_size_per_gpu": "auto"', '"train_micro_batch_size_per_gpu": 4');
    const mismatch = (await lint(minicpm(), { files: { '/ws/ds_config_zero2.json': fixedBatch } })).find((x) => x.rule === 'DSCFG-AUTO-MISMATCH')!;
    assert.match(mismatch.message, /ds train_micro_batch_size_per_gpu=4 vs hf per_device_train_batch_size=1/);
    assert.ok(!rules(await lint(minicpm({ per_device_train_batch_size: '4' }), { files: { '/ws/ds_config_zero2.json': fixedBatch } })).includes('DSCFG-AUTO-MISMATCH'));
    const sched = await lint(minicpm({ lr_scheduler_type: '"cosine"', optim: 'adamw_torch' }));
    assert.deepEqual(sched.filter((x) => x.rule === 'SCRIPT-SCHED-IGNORED').map((x) => x.severity), ['info', 'info']);
    assert.equal((await lint(minicpm({ lr_scheduler_type: '"cosine"' }), { files: { '/ws/ds_config_zero2.json': '{"zero_optimization": {"stage": 2}}' } })).length, 0);
  });

  it('SCRIPT-EVAL-NODATA and SCRIPT-CWD', async () => {
    assert.ok(rules(await lint(minicpm({ eval_data_path: null }))).includes('SCRIPT-EVAL-NODATA'));
    assert.ok(rules(await lint(minicpm(), { files: { '/ws/finetune.py': undefined as unknown as string } })).includes('SCRIPT-CWD'));
  });

  it('the example MiniCPM-V script: LLM_TYPE, evaluation_strategy, fp16 with LoRA, scheduler override', async () => {
    const example = path.join(root, 'examples', 'minicpm-v-lora');
    const result = await lintShellScript(readFileSync(path.join(example, 'finetune_lora.sh'), 'utf8'), { launchDir: example, gpu: a100x8 });
    assert.deepEqual(rules(result.findings).sort(), ['SCRIPT-CWD', 'SCRIPT-EVALSTRAT', 'SCRIPT-FP16-NAN', 'SCRIPT-LLMTYPE', 'SCRIPT-SCHED-IGNORED']);
    assert.equal(result.launches[0].deepspeed?.facts?.stage, 2);
  });

  it('SCRIPT-INITVISION: finetune.py passes init_vision while the model is not MiniCPM-o', async () => {
    const py = "model = AutoModel.from_pretrained(path, trust_remote_code=True, init_vision=True, init_audio=False, init_tts=False)\n";
    assert.ok(rules(await lint(minicpm(), { files: { '/ws/finetune.py': py } })).includes('SCRIPT-INITVISION'));
    assert.ok(!rules(await lint(minicpm({}, { MODEL: 'openbmb/MiniCPM-o-2_6' }), { files: { '/ws/finetune.py': py } })).includes('SCRIPT-INITVISION'));
  });

  it('Q-QLORA-NOQUANT and QWEN1-EXLLAMA', async () => {
    assert.ok(rules(await lint(minicpm({ q_lora: 'true' }))).includes('Q-QLORA-NOQUANT'));
    assert.ok(!rules(await lint(minicpm({ q_lora: 'true', tune_vision: 'false' }, { MODEL: 'openbmb/MiniCPM-V-2_6-int4' }))).includes('Q-QLORA-NOQUANT'));
    const q1 = (extra: string) => `torchrun --nproc_per_node 1 finetune.py --model_name_or_path Qwen/Qwen-7B-Chat-Int4 --data_path data/train.json --use_lora --fp16 True ${extra} --output_dir o\n`;
    assert.ok(rules(await lint(q1(''))).includes('QWEN1-EXLLAMA'));
    assert.ok(!rules(await lint(q1('--q_lora'))).includes('QWEN1-EXLLAMA'));
  });

  it('SCRIPT-FLASHATTN on pre-Ampere GPUs only', async () => {
    const text = minicpm({ bf16: 'false', fp16: 'true', attn_implementation: 'flash_attention_2' });
    assert.ok(rules(await lint(text, { gpu: v100x2 })).includes('SCRIPT-FLASHATTN'));
    assert.ok(!rules(await lint(text)).includes('SCRIPT-FLASHATTN'));
  });

  it('SCRIPT-UNUSED-LORA for parsed-but-unused MiniCPM-V LoRA flags', async () => {
    const findings = await lint(minicpm({ lora_modules_to_save: 'embed_tokens' }));
    assert.deepEqual(findings.filter((f) => f.rule === 'SCRIPT-UNUSED-LORA').map((f) => f.severity), ['info']);
    assert.ok(!rules(await lint(minicpm({ lora_r: '16' }))).includes('SCRIPT-UNUSED-LORA'));
  });

  it('SCRIPT-SYNTAX: an unquoted LoRA target regex breaks the command', async () => {
    const text = minicpm({ lora_target_modules: 'llm\\..*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj)' });
    assert.ok(rules(await lint(text)).includes('SCRIPT-SYNTAX'));
    assert.ok(!rules(await lint(minicpm({ lora_target_modules: '"llm\\..*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj)"' }))).includes('SCRIPT-SYNTAX'));
  });

  it('transformers 5: 4.x flags missing from the 5.17 TrainingArguments are errors, new 5.17 flags are accepted; fix removes a --logging_dir line', async () => {
    const text = minicpm({ logging_dir: 'output/runs', overwrite_output_dir: 'true', no_cuda: 'false', project: 'demo' });
    const v5 = await lint(text, { transformersVersion: '5.17.0' });
    assert.deepEqual(v5.filter((f) => f.rule === 'SCRIPT-UNKNOWN-ARG').map((f) => f.message.split(' ')[0]), ['--logging_dir', '--overwrite_output_dir', '--no_cuda']);
    assert.match(v5.find((f) => f.message.startsWith('--no_cuda'))!.message, /Use --use_cpu/);
    const fixed = applyFix(text, v5.find((f) => f.message.startsWith('--logging_dir'))!);
    assert.ok(!fixed.includes('--logging_dir') && fixed.split('\n').length === text.split('\n').length - 1);
    const v4 = await lint(text, { transformersVersion: '4.51.2' });
    assert.deepEqual(v4.filter((f) => f.rule === 'SCRIPT-UNKNOWN-ARG').map((f) => f.message.split(' ')[0]), ['--project']);
  });

  it('summarises dataset errors when a dataset linter is given (SCRIPT-DATASET)', async () => {
    const all: Record<string, string> = { ...files };
    const seen: string[] = [];
    const result = await lintShellScript(minicpm(), {
      launchDir,
      gpu: a100x8,
      readText: (p) => all[p],
      fileExists: (p) => all[p] !== undefined,
      lintDataset: async (file) => {
        seen.push(file);
        return file.endsWith('train.json') ? [{ rule: 'DS-ROLE-VALUES', severity: 'error', message: 'role "human" is not user/assistant', range: { start: { line: 4, character: 0 }, end: { line: 4, character: 5 } } }] : [];
      },
    });
    assert.deepEqual(seen, ['/ws/data/train.json', '/ws/data/eval.json']);
    const f = result.findings.find((x) => x.rule === 'SCRIPT-DATASET')!;
    assert.match(f.message, /dataset data\/train.json has 1 error\(s\), first at line 5: DS-ROLE-VALUES/);
  });

  it('QWEN1-BASH: bash-only syntax in a script that sh would run', async () => {
    const body = 'while [[ "$1" != "" ]]; do shift; done\ntorchrun --nproc_per_node 1 finetune.py --model_name_or_path Qwen/Qwen-7B-Chat --data_path data/train.json --output_dir o\n';
    assert.equal((await lint(`#!/bin/sh\n${body}`)).find((f) => f.rule === 'QWEN1-BASH')?.severity, 'error');
    assert.equal((await lint(body)).find((f) => f.rule === 'QWEN1-BASH')?.severity, 'warning');
    assert.ok(!rules(await lint(`#!/bin/bash\n${body}`)).includes('QWEN1-BASH'));
    assert.ok(!rules(await lint(`#!/usr/bin/env bash\n${body}`)).includes('QWEN1-BASH'));
  });

  it('SCRIPT-TRAINER-VERSION: a trainer.py training_step without num_items_in_batch on newer transformers', async () => {
    const old = 'class CPMTrainer(Trainer):\n    def training_step(self, model, inputs):\n        return 0\n';
    const current = 'class CPMTrainer(Trainer):\n    def training_step(self, model, inputs, num_items_in_batch=None):\n        return 0\n';
    const f = (await lint(minicpm(), { files: { '/ws/trainer.py': old } })).find((x) => x.rule === 'SCRIPT-TRAINER-VERSION');
    assert.match(f!.message, /line 2\) overrides training_step\(self, model, inputs\)/);
    assert.ok(!rules(await lint(minicpm(), { files: { '/ws/trainer.py': old }, transformersVersion: '4.44.2' })).includes('SCRIPT-TRAINER-VERSION'));
    assert.ok(!rules(await lint(minicpm(), { files: { '/ws/trainer.py': current }, transformersVersion: '4.51.2' })).includes('SCRIPT-TRAINER-VERSION'));
  });
});

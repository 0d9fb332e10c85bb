import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { GpuFacts } from '../../../src/core/gpu/nvidiaSmi';
import type { FixableFinding } from '../../../src/core/lint/fixes';
import type { PortInUse, TargetPlatform } from '../../../src/core/lint/target';
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
    learning_rate: '2e-4', deepspeed: 'ds_config_zero2.json', ...over,
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

async function lint(
  text: string,
  extra: { gpu?: GpuFacts; transformersVersion?: string; files?: Record<string, string>; platform?: TargetPlatform; portsInUse?: PortInUse[] } = {},
): Promise<FixableFinding[]> {
  const all = { ...files, ...extra.files };
  const result = await lintShellScript(text, {
    launchDir,
    gpu: extra.gpu ?? a100x8,
    transformersVersion: extra.transformersVersion,
    platform: extra.platform,
    portsInUse: extra.portsInUse,
    readText: (p) => all[p],
    fileExists: (p) => all[p] !== undefined,
  });
  return result.findings;
}

/** The script text a finding's range covers. */
function covered(text: string, range: FixableFinding['range']): string {
  const lines = text.split('\n');
  if (range.start.line === range.end.line) return lines[range.start.line].slice(range.start.character, range.end.character);
  return [lines[range.start.line].slice(range.start.character), ...lines.slice(range.start.line + 1, range.end.line), lines[range.end.line].slice(0, range.end.character)].join('\n');
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
    // Q-INT4-TOKENS stays: it is about the dataset, which this lint does not read.
    assert.deepEqual(rules(await lint(applyFix(minicpm({}, int4), tv))), ['Q-INT4-TOKENS']);
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
    assert.deepEqual(rules(result.findings).sort(), ['SCRIPT-CWD', 'SCRIPT-EVALSTRAT', 'SCRIPT-FP16-NAN', 'SCRIPT-LLMTYPE', 'SCRIPT-LR', 'SCRIPT-SCHED-IGNORED']);
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

  it('SCRIPT-PORT: invalid MASTER_PORT values are errors on the assignment; fix sets 29500', async () => {
    const withPort = (port: string) => minicpm({}, { MASTER_PORT: port }).replace('--nnodes 1"', '--nnodes 1 --master_port $MASTER_PORT"');
    for (const [port, why] of [['abc', /not a port number/], ['80', /privileged port/], ['70000', /above 65535/]] as const) {
      const text = withPort(port);
      const f = (await lint(text)).find((x) => x.rule === 'SCRIPT-PORT');
      assert.equal(f?.severity, 'error', port);
      assert.match(f!.message, why);
      assert.match(f!.message, /^MASTER_PORT="/);
      assert.equal(covered(text, f!.range), port, 'points at the value in the MASTER_PORT assignment');
      assert.match(applyFix(text, f!), /^MASTER_PORT="29500"$/m);
    }
    assert.deepEqual(await lint(withPort('6001')), []);
    assert.deepEqual(await lint(withPort('65535')), []);
  });

  it('SCRIPT-PORT: a literal port the lint context says is in use (target or another job); fix picks the next free one', async () => {
    const text = 'torchrun --nproc_per_node 2 --master_port=6001 finetune.py --model_name_or_path $MODEL\n';
    const busy = [{ port: 6001, by: 'job 3 (finetune_lora.sh)' }, { port: 6002 }];
    const f = (await lint(text, { portsInUse: busy })).find((x) => x.rule === 'SCRIPT-PORT')!;
    assert.equal(f.severity, 'warning');
    assert.match(f.message, /--master_port=6001, but port 6001 is already in use by job 3 \(finetune_lora\.sh\).*Address already in use.*e\.g\. 6003/);
    assert.equal(covered(text, f.range), '6001');
    assert.match(applyFix(text, f), /--master_port=6003 /);
    assert.ok(!rules(await lint(text, { portsInUse: [{ port: 29500 }] })).includes('SCRIPT-PORT'), 'another port in use');
    assert.ok(!rules(await lint(text)).includes('SCRIPT-PORT'), 'no port facts: silent');
    const ds = 'deepspeed --num_gpus 2 --master_port 6001 finetune.py --output_dir o\n';
    assert.equal((await lint(ds, { portsInUse: busy })).find((x) => x.rule === 'SCRIPT-PORT')?.range.start.character, ds.indexOf('6001'));
    const acc = 'accelerate launch --main_process_port 6001 train.py --output_dir o\n';
    assert.match((await lint(acc, { portsInUse: busy })).find((x) => x.rule === 'SCRIPT-PORT')!.message, /--main_process_port=6001/);
  });

  it('SCRIPT-PORT: no port flag while the default 29500 is taken; not for --standalone; fix adds --master_port', async () => {
    const text = 'torchrun --nproc_per_node 2 finetune.py --output_dir o\n';
    const f = (await lint(text, { portsInUse: [{ port: 29500, by: 'job 1' }] })).find((x) => x.rule === 'SCRIPT-PORT')!;
    assert.match(f.message, /default port 29500, but port 29500 is already in use by job 1/);
    assert.equal(covered(text, f.range), 'torchrun');
    assert.equal(applyFix(text, f), 'torchrun --master_port 29501 --nproc_per_node 2 finetune.py --output_dir o\n');
    assert.ok(!rules(await lint('torchrun --standalone --nproc_per_node 2 finetune.py --output_dir o\n', { portsInUse: [{ port: 29500 }] })).includes('SCRIPT-PORT'));
  });

  it('SCRIPT-PORT: two launches of one script on the same port when the first runs in the background (&)', async () => {
    const launch = (port: string, out: string, tail: string) => `torchrun --nproc_per_node 1${port ? ` --master_port ${port}` : ''} finetune.py --output_dir ${out}${tail}\n`;
    const text = launch('6001', 'a', ' &') + launch('6001', 'b', '');
    const f = (await lint(text)).filter((x) => x.rule === 'SCRIPT-PORT');
    assert.equal(f.length, 1);
    assert.equal(f[0].range.start.line, 1);
    assert.equal(covered(text, f[0].range), '6001');
    assert.match(f[0].message, /in use by the torchrun started in the background on line 1/);
    assert.match(applyFix(text, f[0]).split('\n')[1], /--master_port 6002 /);
    const both = launch('', 'a', ' &') + launch('', 'b', '');
    assert.equal(covered(both, (await lint(both)).find((x) => x.rule === 'SCRIPT-PORT')!.range), 'torchrun', 'both on the default 29500');
    for (const ok of [launch('6001', 'a', '') + launch('6001', 'b', ''), launch('6001', 'a', ' &&') + launch('6001', 'b', ''), launch('6001', 'a', ' &') + launch('6002', 'b', '')]) {
      assert.ok(!rules(await lint(ok)).includes('SCRIPT-PORT'), ok);
    }
  });

  it('Q-BNB-PLATFORM: bitsandbytes checkpoints / QLoRA on macOS or a target without CUDA; Windows warns', async () => {
    const int4 = minicpm({ tune_vision: 'false' }, { MODEL: 'openbmb/MiniCPM-V-2_6-int4' });
    const mac = (await lint(int4, { platform: { os: 'darwin', source: 'this machine' } })).find((x) => x.rule === 'Q-BNB-PLATFORM')!;
    assert.equal(mac.severity, 'error');
    assert.match(mac.message, /bitsandbytes 4-bit checkpoint.*macOS \(this machine\).*Linux machine with an NVIDIA GPU/);
    assert.equal(covered(int4, mac.range), 'openbmb/MiniCPM-V-2_6-int4');
    assert.equal((await lint(int4, { platform: { os: 'linux', cuda: false } })).find((x) => x.rule === 'Q-BNB-PLATFORM')?.severity, 'error');
    assert.equal((await lint(int4, { platform: { os: 'win32', cuda: true } })).find((x) => x.rule === 'Q-BNB-PLATFORM')?.severity, 'warning');
    assert.ok(!rules(await lint(int4, { platform: { os: 'linux', cuda: true } })).includes('Q-BNB-PLATFORM'));
    assert.ok(!rules(await lint(int4)).includes('Q-BNB-PLATFORM'), 'platform unknown: silent');
    assert.ok(!rules(await lint(minicpm(), { platform: { os: 'darwin' } })).includes('Q-BNB-PLATFORM'), 'bf16 model, no QLoRA');
    const qwen = 'torchrun --nproc_per_node 1 finetune.py --model_name_or_path Qwen/Qwen2.5-7B-Instruct --use_lora True --q_lora True --output_dir o\n';
    const q = (await lint(qwen, { platform: { os: 'darwin' } })).find((x) => x.rule === 'Q-BNB-PLATFORM')!;
    assert.equal(covered(qwen, q.range), '--q_lora');
    assert.ok(!rules(await lint(qwen.replace('--q_lora True', '--q_lora False'), { platform: { os: 'darwin' } })).includes('Q-BNB-PLATFORM'));
  });

  it('Q-INT4-TOKENS: int4 MiniCPM-V models, stronger when the dataset has misplaced <image> tags; not for bf16 models', async () => {
    const int4 = minicpm({ tune_vision: 'false' }, { MODEL: 'openbmb/MiniCPM-V-2_6-int4' });
    const unchecked = (await lint(int4)).find((x) => x.rule === 'Q-INT4-TOKENS')!;
    assert.equal(unchecked.severity, 'warning');
    assert.match(unchecked.message, /image start token != image end tokens.*ftw lint/);
    assert.equal(covered(int4, unchecked.range), 'openbmb/MiniCPM-V-2_6-int4');
    const all = { ...files };
    const run = (tagFinding: boolean) =>
      lintShellScript(int4, {
        launchDir,
        gpu: a100x8,
        readText: (p) => all[p],
        fileExists: (p) => all[p] !== undefined,
        lintDataset: async (file) =>
          tagFinding && file.endsWith('train.json') ? [{ rule: 'DS-IMG-TAG-LATER', severity: 'error', message: '<image> after turn 0', range: { start: { line: 9, character: 0 }, end: { line: 9, character: 7 } } }] : [],
      });
    const bad = (await run(true)).findings.find((x) => x.rule === 'Q-INT4-TOKENS')!;
    assert.equal(bad.severity, 'warning');
    assert.match(bad.message, /data\/train.json has 1 sample\(s\) that cause it \(first at line 10: DS-IMG-TAG-LATER\)/);
    assert.equal((await run(false)).findings.find((x) => x.rule === 'Q-INT4-TOKENS')?.severity, 'info', 'checked datasets: only a note');
    assert.ok(!rules(await lint(minicpm())).includes('Q-INT4-TOKENS'));
    assert.ok(!rules(await lint('torchrun --nproc_per_node 1 finetune.py --model_name_or_path Qwen/Qwen-7B-Chat-Int4 --use_lora --q_lora --fp16 True --output_dir o\n')).includes('Q-INT4-TOKENS'));
  });

  it('SCRIPT-QUOTE: an empty unquoted variable leaves a flag without its value; quoted values and bool flags are fine', async () => {
    const text = minicpm({ eval_data_path: '$EVAL_DATA' }, { EVAL_DATA: '' });
    const f = (await lint(text)).find((x) => x.rule === 'SCRIPT-QUOTE')!;
    assert.equal(f.severity, 'error');
    assert.match(f.message, /--eval_data_path takes a str value but \$EVAL_DATA is empty \(set on line 4\) and unquoted.*expected one argument.*Set EVAL_DATA/);
    assert.equal(covered(text, f.range), '--eval_data_path');
    const end = 'torchrun --nproc_per_node 1 finetune.py --model_name_or_path openbmb/MiniCPM-V-2_6 --llm_type qwen --use_lora true --tune_llm false --output_dir\n';
    assert.match((await lint(end)).find((x) => x.rule === 'SCRIPT-QUOTE')!.message, /--output_dir takes a str value but none follows/);
    assert.ok(!rules(await lint(minicpm({ eval_data_path: '$EVAL_DATA' }, { EVAL_DATA: 'data/eval.json' }))).includes('SCRIPT-QUOTE'));
    assert.ok(!rules(await lint(minicpm({ do_train: '' }))).includes('SCRIPT-QUOTE'), 'a bare bool flag is True');
  });

  it('QWEN-GPTQ-WARN: the benign quantization_config warning of Qwen-1 Q-LoRA on an Int4 checkpoint (info)', async () => {
    const q1 = (model: string, extra: string) => `torchrun --nproc_per_node 1 finetune.py --model_name_or_path ${model} --data_path data/train.json --use_lora ${extra} --output_dir o\n`;
    const text = q1('Qwen/Qwen-7B-Chat-Int4', '--q_lora --fp16 True');
    const f = (await lint(text)).find((x) => x.rule === 'QWEN-GPTQ-WARN')!;
    assert.equal(f.severity, 'info');
    assert.equal(covered(text, f.range), '--q_lora');
    assert.ok(!rules(await lint(q1('Qwen/Qwen-7B-Chat', '--q_lora --fp16 True'))).includes('QWEN-GPTQ-WARN'));
    assert.ok(!rules(await lint(q1('Qwen/Qwen-7B-Chat-Int4', '--q_lora False --fp16 True'))).includes('QWEN-GPTQ-WARN'));
  });

  it('SCRIPT-LR: MiniCPM-V LoRA at its shipped 1e-6 is an info on the value, naming the LoRA range; no fix', async () => {
    const text = minicpm({ learning_rate: '1e-6' });
    const f = (await lint(text)).find((x) => x.rule === 'SCRIPT-LR')!;
    assert.equal(f.severity, 'info');
    assert.equal(covered(text, f.range), '1e-6');
    assert.match(f.message, /^--learning_rate 1e-6 is a full-fine-tuning learning rate, but this run trains LoRA adapters \(--use_lora true\)\. LoRA usually trains at 1e-4\.\.3e-4 \(Qwen's LoRA scripts use 3e-4/);
    assert.equal(f.fixes, undefined, 'changing the LR is advice, not a safe fix');
    assert.ok(rules(await lint(minicpm({ learning_rate: '1e-5' }))).includes('SCRIPT-LR'), '1e-5 is the limit, inclusive');
    const inline = 'torchrun --nproc_per_node 1 finetune.py --model_name_or_path openbmb/MiniCPM-V-2_6 --llm_type qwen --use_lora true --tune_llm false --output_dir o --learning_rate=5e-6\n';
    assert.equal(covered(inline, (await lint(inline)).find((x) => x.rule === 'SCRIPT-LR')!.range), '5e-6', '--learning_rate=5e-6: the value part');
  });

  it('SCRIPT-LR: the value from a variable is reported at the assignment; an unresolved variable says nothing', async () => {
    const text = minicpm({ learning_rate: '$LR' }, { LR: '1e-6' });
    const f = (await lint(text)).find((x) => x.rule === 'SCRIPT-LR')!;
    assert.equal(covered(text, f.range), '1e-6');
    assert.equal(f.range.start.line, 3, 'LR="1e-6" is the fourth line');
    assert.match(f.message, /^LR=1e-6 \(--learning_rate \$LR\) is a full-fine-tuning learning rate/);
    assert.ok(!rules(await lint(minicpm({ learning_rate: '$LR' }))).includes('SCRIPT-LR'), 'LR comes from the environment');
    assert.ok(!rules(await lint(minicpm({ learning_rate: '$LR' }, { LR: '$1' }))).includes('SCRIPT-LR'), 'LR is a positional argument');
  });

  it('SCRIPT-LR: Qwen bare --use_lora, Q-LoRA and --lora_enable count; full fine-tuning, LoRA at 2e-4 and --use_lora False do not', async () => {
    const qwen1 = (flags: string) => `torchrun --nproc_per_node 1 finetune.py --model_name_or_path Qwen/Qwen-7B-Chat --data_path data/train.json --output_dir o --bf16 True ${flags}\n`;
    const lora = (await lint(qwen1('--learning_rate 5e-6 --use_lora'))).find((x) => x.rule === 'SCRIPT-LR')!;
    assert.match(lora.message, /trains LoRA adapters \(--use_lora\)/);
    const int4 = 'torchrun --nproc_per_node 1 finetune.py --model_name_or_path Qwen/Qwen-7B-Chat-Int4 --output_dir o --fp16 True --use_lora --q_lora --learning_rate 1e-6\n';
    assert.match((await lint(int4)).find((x) => x.rule === 'SCRIPT-LR')!.message, /trains QLoRA adapters/);
    const qwen25 = (useLora: string) => `USE_LORA=${useLora}\ntorchrun --nproc_per_node 1 finetune.py --model_name_or_path Qwen/Qwen2.5-7B-Instruct --output_dir o --use_lora \${USE_LORA} --learning_rate 1e-5\n`;
    assert.ok(rules(await lint(qwen25('True'))).includes('SCRIPT-LR'));
    assert.ok(!rules(await lint(qwen25('False'))).includes('SCRIPT-LR'), 'USE_LORA=False is full fine-tuning');
    assert.ok(rules(await lint('torchrun --nproc_per_node 1 train_qwen.py --model_name_or_path Qwen/Qwen2.5-VL-7B-Instruct --output_dir o --lora_enable True --learning_rate 2e-7\n')).includes('SCRIPT-LR'));
    assert.ok(!rules(await lint(qwen1('--learning_rate 1e-5'))).includes('SCRIPT-LR'), "full fine-tuning at Qwen's 1e-5");
    assert.ok(!rules(await lint(minicpm({ use_lora: 'false', tune_llm: 'true', learning_rate: '1e-5' }))).includes('SCRIPT-LR'), 'MiniCPM-V full fine-tuning');
    assert.ok(!rules(await lint(qwen1('--learning_rate 1e-6 --q_lora'))).includes('SCRIPT-LR'), '--q_lora without --use_lora trains no adapters');
    assert.ok(!rules(await lint(minicpm())).includes('SCRIPT-LR'), 'LoRA at 2e-4');
    assert.ok(!rules(await lint(qwen1('--use_lora --learning_rate 3e-4'))).includes('SCRIPT-LR'));
    assert.ok(!rules(await lint(qwen1('--use_lora'))).includes('SCRIPT-LR'), 'no flag: the 5e-5 default');
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Range } from '../../../src/core/lint/findings';
import { lastFlag, parseShellScript, variableAt, type ShellScript } from '../../../src/core/script/shell';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const minicpmPath = path.join(root, 'examples', 'minicpm-v-lora', 'finetune_lora.sh');
const qwenPath = path.join(root, 'test', 'fixtures', 'scripts', 'qwen_finetune_lora_ds.sh');

function textAt(script: ShellScript, range: Range): string {
  return script.text.slice(script.lines.offset(range.start), script.lines.offset(range.end));
}

describe('shell script parsing (tree-sitter-bash)', () => {
  it('finds the torchrun launch of the MiniCPM-V LoRA script with resolved flags', async () => {
    const script = await parseShellScript(readFileSync(minicpmPath, 'utf8'));
    assert.equal(script.launches.length, 1);
    const launch = script.launches[0];
    assert.equal(launch.launcher, 'torchrun');
    assert.equal(launch.program?.text, 'finetune.py');
    assert.equal(textAt(script, launch.launcherRange), 'torchrun');
    // DISTRIBUTED_ARGS is split into the five torchrun flags, each mapped into the quoted assignment.
    assert.deepEqual(launch.launcherFlags.map((f) => f.name), ['nproc_per_node', 'nnodes', 'node_rank', 'master_addr', 'master_port']);
    const nproc = launch.launcherFlags[0];
    assert.equal(nproc.value?.text, '8');
    assert.equal(nproc.flagRange.start.line, 20);
    assert.equal(textAt(script, nproc.flagRange), '--nproc_per_node');
    // The value came from GPUS_PER_NODE=8: its range is the 8 of that assignment.
    assert.equal(nproc.value?.range.start.line, 3);
    assert.equal(textAt(script, nproc.value!.range), '8');
    assert.deepEqual(nproc.value?.vars, ['DISTRIBUTED_ARGS', 'GPUS_PER_NODE']);
    const llmType = lastFlag(launch.programFlags, 'llm_type');
    assert.equal(llmType?.value?.text, 'qwen2');
    assert.equal(textAt(script, llmType!.value!.range), 'qwen2');
    assert.equal(llmType!.value!.range.start.line, 15);
    assert.equal(textAt(script, llmType!.value!.useRange), '$LLM_TYPE');
    const regex = lastFlag(launch.programFlags, 'lora_target_modules');
    assert.equal(regex?.value?.text, 'llm\\..*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj|o_proj)');
    assert.equal(lastFlag(launch.programFlags, 'do_train')?.value, undefined);
    const evalStrategy = lastFlag(launch.programFlags, 'evaluation_strategy');
    assert.equal(textAt(script, evalStrategy!.flagRange), '--evaluation_strategy');
    assert.equal(evalStrategy!.value?.text, 'steps');
    assert.equal(textAt(script, evalStrategy!.value!.range), 'steps');
    assert.equal(lastFlag(launch.programFlags, 'report_to')?.value?.text, 'tensorboard');
    assert.equal(launch.programFlags.length, 40);
  });

  it('resolves ${X:-default}, $(...) as unknown, export, and keeps defaults over argument-loop assignments', async () => {
    const script = await parseShellScript(readFileSync(qwenPath, 'utf8'));
    const launch = script.launches[0];
    assert.equal(launch.launcher, 'torchrun');
    const byName = new Map(launch.launcherFlags.map((f) => [f.name, f.value?.text]));
    assert.equal(byName.get('nproc_per_node'), undefined, 'GPUS_PER_NODE=$(python -c ...) is not known statically');
    assert.equal(byName.get('nnodes'), '1');
    assert.equal(byName.get('master_addr'), 'localhost');
    assert.equal(byName.get('master_port'), '6001');
    assert.equal(lastFlag(launch.programFlags, 'model_name_or_path')?.value?.text, 'Qwen/Qwen-7B-Chat');
    assert.equal(lastFlag(launch.programFlags, 'deepspeed')?.value?.text, 'ds_config_zero2.json');
    assert.equal(lastFlag(launch.programFlags, 'use_lora')?.value, undefined, '--use_lora is followed by another flag');
    assert.equal(variableAt(script, 'CUDA_DEVICE_MAX_CONNECTIONS', launch)?.exported, true);
    assert.equal(variableAt(script, 'DIR', launch)?.value, undefined);
  });

  it('handles quoting, concatenation, --flag=value, prefix assignments and escaped newlines', async () => {
    const text = [
      'OUT=/tmp/run',
      "NAME='my run'",
      'export LR=2e-5',
      'CUDA_VISIBLE_DEVICES=0,1 python -u train.py --output_dir="$OUT/$NAME" --lr=${LR} \\',
      '   --flag \'a b\' --bf16 --n ${UNSET:-3} --m ${OUT:+set} --x $(date)',
    ].join('\n');
    const script = await parseShellScript(text);
    assert.equal(script.launches.length, 1);
    const launch = script.launches[0];
    assert.equal(launch.launcher, 'python');
    assert.equal(launch.program?.text, 'train.py');
    assert.equal(launch.env.get('CUDA_VISIBLE_DEVICES')?.value, '0,1');
    const flags = new Map(launch.programFlags.map((f) => [f.name, f]));
    assert.equal(flags.get('output_dir')?.value?.text, '/tmp/run/my run');
    assert.equal(flags.get('output_dir')?.inline, true);
    assert.equal(textAt(script, flags.get('output_dir')!.flagRange), '--output_dir');
    assert.equal(flags.get('lr')?.value?.text, '2e-5');
    assert.equal(flags.get('flag')?.value?.text, 'a b');
    assert.equal(flags.get('bf16')?.value, undefined);
    assert.equal(flags.get('n')?.value?.text, '3');
    assert.equal(flags.get('m')?.value?.text, 'set');
    assert.equal(flags.get('x')?.value?.text, undefined);
    assert.equal(flags.get('flag')?.flagRange.start.line, 4);
    // Prefix assignments do not leak to later commands.
    const after = await parseShellScript(`${text}\ntorchrun a.py`);
    assert.equal(after.launches[1].env.get('CUDA_VISIBLE_DEVICES'), undefined);
  });

  it('recognises python -m torch.distributed.run, deepspeed and accelerate launch', async () => {
    const script = await parseShellScript(
      [
        'python -m torch.distributed.run --nproc_per_node=2 --standalone train.py --a 1',
        'deepspeed --num_gpus 4 train.py --deepspeed ds.json',
        'accelerate launch --multi_gpu --num_processes 2 train.py --b',
        'nohup python3 train.py --c 2 > log.txt 2>&1 &',
        'echo torchrun not-a-launch',
      ].join('\n'),
    );
    assert.deepEqual(script.launches.map((l) => l.launcher), ['torch.distributed.run', 'deepspeed', 'accelerate', 'python']);
    assert.deepEqual(script.launches.map((l) => l.program?.text), ['train.py', 'train.py', 'train.py', 'train.py']);
    assert.deepEqual(script.launches[0].launcherFlags.map((f) => [f.name, f.value?.text]), [['nproc_per_node', '2'], ['standalone', undefined]]);
    assert.deepEqual(script.launches[2].launcherFlags.map((f) => [f.name, f.value?.text]), [['multi_gpu', undefined], ['num_processes', '2']]);
    assert.equal(textAt(script, script.launches[0].launcherRange), 'python -m torch.distributed.run');
    assert.equal(textAt(script, script.launches[2].launcherRange), 'accelerate launch');
    assert.deepEqual(script.launches[3].programFlags.map((f) => [f.name, f.value?.text]), [['c', '2']]);
  });

  it('reports syntax errors but still analyses the rest', async () => {
    const script = await parseShellScript('X=1\nif then fi )\ntorchrun t.py --a $X\n');
    assert.ok(script.syntaxErrors.length > 0);
    assert.equal(script.launches.at(-1)?.programFlags[0].value?.text, '1');
  });

  it('expands arrays: ARGS=(...), ARGS+=(...), "${ARGS[@]}" word by word, ${ARGS[1]}', async () => {
    const text = 'ARGS=(--model_name_or_path "my model" --learning_rate 1e-5)\nARGS+=(--bf16 true)\ntorchrun train.py "${ARGS[@]}" --x "${ARGS[1]}" --y ${ARGS[1]}\n';
    const script = await parseShellScript(text);
    const flags = script.launches[0].programFlags.map((f) => [f.name, f.value?.text]);
    assert.deepEqual(flags, [['model_name_or_path', 'my model'], ['learning_rate', '1e-5'], ['bf16', 'true'], ['x', 'my model'], ['y', 'my']]);
    const model = script.launches[0].programFlags[0];
    assert.equal(textAt(script, model.flagRange), '--model_name_or_path');
    assert.equal(textAt(script, model.value!.range), 'my model');
    assert.equal(model.value!.range.start.line, 0);
    assert.equal(script.assignments.at(-1)?.value, '--model_name_or_path my model --learning_rate 1e-5 --bf16 true');
  });
});

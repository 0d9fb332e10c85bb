import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { lintDeepSpeedConfig } from '../../../src/core/deepspeed/config';
import { runCli } from '../../../src/cli/main';

const real = path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'fixtures', 'real', 'deepspeed');

describe('DeepSpeed config lint', () => {
  for (const name of readdirSync(real).filter((n) => n.endsWith('.json'))) {
    it(`public config ${name} has no errors or warnings`, () => {
      const { findings, facts } = lintDeepSpeedConfig(readFileSync(path.join(real, name), 'utf8'));
      assert.deepEqual(findings.filter((f) => f.severity !== 'info'), []);
      assert.ok(facts && [2, 3].includes(facts.stage));
    });
  }

  it('reads stage, offload, optimizer and scheduler facts', () => {
    const { facts } = lintDeepSpeedConfig(readFileSync(path.join(real, 'qwen3vl_zero3_offload.json'), 'utf8'));
    assert.equal(facts?.stage, 3);
    assert.equal(facts?.offloadOptimizer, 'cpu');
    assert.equal(facts?.offloadParam, 'cpu');
    const minicpm = lintDeepSpeedConfig(readFileSync(path.join(real, 'minicpmv_ds_config_zero2.json'), 'utf8')).facts!;
    assert.equal(minicpm.optimizerType, 'AdamW');
    assert.equal(minicpm.schedulerType, 'WarmupLR');
    assert.equal(minicpm.valueAt('optimizer.params.lr')?.value, 'auto');
  });

  it('suggests the key a typo meant', () => {
    const text = '{\n  "zero_optimisation": {"stage": 2},\n  "bf16": {"enabeld": true}\n}';
    const findings = lintDeepSpeedConfig(text).findings;
    assert.deepEqual(findings.map((f) => [f.rule, f.severity, f.range.start.line]), [['DSCFG-UNKNOWN-KEY', 'warning', 1], ['DSCFG-UNKNOWN-KEY', 'warning', 2]]);
    assert.match(findings[0].message, /did you mean "zero_optimization"\?/);
    assert.match(findings[1].message, /did you mean "enabled"\?/);
  });

  it('reports schema errors, invalid JSON, fp16+bf16 and offload_param below stage 3', () => {
    const stage = lintDeepSpeedConfig('{"zero_optimization": {"stage": 4, "offload_optimizer": {"device": "gpu"}}}').findings;
    assert.deepEqual(stage.map((f) => f.rule), ['DSCFG-SCHEMA', 'DSCFG-SCHEMA']);
    assert.match(stage[0].message, /allowed: 0, 1, 2, 3/);
    assert.match(stage[1].message, /"none", "cpu", "nvme"/);
    assert.equal(lintDeepSpeedConfig('{"train_batch_size": "16"}').findings[0].rule, 'DSCFG-SCHEMA');
    assert.equal(lintDeepSpeedConfig('{"a": 1,}').findings[0].rule, 'DSCFG-JSON');
    assert.equal(lintDeepSpeedConfig('// c\n{}').findings[0].rule, 'DSCFG-JSON');
    assert.deepEqual(lintDeepSpeedConfig('{"fp16": {"enabled": true}, "bf16": {"enabled": true}}').findings.map((f) => f.rule), ['DSCFG-PRECISION']);
    assert.deepEqual(lintDeepSpeedConfig('{"zero_optimization": {"stage": 2, "offload_param": {"device": "cpu"}}}').findings.map((f) => f.rule), ['DSCFG-OFFLOAD-STAGE']);
    assert.deepEqual(lintDeepSpeedConfig('{"fp16": {"enabled": "auto"}, "bf16": {"enabled": "auto"}}').findings, []);
  });

  it('ftw lint lints the public configs and the example script', async () => {
    let out = '';
    const io = { stdout: (t: string) => (out += t), stderr: () => undefined, cwd: real };
    assert.equal(await runCli(['lint', '--json', ...readdirSync(real)], io), 0);
    assert.deepEqual(JSON.parse(out), []);
    out = '';
    const example = path.resolve(__dirname, '..', '..', '..', '..', 'examples', 'minicpm-v-lora');
    assert.equal(await runCli(['lint', '--json', 'finetune_lora.sh'], { ...io, cwd: example }), 1);
    const rules = (JSON.parse(out) as Array<{ rule: string }>).map((f) => f.rule);
    assert.ok(rules.includes('SCRIPT-LLMTYPE') && rules.includes('SCRIPT-EVALSTRAT'));
  });

  it('ftw lint --nvidia-smi / --transformers-version check the script against a real target', async () => {
    let out = '';
    const example = path.resolve(__dirname, '..', '..', '..', '..', 'examples', 'minicpm-v-lora');
    const smi = path.resolve(real, '..', 'nvidia-smi', 'nvidia-smi-query.csv');
    const io = { stdout: (t: string) => (out += t), stderr: () => undefined, cwd: example };
    assert.equal(await runCli(['lint', '--json', '--nvidia-smi', smi, '--transformers-version', '5.17.0', 'finetune_lora.sh'], io), 1);
    const findings = JSON.parse(out) as Array<{ rule: string; severity: string; message: string }>;
    const errors = findings.filter((f) => f.severity === 'error').map((f) => `${f.rule} ${f.message.split(' ')[0]}`);
    assert.ok(errors.includes('SCRIPT-GPUS GPUS_PER_NODE'), errors.join('; '));
    assert.ok(errors.includes('SCRIPT-UNKNOWN-ARG --logging_dir'));
    assert.ok(errors.includes('SCRIPT-UNKNOWN-ARG --warmup_ratio'));
    assert.ok(errors.includes('SCRIPT-EVALSTRAT --evaluation_strategy'));
    assert.match(findings.find((f) => f.rule === 'SCRIPT-GPUS')!.message, /NVIDIA H100 80GB HBM3|1 GPU/);
  });
});

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { PreflightItem, PreflightSummary } from '../../../src/protocol/launch';
import { realFixturesDir } from '../../harness/shared';
import { until } from '../../harness/wait';

type PanelPreflight = { items: PreflightItem[]; summary: PreflightSummary };

describe('launch preflight: Launch panel findings and estimate; a probed target replaces gpu.default in the script lint', function () {
  this.timeout(120_000);
  const workspace = process.env.FTW_TEST_WORKSPACE ?? '';
  const script = vscode.Uri.file(path.join(workspace, 'finetune_lora.sh'));
  const originalPath = process.env.PATH;

  before(async () => {
    await vscode.extensions.getExtension('finetune-workbench.finetune-workbench')?.activate();
  });

  after(async () => {
    // Close the panel first, so no preflight of its can set the probed target again after the refresh clears it.
    process.env.PATH = originalPath;
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('finetuneWorkbench.refreshHosts');
    // The next suites expect the gpu.default lint: wait until the script is re-linted without the probed target.
    await until('the script lint back on gpu.default', () => !vscode.languages.getDiagnostics(script).some((d) => d.code === 'SCRIPT-GPUS'));
  });

  it('lists the script findings (with file and line), the dataset details and the memory estimate against gpu.default when the target has no GPUs', async () => {
    await vscode.window.showTextDocument(script);
    await vscode.commands.executeCommand('finetuneWorkbench.openLaunchPanel', script);
    const result = await until('the panel preflight', async () => {
      const r = await vscode.commands.executeCommand<PanelPreflight | undefined>('finetuneWorkbench.runPreflight');
      return r?.summary.state === 'done' ? r : undefined;
    });
    const at = (rule: string) => result.items.find((i) => i.rule === rule);
    assert.equal(at('SCRIPT-LLMTYPE')?.file, 'finetune_lora.sh');
    assert.equal(at('SCRIPT-LLMTYPE')?.line, 15);
    assert.equal(at('SCRIPT-DATASET')?.severity, 'error');
    assert.ok(result.items.some((i) => i.file === 'data/train.json' && i.rule === 'DS-IMG-FILE' && typeof i.id === 'number'), JSON.stringify(result.items.map((i) => `${i.file}:${i.rule}`)));
    assert.equal(result.summary.verdict, 'blocked');
    assert.match(result.summary.gpu ?? '', /8× NVIDIA A100-SXM4-80GB .*gpu\.default setting/);
    assert.equal(result.summary.estimates.length, 1);
    assert.match(result.summary.estimates[0], /^Memory estimate \(line 27\): ≈ [\d.]+ GiB per GPU of 80\.0 GiB per GPU: fits$/);
  });

  it('with the real H100 nvidia-smi output on the local target: the panel checks 1 GPU (GPUS_PER_NODE=8 blocks), and the editor lint and CodeLens use the probe', async () => {
    // The local target's GPU: the real nvidia-smi output of an H100, printed by an nvidia-smi on PATH (no GPU here).
    const bin = mkdtempSync(path.join(os.tmpdir(), 'ftw-fake-smi-'));
    mkdirSync(bin, { recursive: true });
    const smi = path.join(realFixturesDir, 'nvidia-smi');
    writeFileSync(
      path.join(bin, 'nvidia-smi'),
      `#!/bin/bash\ncase "$*" in\n  *--query-gpu=*) cat '${smi}/nvidia-smi-query.csv' ;;\n  *--query-compute-apps=*) cat '${smi}/nvidia-smi-apps.csv' ;;\n  *) exit 2 ;;\nesac\n`,
    );
    chmodSync(path.join(bin, 'nvidia-smi'), 0o755);
    process.env.PATH = `${bin}:${originalPath}`;
    await vscode.commands.executeCommand('finetuneWorkbench.refreshHosts');
    const result = await until('the panel preflight with the probed H100', async () => {
      const r = await vscode.commands.executeCommand<PanelPreflight | undefined>('finetuneWorkbench.runPreflight');
      return r?.summary.state === 'done' && /H100/.test(r.summary.gpu ?? '') ? r : undefined;
    });
    assert.match(result.summary.gpu ?? '', /^1× NVIDIA H100 80GB HBM3 \(compute capability 9\.0, 79\.6 GiB\), probe of local$/);
    const gpus = result.items.find((i) => i.rule === 'SCRIPT-GPUS');
    assert.equal(gpus?.line, 3);
    assert.match(gpus?.message ?? '', /8 processes per node, but the target has 1 GPU\(s\) \(probe of local\)/);
    assert.match(result.summary.estimates[0], /of 79\.2 GiB free on the chosen GPUs: fits$/);

    // The editor's script lint now uses the probed target instead of gpu.default (8× A100 80 GB).
    const diagnostic = await until('SCRIPT-GPUS from the probed target in the editor', () =>
      vscode.languages.getDiagnostics(script).find((d) => d.code === 'SCRIPT-GPUS' && /probe of local \(Launch panel\)/.test(d.message)),
    );
    assert.equal(diagnostic.range.start.line, 3);
    const lens = await until('a CodeLens against the H100', async () => {
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', script, 10);
      return lenses.find((l) => /of 79\.6 GiB per GPU/.test(l.command?.title ?? ''));
    });
    assert.match(lens.command?.tooltip ?? '', /probe of local \(Launch panel\): 1× NVIDIA H100/);
  });
});

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';

const extensionId = 'finetune-workbench.finetune-workbench';

interface OpenCurvesResult {
  opened: boolean;
  runs: string[];
  points: number;
}

function workspace(): string {
  const folder = process.env.FTW_TEST_WORKSPACE ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(folder, 'no test workspace');
  return folder;
}

function curvesTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith('finetuneWorkbench.curves'));
}

/** Tab changes reach the extension host a moment after the panel is created. */
async function waitForCurvesTabs(count: number): Promise<vscode.Tab[]> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const tabs = curvesTabs();
    if (tabs.length === count) return tabs;
    await new Promise((r) => setTimeout(r, 100));
  }
  const all = vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((tab) => `${tab.label}: ${tab.input?.constructor?.name} ${(tab.input as { viewType?: string })?.viewType ?? ''}`);
  assert.fail(`expected ${count} Training Curves tab(s); tabs: ${all.join(' | ')}`);
}

describe('training curves', () => {
  before(async () => {
    await vscode.extensions.getExtension(extensionId)!.activate();
  });

  after(async () => {
    for (const tab of curvesTabs()) await vscode.window.tabGroups.close(tab);
  });

  it('the Runs view finds the example run output/lora_run (runs/ and trainer_state.json as one run)', async () => {
    const runs = (await vscode.commands.executeCommand('finetuneWorkbench.refreshRuns')) as string[];
    assert.deepEqual(runs, [path.join(workspace(), 'output', 'lora_run')]);
    await vscode.commands.executeCommand('workbench.view.extension.finetuneWorkbench');
  });

  it('opens the Training Curves panel for a folder Uri with every point of the run', async () => {
    const folder = path.join(workspace(), 'output', 'lora_run');
    const result = (await vscode.commands.executeCommand('finetuneWorkbench.openCurves', vscode.Uri.file(folder))) as OpenCurvesResult;
    assert.equal(result.opened, true);
    assert.deepEqual(result.runs, [folder]);
    // 60 train points × 4 tags (loss, lr, grad_norm, epoch) + 6 evals × 4 tags.
    assert.equal(result.points, 60 * 4 + 6 * 4);
    const tabs = await waitForCurvesTabs(1);
    assert.equal(tabs[0].label, 'Training Curves');
  });

  it('maps a metrics file to its run folder and adds a second run to the same panel', async () => {
    const second = path.join(workspace(), 'output', 'second_run');
    mkdirSync(second, { recursive: true });
    writeFileSync(path.join(second, 'trainer_log.jsonl'), '{"current_steps": 10, "loss": 2.0, "lr": 1e-4, "epoch": 0.1}\n');
    const result = (await vscode.commands.executeCommand('finetuneWorkbench.openCurves', vscode.Uri.file(path.join(second, 'trainer_log.jsonl')))) as OpenCurvesResult;
    assert.deepEqual(result.runs, [path.join(workspace(), 'output', 'lora_run'), second]);
    await waitForCurvesTabs(1);
    const before = result.points;
    // The run grows: only the appended line is read.
    appendFileSync(path.join(second, 'trainer_log.jsonl'), '{"current_steps": 20, "loss": 1.5, "lr": 9e-5, "epoch": 0.2}\n');
    const again = (await vscode.commands.executeCommand('finetuneWorkbench.openCurves', vscode.Uri.file(second))) as OpenCurvesResult;
    assert.equal(again.points, before + 3);
    const runs = (await vscode.commands.executeCommand('finetuneWorkbench.refreshRuns')) as string[];
    assert.ok(runs.includes(second), runs.join(', '));
  });

  it('registers the commands for real (no placeholder answers)', async () => {
    const pkg = JSON.parse(readFileSync(path.join(vscode.extensions.getExtension(extensionId)!.extensionPath, 'package.json'), 'utf8')) as { activationEvents: string[] };
    assert.ok(pkg.activationEvents.includes('onWebviewPanel:finetuneWorkbench.curves'));
    const result = (await vscode.commands.executeCommand('finetuneWorkbench.refreshRuns')) as unknown;
    assert.ok(Array.isArray(result));
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';

const extensionId = 'finetune-workbench.finetune-workbench';

interface Manifest {
  contributes: {
    commands: { command: string }[];
    configuration: { properties: Record<string, { default?: unknown }> }[];
  };
}

function manifest(): Manifest {
  const extension = vscode.extensions.getExtension(extensionId);
  assert.ok(extension, `extension ${extensionId} is not loaded`);
  return JSON.parse(readFileSync(path.join(extension.extensionPath, 'package.json'), 'utf8')) as Manifest;
}

describe('foundation', () => {
  before(async () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension, `extension ${extensionId} is not loaded`);
    await extension.activate();
  });

  it('activates in the real extension host', () => {
    const extension = vscode.extensions.getExtension(extensionId)!;
    assert.equal(extension.isActive, true);
    console.log(`[ftw-suite] ${extensionId} active in VS Code ${vscode.version}`);
  });

  it('registers every command the manifest contributes', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = manifest().contributes.commands.map((c) => c.command).filter((id) => !registered.has(id));
    assert.deepEqual(missing, []);
  });

  it('gives every contributed setting a value through the configuration API', () => {
    const config = vscode.workspace.getConfiguration();
    for (const section of manifest().contributes.configuration) {
      for (const key of Object.keys(section.properties)) {
        assert.notEqual(config.get(key), undefined, `${key} has no value`);
      }
    }
  });

  it('opens the Fine-tune views without errors', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.finetuneWorkbench');
    await vscode.commands.executeCommand('finetuneWorkbench.jobs.focus');
    await vscode.commands.executeCommand('finetuneWorkbench.hosts.focus');
  });

  it('shows its log channel on request', async () => {
    await vscode.commands.executeCommand('finetuneWorkbench.showLog');
  });

  it('opens the example workspace', () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.equal(folders.length, 1);
    assert.ok(folders[0]!.uri.fsPath.length > 0);
  });
});

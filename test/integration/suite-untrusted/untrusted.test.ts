import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { sleep } from '../../harness/wait';

const extensionId = 'finetune-workbench.finetune-workbench';

describe('untrusted workspace (restricted mode)', function () {
  this.timeout(90_000);
  const workspace = process.env.FTW_TEST_WORKSPACE ?? '';

  before(async () => {
    await vscode.extensions.getExtension(extensionId)?.activate();
  });

  it('really runs untrusted', () => {
    assert.equal(vscode.workspace.isTrusted, false, 'the folder should open in restricted mode');
    assert.equal(vscode.extensions.getExtension(extensionId)?.isActive, true);
  });

  it('still lints datasets', async () => {
    const uri = vscode.Uri.file(path.join(workspace, 'data', 'train.json'));
    await vscode.window.showTextDocument(uri);
    const deadline = Date.now() + 60_000;
    let rules: string[] = [];
    while (Date.now() < deadline) {
      rules = vscode.languages.getDiagnostics(uri).map((d) => String(typeof d.code === 'object' ? d.code.value : d.code));
      if (rules.length) break;
      await sleep(200);
    }
    assert.ok(rules.length > 0, 'no dataset diagnostics in restricted mode');
  });

  it('refuses to launch, and the script does not run', async () => {
    const marker = path.join(workspace, 'launched-marker');
    const script = path.join(workspace, 'untrusted_launch.sh');
    writeFileSync(script, `#!/bin/bash\ntouch ${JSON.stringify(marker)}\n`);
    const job = await vscode.commands.executeCommand('finetuneWorkbench.launchScript', vscode.Uri.file(script), 'local');
    assert.equal(job, undefined);
    await sleep(3000);
    assert.equal(existsSync(marker), false, 'the script ran in an untrusted workspace');
  });
});

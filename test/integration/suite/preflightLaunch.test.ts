import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { JobRecord } from '../../../src/core/jobs/job';
import { until } from '../../harness/wait';

describe('preflight before launchScript and finetune tasks', function () {
  this.timeout(120_000);
  const workspace = process.env.FTW_TEST_WORKSPACE ?? '';
  const dir = path.join(workspace, 'preflight-test');
  const script = path.join(dir, 'train-missing-data.sh');
  const marker = path.join(dir, 'ran.marker');

  before(async () => {
    await vscode.extensions.getExtension('finetune-workbench.finetune-workbench')?.activate();
    mkdirSync(dir, { recursive: true });
    // The launch line names a dataset that does not exist (SCRIPT-FILE-MISSING, an error); the marker shows the script ran.
    writeFileSync(script, `#!/bin/bash\ncd "$(dirname "$0")"\ntouch ran.marker\nexit 0\npython finetune.py --data_path no-such-folder/train.json --output_dir out\n`);
  });
  beforeEach(() => rmSync(marker, { force: true }));

  async function runTask(label: string, extra: Record<string, unknown>): Promise<number | undefined> {
    mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    writeFileSync(
      path.join(workspace, '.vscode', 'tasks.json'),
      JSON.stringify({ version: '2.0.0', tasks: [{ type: 'finetune', label, script: 'preflight-test/train-missing-data.sh', target: 'local', ...extra }] }, null, 2),
    );
    const task = await until(`the finetune task ${label}`, async () => (await vscode.tasks.fetchTasks({ type: 'finetune' })).find((t) => t.name === label), 20_000);
    const ended = new Promise<number | undefined>((resolve) => {
      const sub = vscode.tasks.onDidEndTaskProcess((e) => {
        if (e.execution.task.name === label) {
          sub.dispose();
          resolve(e.exitCode);
        }
      });
    });
    await vscode.tasks.executeTask(task);
    return ended;
  }

  it('a finetune task whose preflight finds an error ends with exit code 1 and does not run the script', async () => {
    assert.equal(await runTask('blocked preflight', {}), 1);
    assert.equal(existsSync(marker), false, 'the script did not run');
  });

  it('a finetune task with "force": true runs the script despite the preflight error', async () => {
    assert.equal(await runTask('forced preflight', { force: true }), 0);
    assert.equal(existsSync(marker), true, 'the script ran');
  });

  it('launchScript with force launches a script whose preflight finds an error', async () => {
    const job = (await vscode.commands.executeCommand('finetuneWorkbench.launchScript', vscode.Uri.file(script), 'local', true)) as JobRecord;
    assert.ok(job?.id, 'the command returns the job');
    await until('the marker the script writes', () => existsSync(marker), 60_000);
  });
});

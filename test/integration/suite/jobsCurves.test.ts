import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { JobRecord } from '../../../src/core/jobs/job';
import { realFixturesDir } from '../../harness/shared';
import { sleep, until } from '../../harness/wait';

const fixtures = path.join(realFixturesDir, 'hf-trainer-5.17');

interface OpenCurvesResult {
  opened: boolean;
  runs: string[];
  points: number;
}

const shownPoints = async () => (await vscode.commands.executeCommand('finetuneWorkbench.curves.shownPoints')) as Record<string, number>;

describe('jobs → curves: Open Curves of a running job, live; jobs in the Runs view', function () {
  this.timeout(120_000);
  const workspace = process.env.FTW_TEST_WORKSPACE ?? '';
  const dir = path.join(workspace, 'jobs-curves-test');

  before(async () => {
    await vscode.extensions.getExtension('finetune-workbench.finetune-workbench')?.activate();
    mkdirSync(dir, { recursive: true });
    const root = path.resolve(__dirname, '..', '..', '..', '..');
    copyFileSync(path.join(root, 'test', 'jobs', 'replay-trainer.sh'), path.join(dir, 'replay-trainer.sh'));
    for (const f of readdirSync(fixtures).filter((n) => n.endsWith('.txt'))) copyFileSync(path.join(fixtures, f), path.join(dir, f));
    // The replay prints the real run's tqdm bars and log dicts over ~17 s.
    writeFileSync(path.join(dir, 'train-replay.sh'), '#!/bin/bash\ncd "$(dirname "$0")"\nbash replay-trainer.sh --delay 0.05\n');
  });

  after(async () => {
    for (const tab of vscode.window.tabGroups.all.flatMap((g) => g.tabs)) {
      if (tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith('finetuneWorkbench.curves')) await vscode.window.tabGroups.close(tab);
    }
  });

  it('opens the curves of a running local job from its log and sees points appear as the log grows, without being asked again', async () => {
    const job = (await vscode.commands.executeCommand('finetuneWorkbench.launchScript', vscode.Uri.file(path.join(dir, 'train-replay.sh')), 'local')) as JobRecord;
    assert.ok(job?.id);
    await until('the job to run', () => job.state === 'running' && job.jobDir);
    const result = (await vscode.commands.executeCommand('finetuneWorkbench.openJobCurves', job)) as OpenCurvesResult;
    assert.equal(result.opened, true);
    // No --output_dir in this script: the run is the job folder, read through the job's log file.
    const folder = path.resolve(job.jobDir!);
    assert.ok(result.runs.includes(folder), `${result.runs.join(', ')} should include ${folder}`);

    // Counts seen while the job still runs; the panel reads on its own (the job's stream tells it).
    const seen: number[] = [];
    while (job.state === 'running') {
      const points = (await shownPoints())[folder] ?? 0;
      if (seen.length === 0 || points > seen[seen.length - 1]) seen.push(points);
      await sleep(200);
    }
    console.log(`[ftw-suite] job curves point counts while running: ${seen.join(' → ')}`);
    assert.equal(job.state, 'succeeded', job.message ?? '');
    assert.ok(seen.filter((n) => n > 0).length >= 3, `the point count grew several times while the job ran: ${seen.join(' → ')}`);

    // At the end: every train dict of the real log (loss, grad_norm, learning_rate, epoch) is plotted.
    const final = await until('the last points', async () => {
      const points = (await shownPoints())[folder] ?? 0;
      return points >= 60 * 4 ? points : undefined;
    }, 20_000);
    assert.ok(final > seen[0], `${final} > ${seen[0]}`);
  });

  it('lists the job in the Runs view next to the workspace runs', async () => {
    const runs = (await vscode.commands.executeCommand('finetuneWorkbench.refreshRuns')) as string[];
    assert.ok(runs.includes(path.join(workspace, 'output', 'lora_run')), runs.join(', '));
    const jobFolders = runs.filter((r) => r.includes(`${path.sep}jobs${path.sep}`));
    assert.ok(jobFolders.length >= 1, `a job folder among the runs: ${runs.join(', ')}`);
  });
});

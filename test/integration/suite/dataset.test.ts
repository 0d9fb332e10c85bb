import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as inspector from 'node:inspector';
import * as vscode from 'vscode';
import { longestTasks } from '../../harness/cpuProfile';

const extensionId = 'finetune-workbench.finetune-workbench';

function workspaceFile(...parts: string[]): vscode.Uri {
  const root = process.env.FTW_TEST_WORKSPACE ?? vscode.workspace.workspaceFolders![0]!.uri.fsPath;
  return vscode.Uri.file(path.join(root, ...parts));
}

function ours(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'Finetune Workbench');
}

/** Waits until the extension's diagnostics for the document satisfy `done` (they arrive from a worker thread). */
async function waitForDiagnostics(uri: vscode.Uri, done: (diagnostics: vscode.Diagnostic[]) => boolean, timeoutMs = 20_000): Promise<vscode.Diagnostic[]> {
  const started = Date.now();
  for (;;) {
    const diagnostics = ours(uri);
    if (done(diagnostics)) return diagnostics;
    if (Date.now() - started > timeoutMs) assert.fail(`diagnostics did not settle: ${JSON.stringify(diagnostics.map((d) => [d.code, d.range.start.line]))}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Code actions at a range, retried until one is titled `title` (the worker re-lints after each edit or revert). */
async function actionTitled(uri: vscode.Uri, range: vscode.Range, kind: vscode.CodeActionKind, title: (t: string) => boolean): Promise<{ action: vscode.CodeAction; all: vscode.CodeAction[] }> {
  const started = Date.now();
  for (;;) {
    const all = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, range, kind.value);
    const action = all.find((a) => title(a.title));
    if (action) return { action, all };
    if (Date.now() - started > 20_000) assert.fail(`no such code action among ${all.map((a) => a.title).join(' | ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('dataset lint in the editor', () => {
  before(async () => {
    await vscode.extensions.getExtension(extensionId)!.activate();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('shows every deliberate fault of the example dataset at the offending key or value', async () => {
    const uri = workspaceFile('data', 'train.json');
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const diagnostics = await waitForDiagnostics(uri, (d) => d.length >= 11);
    const seen = diagnostics.map((d) => `${String(d.code)}:${document.getText(d.range)}`).sort();
    assert.deepEqual(seen, [
      'DS-DUP-ID:"3"',
      'DS-EMPTY:""',
      'DS-IMG-FILE:"images/broken.jpg"',
      'DS-IMG-FILE:"images/missing.png"',
      'DS-IMG-TAG-LATER:<image>',
      'DS-MULTI-UNKNOWN-TAG:<image_02>',
      'DS-MULTI-UNUSED-IMG:"<image_01>"',
      'DS-ROLE-KEYS:"from"',
      'DS-ROLE-KEYS:"from"',
      'DS-ROLE-VALUES:"gpt"',
      'DS-ROLE-VALUES:"human"',
    ]);
    const later = diagnostics.find((d) => d.code === 'DS-IMG-TAG-LATER')!;
    assert.equal(later.range.start.line, 23);
    assert.equal(later.severity, vscode.DiagnosticSeverity.Error);
  });

  it('applies a quick fix through the code action provider, changing exactly the role', async () => {
    const uri = workspaceFile('data', 'train.json');
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const diagnostics = await waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'DS-ROLE-VALUES'));
    const human = diagnostics.find((d) => d.code === 'DS-ROLE-VALUES' && document.getText(d.range) === '"human"')!;
    const before = document.getText();
    const { action: fix, all: actions } = await actionTitled(uri, human.range, vscode.CodeActionKind.QuickFix, (t) => t === 'Change role to "user"');
    assert.ok(fix.edit);
    assert.ok(actions.some((a) => a.title.startsWith('Fix all DS-ROLE-VALUES in this file')));
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    const line = human.range.start.line;
    assert.equal(document.lineAt(line).text, '      {"from": "user", "value": "<image>\\nWhat is the weather like in this street scene?"},');
    const after = document.getText().split('\n');
    before.split('\n').forEach((text, i) => i !== line && assert.equal(after[i], text, `line ${i} changed`));
    // The finding goes away once the worker re-lints the edited text.
    await waitForDiagnostics(uri, (d) => !d.some((x) => x.code === 'DS-ROLE-VALUES' && x.range.start.line === line));
  });

  it('moves a misplaced <image> tag and offers source.fixAll', async () => {
    const uri = workspaceFile('data', 'train.json');
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const diagnostics = await waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'DS-IMG-TAG-LATER'));
    const later = diagnostics.find((d) => d.code === 'DS-IMG-TAG-LATER')!;
    const { action: move } = await actionTitled(uri, later.range, vscode.CodeActionKind.QuickFix, (t) => t === 'Move <image> to the first user turn');
    assert.ok(move.edit);
    assert.ok(await vscode.workspace.applyEdit(move.edit));
    assert.equal(document.lineAt(21).text, '      {"role": "user", "content": "<image>\\nWhich bar is the tallest?"},');
    assert.equal(document.lineAt(23).text, '      {"role": "user", "content": "And the shortest?"},');
    await waitForDiagnostics(uri, (d) => !d.some((x) => x.code === 'DS-IMG-TAG-LATER'));
    const { action: fixAll } = await actionTitled(uri, new vscode.Range(0, 0, 0, 0), vscode.CodeActionKind.SourceFixAll, (t) => t.startsWith('Fix all dataset problems'));
    assert.ok(fixAll.edit);
    assert.ok(await vscode.workspace.applyEdit(fixAll.edit));
    assert.equal(document.lineAt(13).text, '      {"role": "user", "content": "<image>\\nWhat is the weather like in this street scene?"},');
    assert.equal(document.lineAt(14).text, '      {"role": "assistant", "content": "It is overcast and the road is wet, so it has probably just rained."}');
  });

  it('lints a file from disk into Problems with positions, without opening it', async () => {
    const uri = workspaceFile('data', 'from-disk.jsonl');
    const good = JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] });
    const bad = JSON.stringify({ messages: [{ role: 'human', content: 'q' }, { role: 'assistant', content: 'a' }] });
    writeFileSync(uri.fsPath, `${good}\n${good}\n${bad}\n`);
    const summary = await vscode.commands.executeCommand<{ format: string; samples: number; findings: number }>('finetuneWorkbench.lintDatasetFromDisk', uri);
    assert.deepEqual(summary, { format: 'messages', samples: 3, findings: 1 });
    const [diagnostic] = ours(uri);
    assert.equal(diagnostic?.code, 'DS-ROLE-VALUES');
    assert.deepEqual([diagnostic!.range.start.line, diagnostic!.range.start.character], [2, bad.indexOf('"human"')]);
  });

  it('sets the dataset format for a file through the command and re-lints with it', async () => {
    const uri = workspaceFile('data', 'eval.json');
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    await waitForDiagnostics(uri, () => true);
    assert.equal(await vscode.commands.executeCommand('finetuneWorkbench.setDatasetFormat', uri, 'llava'), 'llava');
    await waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'DS-ROLE-KEYS'));
    assert.equal(await vscode.commands.executeCommand('finetuneWorkbench.setDatasetFormat', uri, 'auto'), 'auto');
    await waitForDiagnostics(uri, (d) => d.length === 0);
  });

  it('shows a hover with the sample index, id, images and turns', async () => {
    const uri = workspaceFile('data', 'train.json');
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    await waitForDiagnostics(uri, (d) => d.length >= 11);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(30, 8));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /\*\*Sample 3\*\* · id `3` · 2 images · 2 turns/);
  });
});

describe('dataset lint in the editor: VS Code settings for large datasets', () => {
  it('turns merge-conflict and link detection off in the workspace (links for JSON only), and only those', async () => {
    const mergeConflict = () => vscode.workspace.getConfiguration('merge-conflict');
    const links = (languageId: string) => vscode.workspace.getConfiguration('editor', { languageId });
    try {
      const changed = await vscode.commands.executeCommand<string[]>('finetuneWorkbench.quietEditorForLargeDatasets');
      assert.deepEqual(changed, ['merge-conflict.codeLens.enabled', 'merge-conflict.decorators.enabled', '[json] editor.links', '[jsonl] editor.links']);
      assert.equal(mergeConflict().inspect('codeLens.enabled')?.workspaceValue, false);
      assert.equal(mergeConflict().inspect('decorators.enabled')?.workspaceValue, false);
      assert.equal(links('json').inspect('links')?.workspaceLanguageValue, false);
      assert.equal(links('jsonl').get('links'), false);
      // Other languages keep link detection; nothing was written globally.
      assert.equal(links('python').get('links'), true);
      assert.equal(vscode.workspace.getConfiguration('editor').inspect('links')?.workspaceValue, undefined);
      assert.equal(mergeConflict().inspect('codeLens.enabled')?.globalValue, undefined);
      // Run again: nothing left to change.
      assert.deepEqual(await vscode.commands.executeCommand<string[]>('finetuneWorkbench.quietEditorForLargeDatasets'), []);
    } finally {
      await mergeConflict().update('codeLens.enabled', undefined, vscode.ConfigurationTarget.Workspace);
      await mergeConflict().update('decorators.enabled', undefined, vscode.ConfigurationTarget.Workspace);
      for (const languageId of ['json', 'jsonl']) await links(languageId).update('links', undefined, vscode.ConfigurationTarget.Workspace, true);
    }
  });
});

describe('dataset lint in the editor: a 30 MB dataset', () => {
  it('shows diagnostics after opening, and typing keeps the extension host responsive (timer-drift probe)', async function () {
    this.timeout(120_000);
    const uri = workspaceFile('data', 'large.json');
    const samples: string[] = [];
    let size = 2;
    for (let i = 0; size < 30 * 1024 * 1024; i++) {
      const answer = `The picture shows ${'a red street sign next to two parked cars and a dog '.repeat(1 + (i % 6))}`;
      const sample = JSON.stringify(
        { id: String(i), image: 'images/cat.png', conversations: [{ role: i % 1000 === 7 ? 'human' : 'user', content: `<image>\nWhat is in picture ${i}?` }, { role: 'assistant', content: answer }] },
        null,
        2,
      );
      samples.push(sample);
      size += sample.length + 2;
    }
    writeFileSync(uri.fsPath, `[\n${samples.join(',\n')}\n]\n`);
    const faults = Math.floor((samples.length - 8) / 1000) + 1;

    // Drift probe: a 5 ms interval timer; how late it fires is how long the extension host thread was blocked.
    let maxDrift = 0;
    let last = performance.now();
    const probe = setInterval(() => {
      const now = performance.now();
      maxDrift = Math.max(maxDrift, now - last - 5);
      last = now;
    }, 5);
    const resetDrift = () => {
      const value = maxDrift;
      maxDrift = 0;
      last = performance.now();
      return value;
    };
    // VS Code's own whole-document passes per keystroke, turned off for the second typing run to measure ours alone:
    // the built-in merge-conflict extension reads the full text (getText) after each change and the link detector
    // scans every line (both seen as the long tasks in a CPU profile of the host while typing at 30 MB).
    const vscodePasses: [string, string, unknown][] = [
      ['merge-conflict', 'codeLens.enabled', false],
      ['merge-conflict', 'decorators.enabled', false],
      ['editor', 'links', false],
    ];
    const setPasses = (on: boolean) =>
      Promise.all(vscodePasses.map(([section, key, off]) => vscode.workspace.getConfiguration(section).update(key, on ? undefined : off, vscode.ConfigurationTarget.Global)));
    try {
      // VS Code in a browser asks before showing files over a few MB; desktop VS Code asks from 1 GB (its default).
      await vscode.workspace.getConfiguration('workbench').update('editorLargeFileConfirmation', 1024, vscode.ConfigurationTarget.Global);
      const step = (what: string) => console.log(`[ftw-suite] 30 MB: ${what} at ${Math.round(performance.now() - opened)} ms`);
      // As a click in the Explorer does: the tab opens at once, VS Code loads the text and syncs it to extensions later.
      const opened = performance.now();
      const openCommand = vscode.commands.executeCommand('vscode.open', uri);
      await waitForDiagnostics(uri, (d) => d.filter((x) => x.code === 'DS-ROLE-VALUES').length === faults, 60_000);
      const firstDiagnosticsMs = performance.now() - opened;
      step('diagnostics');
      await openCommand;
      const document = await vscode.workspace.openTextDocument(uri);
      const documentReadyMs = performance.now() - opened;
      step('document synced');
      const editor = await vscode.window.showTextDocument(document);
      const openDrift = resetDrift();
      const answerLine = document.getText(new vscode.Range(0, 0, 12, 0)).split('\n').findIndex((l) => l.includes('"content": "The picture'));
      /** Types 40 characters into the first answer, 30 ms apart; returns the longest host block meanwhile. */
      const type40 = async () => {
        resetDrift();
        for (let k = 0; k < 40; k++) {
          await editor.edit((edit) => edit.insert(new vscode.Position(answerLine, 20), 'x'));
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
        await new Promise((resolve) => setTimeout(resolve, 600)); // the debounced re-lint of the last keystroke
        return resetDrift();
      };
      const typingDriftWithVsCodePasses = await type40();
      step('typed with VS Code passes');
      await setPasses(false);
      // The same run under V8's profiler: the longest task on the host thread, whatever the OS scheduling.
      const profiler = new inspector.Session();
      profiler.connect();
      const post = <T>(method: string, params: object = {}) => new Promise<T>((resolve, reject) => profiler.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))));
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 250 });
      await post('Profiler.start');
      const typingDriftOursAlone = await type40();
      const { profile } = await post<inspector.Profiler.StopReturnType>('Profiler.stop');
      profiler.disconnect();
      const [longest] = longestTasks(profile);
      const ourBundle = path.join(vscode.extensions.getExtension(extensionId)!.extensionPath, 'dist');
      // Our listeners run inside VS Code's tasks (a change event goes to every extension): our part of each task.
      const longestOurs = Math.max(0, ...longestTasks(profile, Infinity, (url) => url.includes(ourBundle)).map((t) => t.involvedMs ?? 0));
      step('typed without them');
      // Then turn the first role into a fault: the edited document is linted again from its mirror.
      const roleLine = document.getText(new vscode.Range(0, 0, 12, 0)).split('\n').findIndex((l) => l.includes('"role": "user"'));
      const roleAt = document.lineAt(roleLine).text.indexOf('"user"');
      await editor.edit((edit) => edit.replace(new vscode.Range(roleLine, roleAt, roleLine, roleAt + 6), '"gpt"'));
      const typed = performance.now();
      await waitForDiagnostics(uri, (d) => d.some((x) => x.range.start.line === roleLine && x.code === 'DS-ROLE-VALUES'), 60_000);
      const relintMs = performance.now() - typed;
      const figures = {
        bytes: size,
        samples: samples.length,
        firstDiagnosticsMs: Math.round(firstDiagnosticsMs),
        documentSyncedMs: Math.round(documentReadyMs),
        maxHostBlockWhileOpeningMs: Math.round(openDrift),
        maxHostBlockWhileTypingMs: Math.round(typingDriftOursAlone),
        maxHostBlockWhileTypingWithVsCodePassesMs: Math.round(typingDriftWithVsCodePasses),
        longestHostTaskWhileTypingMs: longest?.ms ?? 0,
        longestRunOfOurCodeWhileTypingMs: longestOurs,
        longestHostTaskStacks: longest?.stacks,
        relintAfterTypingMs: Math.round(relintMs),
      };
      console.log(`[ftw-suite] dataset editor performance ${JSON.stringify(figures)}`);
      const extension = vscode.extensions.getExtension(extensionId)!;
      mkdirSync(path.join(extension.extensionPath, 'test-results'), { recursive: true });
      writeFileSync(path.join(extension.extensionPath, 'test-results', 'dataset-editor-performance.json'), `${JSON.stringify(figures, null, 2)}\n`);
    } finally {
      clearInterval(probe);
      await setPasses(true);
      await vscode.workspace.getConfiguration('workbench').update('editorLargeFileConfirmation', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      rmSync(uri.fsPath, { force: true });
    }
  });
});

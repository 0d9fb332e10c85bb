import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = path.resolve(__dirname, '..', '..', '..');
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

/** Keys of the SettingValues interface in the typed settings accessor, read with the TypeScript parser. */
function typedSettingKeys(): string[] {
  const file = path.join(root, 'src/features/shared/settings.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const keys: string[] = [];
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'SettingValues') {
      for (const member of node.members) {
        if (member.name && (ts.isStringLiteral(member.name) || ts.isIdentifier(member.name))) keys.push(member.name.text);
      }
    }
  });
  return keys.sort();
}

describe('manifest', () => {
  it('activates lazily, never on *', () => {
    assert.ok(!manifest.activationEvents.includes('*'));
    assert.ok(!manifest.activationEvents.includes('onStartupFinished'));
  });

  it('runs in the workspace extension host and declares limited untrusted support', () => {
    assert.deepEqual(manifest.extensionKind, ['workspace']);
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
  });

  it('targets a VS Code no newer than the code-server build the tests use (1.100)', () => {
    const match = /^\^1\.(\d+)\.\d+$/.exec(manifest.engines.vscode);
    assert.ok(match, manifest.engines.vscode);
    assert.ok(Number(match[1]) <= 100);
    assert.match(manifest.devDependencies['@types/vscode'], new RegExp(`1\\.${match[1]}\\.`));
    assert.equal(manifest.dependencies?.vscode, undefined, 'the deprecated vscode package must not be used');
  });

  it('contributes the Fine-tune container with Jobs, Runs and Hosts, each with a welcome text and a button', () => {
    const container = manifest.contributes.viewsContainers.activitybar.find((c: { id: string }) => c.id === 'finetuneWorkbench');
    assert.equal(container.title, 'Fine-tune');
    assert.ok(existsSync(path.join(root, container.icon)));
    const views = manifest.contributes.views.finetuneWorkbench.map((v: { name: string }) => v.name);
    assert.deepEqual(views, ['Jobs', 'Runs', 'Hosts']);
    for (const view of manifest.contributes.views.finetuneWorkbench) {
      const welcome = manifest.contributes.viewsWelcome.find((w: { view: string }) => w.view === view.id);
      assert.ok(welcome, `${view.id} has no welcome`);
      assert.match(welcome.contents, /\[[^\]]+\]\(command:finetuneWorkbench\.[A-Za-z]+\)/);
    }
  });

  it('gives every command a category, and every command link points at a contributed command', () => {
    const ids = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
    for (const command of manifest.contributes.commands) assert.equal(command.category, 'Finetune Workbench');
    const text = JSON.stringify(manifest.contributes);
    for (const match of text.matchAll(/command:(finetuneWorkbench\.[A-Za-z]+)/g)) assert.ok(ids.has(match[1]), match[1]);
    for (const item of manifest.contributes.menus['view/title']) assert.ok(ids.has(item.command), item.command);
  });

  it('keeps settings under finetuneWorkbench.* in step with the typed accessor', () => {
    const contributed = manifest.contributes.configuration
      .flatMap((section: { properties: Record<string, unknown> }) => Object.keys(section.properties))
      .map((key: string) => {
        assert.ok(key.startsWith('finetuneWorkbench.'), key);
        return key.slice('finetuneWorkbench.'.length);
      })
      .sort();
    assert.deepEqual(contributed, typedSettingKeys());
  });

  it('has a walkthrough whose media files exist', () => {
    const [walkthrough] = manifest.contributes.walkthroughs;
    assert.ok(walkthrough.steps.length >= 3);
    for (const step of walkthrough.steps) assert.ok(existsSync(path.join(root, step.media.markdown)), step.media.markdown);
  });
});

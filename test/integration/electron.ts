// Runs the integration suite in VS Code desktop through @vscode/test-electron, for machines that have it (or can
// download it). This project's CI machines cannot, so `npm test` uses code-server instead (codeServer.test.ts);
// both load the same `extensionTestsPath` module.
//   node out/test/integration/electron.js [--vscode-executable <path>] [--version <x.y.z|stable>]
import { runTests } from '@vscode/test-electron';
import { cpSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(__dirname, '..', '..', '..');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'vscode-executable': { type: 'string' }, version: { type: 'string' } } });
  const temp = mkdtempSync(path.join(os.tmpdir(), 'ftw-electron-'));
  const workspace = path.join(temp, 'workspace');
  cpSync(path.join(root, 'examples', 'minicpm-v-lora'), workspace, { recursive: true });
  process.env.FTW_TEST_RESULTS = path.join(temp, 'results.json');
  process.env.FTW_TEST_WORKSPACE = workspace;
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out', 'test', 'integration', 'suite', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
    ...(values['vscode-executable'] ? { vscodeExecutablePath: values['vscode-executable'] } : { version: values.version ?? '1.100.3' }),
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

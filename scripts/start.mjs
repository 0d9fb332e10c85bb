// The product command (`npm start`): installs what is missing, builds the extension, and serves it in a real
// VS Code (code-server) on http://127.0.0.1:<port> with the example workspace open. Ctrl-C stops it.
//   --port <n>         port to listen on (default 8080, or $PORT)
//   --workspace <dir>  folder to open (default examples/minicpm-v-lora)
//   --state-dir <dir>  code-server user data and extensions (default .vscode-test/product-state)
//   --no-install       skip the install steps (used by the UI test, which has just run them)
//   --no-build         skip the build
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '8080' },
    workspace: { type: 'string', default: path.join(root, 'examples', 'minicpm-v-lora') },
    'state-dir': { type: 'string', default: path.join(root, '.vscode-test', 'product-state') },
    'no-install': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  },
});

function step(title, command, args) {
  console.log(`▶ ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`✖ ${title} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

if (!values['no-install']) {
  step('system packages', 'bash', ['scripts/install-system-deps.sh']);
  step('code-server (cached in .vscode-test/)', 'bash', ['scripts/install-code-server.sh']);
}
if (!values['no-build']) step('build', process.execPath, ['scripts/build.mjs']);

// The code-server launcher is shared with the tests (test/harness/codeServer.ts, built into out/).
const { startCodeServer } = createRequire(import.meta.url)(path.join(root, 'out', 'test', 'harness', 'codeServer.js'));
const workspace = path.resolve(values.workspace);
const server = await startCodeServer({
  workspace,
  port: Number(values.port),
  stateDir: path.resolve(values['state-dir']),
  installExtensionFrom: root,
});
const url = `${server.origin}/?folder=${encodeURIComponent(workspace)}`;
console.log(`\nFinetune Workbench is running in code-server at ${url}`);
console.log(`(workspace ${workspace}; code-server log ${server.logFile}; Ctrl-C to stop)`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.process.on('exit', (code) => {
  if (!stopping) {
    console.error(`code-server exited (${code}); see ${server.logFile}`);
    process.exit(1);
  }
});

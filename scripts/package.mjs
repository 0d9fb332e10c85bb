// `npm run package`: a production build, then a .vsix made by @vscode/vsce from the .vscodeignore allow-list.
// Prints the file list and size, and fails if tests, sources or node_modules slipped in or it exceeds 5 MB.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { name, version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const vsix = path.join(root, `${name}-${version}.vsix`);
const maxBytes = 5 * 1024 * 1024;

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) {
    console.error(result.stdout, result.stderr);
    console.error(`✖ ${command} ${args.join(' ')} failed (exit ${result.status})`);
    process.exit(1);
  }
  return result.stdout;
}

run(process.execPath, ['scripts/build.mjs', '--production']);
const vsce = path.join(root, 'node_modules', '.bin', 'vsce');
// Bundles carry their dependencies, so vsce must not add node_modules; there is no public repository yet.
run(vsce, ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--out', vsix]);
const listing = run('unzip', ['-Z1', vsix]).trim().split('\n').filter((entry) => !entry.endsWith('/'));
const forbidden = listing.filter((entry) => /(^|\/)(src|test|out|node_modules|bench|scripts|examples)\/|\.ts$|\.map$/.test(entry.replace(/^extension\//, '')));
console.log(`Files in ${path.basename(vsix)}:`);
for (const entry of listing) console.log(`  ${entry}`);
const size = statSync(vsix).size;
console.log(`${path.basename(vsix)}: ${listing.length} files, ${(size / 1024).toFixed(1)} KiB`);
if (forbidden.length) {
  console.error(`✖ the package contains files that do not run: ${forbidden.join(', ')}`);
  process.exit(1);
}
if (size > maxBytes) {
  console.error(`✖ the package is ${(size / 1048576).toFixed(2)} MB, over the 5 MB limit`);
  process.exit(1);
}

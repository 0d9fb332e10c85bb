// Builds every bundle with esbuild: the extension host bundle, the CLI, worker threads, the webviews,
// and an unbundled transpile of src/ and test/ into out/ for the test runners.
// Type checking is separate (`npm run typecheck`), as esbuild only strips types.
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

function listFiles(dir, predicate) {
  const found = [];
  if (!existsSync(dir)) return found;
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) found.push(...listFiles(full, predicate));
    else if (predicate(full)) found.push(full);
  }
  return found;
}

const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
  // jsonc-parser's UMD "main" requires its files dynamically, which esbuild cannot bundle; take its ESM build.
  mainFields: ['module', 'main'],
  // The JSONL kernel's WebAssembly travels inside the bundles as bytes (a few KB; no file to find at run time).
  loader: { '.wasm': 'binary' },
};

/** Worker-thread and child-process entry points live in src/workers/<name>.ts and bundle to dist/workers/<name>.js. */
const workerEntries = listFiles(path.join(root, 'src/workers'), (f) => f.endsWith('.ts'));
/** Each webview/<panel>/main.ts becomes dist/webview/<panel>.js (browser, IIFE). */
const webviewEntries = existsSync(path.join(root, 'webview'))
  ? readdirSync(path.join(root, 'webview'))
      .filter((name) => existsSync(path.join(root, 'webview', name, 'main.ts')))
      .map((name) => ({ in: `webview/${name}/main.ts`, out: name }))
  : [];

const builds = [
  { ...nodeCommon, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  {
    ...nodeCommon,
    entryPoints: ['src/cli/bin.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
  },
];
if (workerEntries.length) {
  builds.push({
    ...nodeCommon,
    entryPoints: workerEntries.map((f) => ({ in: f, out: path.basename(f, '.ts') })),
    outdir: 'dist/workers',
  });
}
if (webviewEntries.length) {
  builds.push({
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    sourcemap: production ? false : 'linked',
    minify: production,
    logLevel: 'warning',
    absWorkingDir: root,
    entryPoints: webviewEntries,
    outdir: 'dist/webview',
    loader: { '.css': 'text' },
  });
}
if (!production) {
  // Each test and bench file becomes its own bundle (packages stay external), so tests run the same
  // code paths the shipped bundles do, and relative imports such as package.json resolve at build time.
  const testEntries = [
    ...listFiles(path.join(root, 'test'), (f) => f.endsWith('.ts')),
    ...listFiles(path.join(root, 'bench'), (f) => f.endsWith('.ts')),
  ];
  builds.push({
    bundle: true,
    packages: 'external',
    mainFields: ['module', 'main'],
    external: ['vscode'],
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    loader: { '.wasm': 'binary' },
    sourcemap: 'inline',
    logLevel: 'warning',
    absWorkingDir: root,
    entryPoints: testEntries,
    outbase: root,
    outdir: 'out',
  });
}

/**
 * The tree-sitter runtime and the bash/python grammars are wasm files shipped in their npm packages; the bundles
 * load them at run time from dist/ (src/core/parsing/treeSitter.ts), so they are copied there.
 */
const wasmAssets = [
  'node_modules/web-tree-sitter/tree-sitter.wasm',
  'node_modules/tree-sitter-bash/tree-sitter-bash.wasm',
  'node_modules/tree-sitter-python/tree-sitter-python.wasm',
];
mkdirSync(path.join(root, 'dist'), { recursive: true });
for (const asset of wasmAssets) copyFileSync(path.join(root, asset), path.join(root, 'dist', path.basename(asset)));

/**
 * The readers' WebAssembly kernels (wasm/<name>.ts, AssemblyScript) are compiled first: the bundles embed
 * wasm/build/<name>.wasm. Each is skipped when its .wasm is newer than its source.
 */
async function compileKernels() {
  for (const source of listFiles(path.join(root, 'wasm'), (f) => f.endsWith('.ts') && path.dirname(f) === path.join(root, 'wasm'))) {
    const output = path.join(root, 'wasm/build', `${path.basename(source, '.ts')}.wasm`);
    if (existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) continue;
    const asc = await import('assemblyscript/asc');
    mkdirSync(path.dirname(output), { recursive: true });
    const { error, stderr } = await asc.main(
      [path.relative(root, source), '-O3', '--runtime', 'stub', '--noAssert', '--outFile', path.relative(root, output)],
      { stdout: process.stdout, stderr: process.stderr, baseDir: root },
    );
    if (error) throw new Error(`AssemblyScript failed on ${path.relative(root, source)}: ${error.message}\n${stderr.toString()}`);
  }
}
await compileKernels();

if (!watch) {
  if (!production) rmSync(path.join(root, 'out'), { recursive: true, force: true });
  await Promise.all(builds.map((options) => esbuild.build(options)));
  console.log(`build: ${builds.length} bundles written (dist/, out/)`);
} else {
  const contexts = await Promise.all(builds.map((options) => esbuild.context(options)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('build: watching for changes');
}

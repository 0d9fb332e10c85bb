import { existsSync } from 'node:fs';
import path from 'node:path';
import type * as WebTreeSitter from 'web-tree-sitter';

// require, not import: bundlers then pick web-tree-sitter's CommonJS build; its ESM build needs import.meta.url,
// which a CommonJS bundle (dist/extension.js, dist/cli.js) does not have.
const { Language, Parser } = require('web-tree-sitter') as typeof WebTreeSitter;
type Language = WebTreeSitter.Language;
type Parser = WebTreeSitter.Parser;

/** Grammars shipped as wasm by their npm packages and copied into dist/ by scripts/build.mjs. */
export type GrammarName = 'bash' | 'python';

const wasmFiles: Record<GrammarName | 'runtime', { file: string; pkg: string }> = {
  runtime: { file: 'tree-sitter.wasm', pkg: 'web-tree-sitter' },
  bash: { file: 'tree-sitter-bash.wasm', pkg: 'tree-sitter-bash' },
  python: { file: 'tree-sitter-python.wasm', pkg: 'tree-sitter-python' },
};

/**
 * Finds a wasm file: next to the running bundle (dist/ for dist/extension.js and dist/cli.js, its parent for
 * dist/workers/), else in the repository's dist/ or node_modules (tests run from out/, which has no wasm of its own).
 */
export function locateWasm(name: GrammarName | 'runtime', from: string = __dirname): string {
  const { file, pkg } = wasmFiles[name];
  let dir = from;
  for (let depth = 0; depth < 8; depth++) {
    for (const candidate of [path.join(dir, file), path.join(dir, 'dist', file), path.join(dir, 'node_modules', pkg, file)]) {
      if (existsSync(candidate)) return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`${file} not found near ${from}; run the build (it copies the grammars into dist/)`);
}

let runtimeReady: Promise<void> | undefined;
const languages = new Map<GrammarName, Promise<Language>>();

function initRuntime(): Promise<void> {
  runtimeReady ??= Parser.init({ locateFile: () => locateWasm('runtime') });
  return runtimeReady;
}

/** A parser for the grammar. Loading is done once per process; parsers are cheap. */
export async function createParser(grammar: GrammarName): Promise<Parser> {
  await initRuntime();
  let language = languages.get(grammar);
  if (!language) {
    language = Language.load(locateWasm(grammar));
    languages.set(grammar, language);
  }
  const parser = new Parser();
  parser.setLanguage(await language);
  return parser;
}

export type { Node as SyntaxNode, Tree } from 'web-tree-sitter';

/** Visits a node and its named descendants, depth first in source order. */
export function walkTree(node: WebTreeSitter.Node, visit: (n: WebTreeSitter.Node) => void): void {
  visit(node);
  for (const child of node.namedChildren) if (child) walkTree(child, visit);
}

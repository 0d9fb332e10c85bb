import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = path.resolve(__dirname, '..', '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

/** Module specifiers a file imports or requires, read by TypeScript's own pre-processor (not a regex). */
export function importedModules(sourceText: string): string[] {
  const info = ts.preProcessFile(sourceText, true, true);
  return info.importedFiles.map((f) => f.fileName);
}

describe('architecture', () => {
  it('finds imports and requires of vscode in a sample (the check can fail)', () => {
    const sample = `import * as vscode from 'vscode';\nconst x = require("vscode");\nexport type T = import('vscode').Uri;`;
    assert.deepEqual(importedModules(sample).filter((m) => m === 'vscode').length, 3);
  });

  for (const layer of ['src/core', 'src/cli', 'src/workers']) {
    it(`${layer} does not import vscode`, () => {
      let dir: string;
      try {
        dir = path.join(root, layer);
        statSync(dir);
      } catch {
        return; // the layer does not exist yet
      }
      const offenders = sourceFiles(dir).filter((file) => importedModules(readFileSync(file, 'utf8')).includes('vscode'));
      assert.deepEqual(offenders.map((f) => path.relative(root, f)), []);
    });
  }

  it('src/core does not import from features, cli or extension', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(path.join(root, 'src/core'))) {
      for (const spec of importedModules(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = path.relative(root, path.resolve(path.dirname(file), spec));
        // schemas/ holds JSON data (the dataset JSON Schemas), not code; wasm/build/ the compiled WebAssembly of
        // core's own kernels (wasm/ is their AssemblyScript source).
        const data = target.startsWith('package.json') || target.startsWith('schemas/') || (target.startsWith('wasm/build/') && target.endsWith('.wasm'));
        if (!target.startsWith('src/core') && !data) offenders.push(`${path.relative(root, file)} → ${spec}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository root, found from wherever this code was bundled to (out/test/...). */
function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'finetune-workbench') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no finetune-workbench package.json above ${start}`);
  }
}

export const repoRoot = findRoot(__dirname);
/** The project's shared folder (docs, real fixtures, bench generator): beside the checkout, as in CI. */
export const sharedDir = process.env.FTW_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');
export const realFixturesDir = path.join(sharedDir, 'fixtures', 'real');

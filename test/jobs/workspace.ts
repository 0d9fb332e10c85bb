import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const realFixtures = '/work/shared/fixtures/real/hf-trainer-5.17';
/** The repository root: the nearest folder above this bundle with a package.json. */
function findRoot(from: string): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
export const repoRoot = findRoot(__dirname);
const root = repoRoot;

/** A temporary workspace holding the replay script and the real logs it replays, in a folder named `name`. */
export function replayWorkspace(name = 'workspace'): string {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'ftw-jobs-'));
  const dir = path.join(parent, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(root, 'test', 'jobs', 'replay-trainer.sh'), path.join(dir, 'replay-trainer.sh'));
  for (const file of readdirSync(realFixtures).filter((f) => f.endsWith('.txt'))) copyFileSync(path.join(realFixtures, file), path.join(dir, file));
  return dir;
}

/** Processes (not zombies) in a process group, read with ps. */
export function processesInGroup(pgid: number): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && Number(f[1]) === pgid && !f[2].startsWith('Z'))
    .map((f) => f.join(' '));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import { existsSync, readFileSync } from 'node:fs';

/** A small file's text from disk; undefined when it does not exist or cannot be read (rules treat both alike). */
export function readTextFromDisk(absolutePath: string): string | undefined {
  try {
    return existsSync(absolutePath) ? readFileSync(absolutePath, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

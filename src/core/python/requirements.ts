import path from 'node:path';
import { compareVersions } from '../script/catalog';

/** One end of a version range; `inclusive` says whether the version itself is in it. */
export interface VersionBound {
  version: string;
  inclusive: boolean;
}

/** Versions a requirement allows, as one interval (`!=` exclusions are ignored). No bound: open on that side. */
export interface VersionRange {
  lower?: VersionBound;
  upper?: VersionBound;
}

export interface Requirement {
  /** The requirement line as written (without its comment). */
  text: string;
  /** 1-based line in the file. */
  line: number;
  /** undefined when the line does not say which versions (a URL, `-e`, a specifier this parser does not know). */
  range?: VersionRange;
}

/** `0.8.*` → the next release of the last given part (`0.9`), for `==0.8.*` and `~=`. */
function bump(parts: string[], index: number): string {
  const next = parts.slice(0, index + 1);
  next[index] = String((parseInt(next[index], 10) || 0) + 1);
  return next.join('.');
}

function tighterLower(a: VersionBound | undefined, b: VersionBound): VersionBound {
  if (!a) return b;
  const d = compareVersions(a.version, b.version);
  return d > 0 || (d === 0 && !a.inclusive) ? a : b;
}

function tighterUpper(a: VersionBound | undefined, b: VersionBound): VersionBound {
  if (!a) return b;
  const d = compareVersions(a.version, b.version);
  return d < 0 || (d === 0 && !a.inclusive) ? a : b;
}

/** PEP 440 specifiers (`>=0.8,<0.9`, `==0.10.0`, `~=0.7.1`, `==0.8.*`) as one interval; undefined when not understood. */
export function specifierRange(specifiers: string): VersionRange | undefined {
  const range: VersionRange = {};
  const parts = specifiers.split(',').map((s) => s.trim()).filter(Boolean);
  for (const part of parts) {
    const m = /^(~=|===|==|!=|<=|>=|<|>)\s*v?([0-9][0-9A-Za-z.+!-]*(\.\*)?)$/.exec(part);
    if (!m) return undefined;
    const [, op, raw] = m;
    const wildcard = raw.endsWith('.*');
    const version = wildcard ? raw.slice(0, -2) : raw;
    const numbers = version.split('.');
    switch (op) {
      case '==':
      case '===':
        range.lower = tighterLower(range.lower, { version, inclusive: true });
        range.upper = tighterUpper(range.upper, wildcard ? { version: bump(numbers, numbers.length - 1), inclusive: false } : { version, inclusive: true });
        break;
      case '~=':
        if (numbers.length < 2) return undefined;
        range.lower = tighterLower(range.lower, { version, inclusive: true });
        range.upper = tighterUpper(range.upper, { version: bump(numbers, numbers.length - 2), inclusive: false });
        break;
      case '>=':
      case '>':
        range.lower = tighterLower(range.lower, { version, inclusive: op === '>=' });
        break;
      case '<=':
      case '<':
        range.upper = tighterUpper(range.upper, { version, inclusive: op === '<=' });
        break;
      case '!=':
        break;
    }
  }
  return range;
}

/** Whether `range` allows any version in [from, below) (`below` undefined: no upper end). */
export function rangeMeets(range: VersionRange, from: string, below?: string): boolean {
  if (range.upper) {
    const d = compareVersions(range.upper.version, from);
    if (d < 0 || (d === 0 && !range.upper.inclusive)) return false;
  }
  if (below !== undefined && range.lower && compareVersions(range.lower.version, below) >= 0) return false;
  if (range.lower && range.upper) {
    const d = compareVersions(range.lower.version, range.upper.version);
    if (d > 0 || (d === 0 && !(range.lower.inclusive && range.upper.inclusive))) return false;
  }
  return true;
}

/** The requirement of one package in a requirements.txt text (last one wins, as pip would complain anyway). */
export function findRequirement(text: string, packageName: string): Requirement | undefined {
  const name = packageName.toLowerCase().replace(/[-_.]+/g, '[-_.]+');
  const pattern = new RegExp(`^${name}\\s*(\\[[^\\]]*\\])?\\s*(.*)$`, 'i');
  let found: Requirement | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    const m = pattern.exec(line);
    if (!m) return;
    const rest = m[2].replace(/;.*$/, '').replace(/(^|\s)(--\S.*|\\)$/, '').trim();
    // `peft @ git+https://…` installs whatever that URL holds; `peftx` is another package.
    if (rest.startsWith('@') || /^[\w.-]/.test(rest)) {
      if (rest.startsWith('@')) found = { text: line, line: index + 1 };
      return;
    }
    found = { text: line, line: index + 1, range: rest === '' ? {} : specifierRange(rest) };
  });
  return found;
}

/**
 * The nearest requirements.txt at or above `startDir` that names `packageName`, with its requirement. Reads with
 * `readText` (undefined: no such file); stops at the file-system root.
 */
export function nearestRequirement(startDir: string, packageName: string, readText: (absolutePath: string) => string | undefined): (Requirement & { file: string }) | undefined {
  let dir = path.resolve(startDir);
  for (;;) {
    const file = path.join(dir, 'requirements.txt');
    const text = readText(file);
    const requirement = text === undefined ? undefined : findRequirement(text, packageName);
    if (requirement) return { ...requirement, file };
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

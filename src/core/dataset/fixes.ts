import type { Position } from '../lint/findings';
import { lintDatasetText, type DatasetFinding, type DatasetLintOptions, type TextEdit } from './lint';
import { SampleSplitter, type RawSample } from './splitter';

/** Rules whose fixes `ftw fix` applies without being named: each one only restores what the loader expects. */
export const safeFixRules: ReadonlySet<string> = new Set([
  'DS-JSON',
  'DS-ROLE-KEYS',
  'DS-ROLE-VALUES',
  'LLAVA-ALT',
  'QVL-ROLE',
  'DS-IMG-TAG-LATER',
  'DS-IMG-TAG-NONE',
  'QVL-IMAGES-KEY',
]);

function lineStarts(text: string): number[] {
  const starts = [0];
  let nl = text.indexOf('\n');
  while (nl >= 0) {
    starts.push(nl + 1);
    nl = text.indexOf('\n', nl + 1);
  }
  return starts;
}

function offsetOf(starts: number[], text: string, position: Position): number {
  const line = Math.min(position.line, starts.length - 1);
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0; // positions do not count a BOM (VS Code hides it)
  return Math.min(text.length, starts[line]! + position.character + (line === 0 ? bom : 0));
}

/**
 * Applies groups of edits (one group per fix) atomically: a group that overlaps an accepted one is skipped whole,
 * so a fix is never half applied. Returns the text and how many groups applied.
 */
export function applyEditGroups(text: string, groups: readonly (readonly TextEdit[])[]): { text: string; applied: number } {
  const starts = lineStarts(text);
  const accepted: { from: number; to: number; newText: string }[] = [];
  let applied = 0;
  for (const group of groups) {
    const spans = group.map((edit) => ({ from: offsetOf(starts, text, edit.range.start), to: offsetOf(starts, text, edit.range.end), newText: edit.newText }));
    const clash = spans.some((s) => accepted.some((a) => (s.from < a.to && a.from < s.to) || s.from === a.from || (s.from === s.to && s.from === a.to) || (a.from === a.to && a.from === s.to)));
    if (clash) continue;
    accepted.push(...spans);
    applied++;
  }
  accepted.sort((a, b) => a.from - b.from || a.to - b.to);
  let out = '';
  let at = 0;
  for (const span of accepted) {
    out += text.slice(at, span.from) + span.newText;
    at = span.to;
  }
  return { text: out + text.slice(at), applied };
}

/** Applies the edits of one fix. */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  return applyEditGroups(text, [edits]).text;
}

function splitSamples(text: string): RawSample[] {
  const splitter = new SampleSplitter();
  return [...splitter.push(Buffer.from(text, 'utf8')), ...splitter.end()];
}

/** JSON array → JSON Lines: single-line samples keep their text, multi-line ones are written compactly. */
export function convertToJsonl(text: string): string {
  return `${splitSamples(text)
    .map((sample) => {
      if (!sample.text.includes('\n')) return sample.text;
      try {
        return JSON.stringify(JSON.parse(sample.text));
      } catch {
        return sample.text.replace(/\r?\n\s*/g, ' ');
      }
    })
    .join('\n')}\n`;
}

/** JSON Lines → JSON array; every sample keeps its text byte for byte. */
export function convertToArray(text: string): string {
  const samples = splitSamples(text);
  return `[\n${samples.map((s) => s.text).join(',\n')}\n]\n`;
}

/** The edits of one finding's fix against `text` (conversions become one whole-document edit). */
export function fixEdits(text: string, finding: DatasetFinding): TextEdit[] {
  const fix = finding.fix;
  if (!fix) return [];
  if ('edits' in fix) return fix.edits;
  const converted = fix.convert === 'array' ? convertToArray(text) : convertToJsonl(text);
  const starts = lineStarts(text);
  const lastLine = starts.length - 1;
  return [{ range: { start: { line: 0, character: 0 }, end: { line: lastLine, character: text.length - starts[lastLine]! } }, newText: converted }];
}

export interface FixResult {
  text: string;
  applied: number;
  remaining: DatasetFinding[];
}

/**
 * Applies the fixes of the given rules (default: {@link safeFixRules}) until none is left, a few rounds at most
 * (a fix can uncover another, e.g. keys renamed then role values).
 */
export function fixDatasetText(text: string, options: DatasetLintOptions & { rules?: readonly string[] } = {}): FixResult {
  const wanted = (f: DatasetFinding) => f.fix !== undefined && (options.rules ? options.rules.includes(f.rule) : safeFixRules.has(f.rule));
  let current = text;
  let applied = 0;
  for (let round = 0; round < 5; round++) {
    const findings = lintDatasetText(current, options).findings.filter(wanted);
    if (findings.length === 0) break;
    const conversion = findings.find((f) => f.fix && 'convert' in f.fix);
    const groups = conversion ? [fixEdits(current, conversion)] : findings.map((f) => fixEdits(current, f));
    const result = applyEditGroups(current, groups);
    if (result.applied === 0 || result.text === current) break;
    current = result.text;
    applied += result.applied;
  }
  return { text: current, applied, remaining: lintDatasetText(current, options).findings };
}

function before(a: Position, b: Position): number {
  return a.line - b.line || a.character - b.character;
}

/**
 * Picks whole fixes whose edits do not touch each other (first come, first served), for a "fix all" that must
 * be one non-overlapping edit set (as VS Code's WorkspaceEdit requires).
 */
export function compatibleFixes<T extends { edits: readonly TextEdit[] }>(fixes: readonly T[]): T[] {
  const taken: TextEdit[] = [];
  const chosen: T[] = [];
  for (const fix of fixes) {
    const clash = fix.edits.some((e) =>
      taken.some((t) => (before(e.range.start, t.range.end) < 0 && before(t.range.start, e.range.end) < 0) || before(e.range.start, t.range.start) === 0 || before(e.range.end, t.range.end) === 0 || before(e.range.start, t.range.end) === 0 || before(t.range.start, e.range.end) === 0),
    );
    if (clash) continue;
    taken.push(...fix.edits);
    chosen.push(fix);
  }
  return chosen;
}

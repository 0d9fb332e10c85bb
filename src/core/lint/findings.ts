/** Severity of a finding; `error` makes `ftw lint` exit 1. */
export type Severity = 'error' | 'warning' | 'info' | 'hint';

/** 0-based line and UTF-16 character offset, as in the VS Code API. */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

/** One problem in one file. `rule` is the id from domain.md's catalogue where one exists (e.g. DS-ROLE-VALUES). */
export interface Finding {
  rule: string;
  severity: Severity;
  /** Says what is wrong and what to do about it. */
  message: string;
  range: Range;
}

/** What `ftw lint --json` prints for each finding, in file order. */
export interface FileFinding extends Finding {
  file: string;
}

export function compareFindings(a: Finding, b: Finding): number {
  return a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character || a.rule.localeCompare(b.rule);
}

export const severityRank: Record<Severity, number> = { error: 0, warning: 1, info: 2, hint: 3 };

import type { Finding, Range } from './findings';

export interface TextEdit {
  range: Range;
  newText: string;
}

/** A safe, exact fix: applying `edits` changes only what `title` says. */
export interface TextFix {
  title: string;
  edits: TextEdit[];
}

/** A finding that may carry quick fixes (the editor offers them; `ftw lint` prints the finding only). */
export interface FixableFinding extends Finding {
  fixes?: TextFix[];
}

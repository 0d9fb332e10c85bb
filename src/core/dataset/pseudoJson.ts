/** An edit on a string by offsets. */
export interface OffsetEdit {
  offset: number;
  length: number;
  newText: string;
}

/**
 * Edits that turn README-style pseudo-JSON (Python literals: single-quoted strings, trailing commas, True/False/None)
 * into JSON, touching nothing else. Returns [] when there is nothing of the kind.
 */
export function pseudoJsonEdits(text: string): OffsetEdit[] {
  const edits: OffsetEdit[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      i++;
      while (i < n && text[i] !== '"' && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === "'") {
      edits.push({ offset: i, length: 1, newText: '"' });
      i++;
      while (i < n && text[i] !== "'" && text[i] !== '\n') {
        if (text[i] === '\\') {
          if (text[i + 1] === "'") edits.push({ offset: i, length: 2, newText: "'" });
          i += 2;
        } else {
          if (text[i] === '"') edits.push({ offset: i, length: 1, newText: '\\"' });
          i++;
        }
      }
      if (text[i] === "'") edits.push({ offset: i, length: 1, newText: '"' });
      i++;
    } else if (c === ',') {
      let j = i + 1;
      while (j < n && /\s/.test(text[j]!)) j++;
      if (text[j] === '}' || text[j] === ']') edits.push({ offset: i, length: 1, newText: '' });
      i++;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (j < n && /[A-Za-z0-9_]/.test(text[j]!)) j++;
      const word = text.slice(i, j);
      const json = word === 'True' ? 'true' : word === 'False' ? 'false' : word === 'None' ? 'null' : undefined;
      if (json) edits.push({ offset: i, length: word.length, newText: json });
      i = j;
    } else i++;
  }
  return edits;
}

export function applyOffsetEdits(text: string, edits: readonly OffsetEdit[]): string {
  const sorted = [...edits].sort((a, b) => a.offset - b.offset);
  let out = '';
  let at = 0;
  for (const edit of sorted) {
    out += text.slice(at, edit.offset) + edit.newText;
    at = edit.offset + edit.length;
  }
  return out + text.slice(at);
}

/**
 * The same repair, but length-preserving where possible (a trailing comma becomes a space), so offsets into the
 * result are offsets into the original. Undefined when the repair must change lengths (quotes inside a string).
 */
export function equalLengthRepair(text: string, edits: readonly OffsetEdit[]): string | undefined {
  const sameLength: OffsetEdit[] = [];
  for (const edit of edits) {
    if (edit.newText === '') sameLength.push({ ...edit, newText: ' '.repeat(edit.length) });
    else if (edit.newText.length === edit.length) sameLength.push(edit);
    else if (edit.newText === 'true' || edit.newText === 'false' || edit.newText === 'null') sameLength.push({ ...edit, newText: edit.newText.padEnd(edit.length, ' ') });
    else return undefined;
  }
  const repaired = applyOffsetEdits(text, sameLength);
  return repaired.length === text.length ? repaired : undefined;
}

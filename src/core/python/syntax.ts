import type { SyntaxNode } from '../parsing/treeSitter';

/** A call's keyword arguments: name → the value's source text and node. */
export function keywordsOf(call: SyntaxNode): Map<string, { text: string; node: SyntaxNode }> {
  const keywords = new Map<string, { text: string; node: SyntaxNode }>();
  const args = call.childForFieldName('arguments');
  for (const arg of args?.namedChildren ?? []) {
    if (arg?.type !== 'keyword_argument') continue;
    const name = arg.childForFieldName('name')?.text;
    const value = arg.childForFieldName('value');
    if (name && value) keywords.set(name, { text: value.text, node: value });
  }
  return keywords;
}

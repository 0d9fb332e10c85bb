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

/** The value of a plain Python string literal; undefined for f-strings with fields and other expressions. */
export function stringValue(node: SyntaxNode): string | undefined {
  if (node.type !== 'string' || node.namedChildren.some((c) => c?.type === 'interpolation')) return undefined;
  const m = /^[rRbBuUfF]*('''|"""|'|")([\s\S]*)\1$/.exec(node.text);
  return m?.[2];
}

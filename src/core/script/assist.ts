import type { Position, Range } from '../lint/findings';
import { launcherFlagDocs, programFlagCatalog, type FlagInfo } from './catalog';
import type { ScriptLintResult } from './rules';
import { flagKey, type FlagOccurrence } from './shell';

function contains(range: Range, p: Position): boolean {
  const afterStart = p.line > range.start.line || (p.line === range.start.line && p.character >= range.start.character);
  const beforeEnd = p.line < range.end.line || (p.line === range.end.line && p.character <= range.end.character);
  return afterStart && beforeEnd;
}

function flagMarkdown(flag: FlagOccurrence, info: FlagInfo | undefined, launcherDoc: string | undefined): string {
  const lines = [`**--${flag.name}**${info ? ` \`${info.type}\`` : ''}`];
  if (info) lines.push('', info.doc);
  if (launcherDoc) lines.push('', launcherDoc);
  if (info?.default !== undefined) lines.push('', `Default: \`${info.default}\``);
  if (info?.values?.length) lines.push('', `Values: ${info.values.map((v) => `\`${v}\``).join(', ')}`);
  if (flag.value) {
    const via = flag.value.vars.length ? ` (from ${flag.value.vars.map((v) => `\`$${v}\``).join(' → ')})` : '';
    lines.push('', `Value here: ${flag.value.text === undefined ? '*not known statically*' : `\`${flag.value.text}\``}${via}`);
  } else if (info?.type === 'bool') {
    lines.push('', 'Given without a value: `True`');
  }
  if (info) lines.push('', `Source: ${info.source}`);
  return lines.join('\n');
}

/** Hover text for a flag or variable at a position of the script, with the range it covers. */
export function hoverAt(result: ScriptLintResult, p: Position): { markdown: string; range: Range } | undefined {
  for (const analysis of result.launches) {
    const catalog = programFlagCatalog(analysis.kind);
    const launcherDocs = launcherFlagDocs[analysis.launch.launcher === 'torch.distributed.run' ? 'torchrun' : analysis.launch.launcher] ?? [];
    for (const flag of analysis.launch.launcherFlags) {
      if (contains(flag.flagRange, p)) {
        const doc = launcherDocs.find((d) => flagKey(d.name) === flagKey(flag.name))?.doc;
        return { markdown: flagMarkdown(flag, undefined, `${analysis.launch.launcher} option.${doc ? ` ${doc}` : ''}`), range: flag.flagRange };
      }
    }
    for (const flag of analysis.launch.programFlags) {
      if (contains(flag.flagRange, p)) return { markdown: flagMarkdown(flag, catalog.get(flagKey(flag.name)), undefined), range: flag.flagRange };
      if (flag.value?.vars.length && contains(flag.value.useRange, p)) {
        const name = flag.value.vars[0];
        const def = analysis.launch.env.get(name);
        const where = def ? ` (set on line ${def.nameRange.start.line + 1}${def.exported ? ', exported' : ''})` : ' (not set in this script: taken from the environment)';
        return {
          markdown: `**$${name}** = ${flag.value.text === undefined ? '*not known statically*' : `\`${flag.value.text}\``}${where}\n\nPassed as --${flag.name}.`,
          range: flag.value.useRange,
        };
      }
    }
  }
  for (const def of result.script.assignments) {
    if (!contains(def.nameRange, p)) continue;
    const uses = result.launches.flatMap((a) => [...a.launch.launcherFlags, ...a.launch.programFlags]).filter((f) => f.value?.vars.includes(def.name));
    const value = def.value === undefined ? '*not known statically* (command substitution, positional argument or unset variable)' : `\`${def.value}\``;
    const used = uses.length ? `\n\nUsed by ${[...new Set(uses.map((f) => `--${f.name}`))].join(', ')}.` : '';
    return { markdown: `**${def.name}** = ${value}${def.exported ? ' (exported)' : ''}${def.conditional ? '\n\nSet inside a conditional or loop: may not run.' : ''}${used}`, range: def.nameRange };
  }
  return undefined;
}

export interface FlagCompletion {
  label: string;
  insertText: string;
  kind: 'flag' | 'value';
  detail: string;
  documentation?: string;
  /** Characters before the cursor the completion replaces. */
  replaceLength: number;
}

/** Flag names (after `-`/`--`) and flag values (after `--flag `) for the launch command on this line. */
export function flagCompletions(result: ScriptLintResult, line: number, textBeforeCursor: string): FlagCompletion[] {
  const analysis = result.launches.find((a) => line >= a.launch.commandRange.start.line && line <= a.launch.commandRange.end.line + 1);
  if (!analysis) return [];
  const catalog = programFlagCatalog(analysis.kind);
  const token = /(\S*)$/.exec(textBeforeCursor)?.[1] ?? '';
  if (token.startsWith('-')) {
    const present = new Set(analysis.launch.programFlags.map((f) => flagKey(f.name)));
    return [...catalog.values()]
      .filter((info) => !present.has(info.name) && `--${info.name}`.startsWith(token.replace(/^-?$/, '--').replace(/^-([^-])/, '--$1')))
      .map((info) => ({
        label: `--${info.name}`,
        insertText: `--${info.name}`,
        kind: 'flag' as const,
        detail: `${info.type}${info.default !== undefined ? ` = ${info.default}` : ''}`,
        documentation: `${info.doc}\n\nSource: ${info.source}`,
        replaceLength: token.length,
      }));
  }
  const previous = /--([A-Za-z0-9_-]+)\s+(\S*)$/.exec(textBeforeCursor);
  if (!previous || previous[2] !== token) return [];
  const info = catalog.get(flagKey(previous[1]));
  if (!info?.values) return [];
  return info.values
    .filter((v) => v.startsWith(token.replace(/^["']/, '')))
    .map((v) => ({ label: v, insertText: v, kind: 'value' as const, detail: `--${info.name}`, documentation: info.doc, replaceLength: token.replace(/^["']/, '').length }));
}

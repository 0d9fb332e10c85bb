import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fixDatasetText, safeFixRules } from '../../core/dataset/fixes';
import { parseCliArgs } from '../args';
import { ExitCode, UsageError } from '../exitCodes';
import type { Subcommand } from './types';

const usage = `Usage: ftw fix <file> [--rule <id>...] [--no-backup] [--format <name>] [--base-dir <dir>]

Applies the safe quick fixes of a dataset in place, as minimal text edits (the rest of the file is unchanged).
Writes <file>.bak first unless --no-backup.
  --rule <id>        only fixes of this rule (repeatable); naming a rule also enables fixes that are not applied
                     by default (DS-MULTI-UNKNOWN-TAG renames a tag to the unused key, QWEN25-JSONL converts to JSON Lines)
  --format <name>    force the dataset format instead of detecting it
  --base-dir <dir>   folder that relative image paths resolve against (default: the file's folder)
Default rules: ${[...safeFixRules].join(', ')}.
Exit codes: 0 no error findings remain, 1 errors remain, 2 usage or I/O error.`;

export const fixCommand: Subcommand = {
  name: 'fix',
  summary: 'apply the safe quick fixes of a dataset in place (writes a .bak first)',
  usage,
  async run(args, io) {
    const parsed = parseCliArgs(args, {
      rule: { type: 'string', multiple: true },
      'no-backup': { type: 'boolean' },
      format: { type: 'string' },
      'base-dir': { type: 'string' },
    });
    if (parsed.positionals.length !== 1) throw new UsageError('name exactly one dataset file');
    const file = parsed.positionals[0]!;
    const absolute = path.resolve(io.cwd, file);
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (error) {
      io.stderr(`ftw fix: cannot read ${file}: ${(error as Error).message}\n`);
      return ExitCode.UsageOrIo;
    }
    const result = fixDatasetText(text, {
      filePath: absolute,
      format: parsed.values.format,
      baseDir: parsed.values['base-dir'] ? path.resolve(io.cwd, parsed.values['base-dir']) : undefined,
      rules: parsed.values.rule,
    });
    if (result.text !== text) {
      try {
        if (!parsed.values['no-backup']) copyFileSync(absolute, `${absolute}.bak`);
        writeFileSync(absolute, result.text);
      } catch (error) {
        io.stderr(`ftw fix: cannot write ${file}: ${(error as Error).message}\n`);
        return ExitCode.UsageOrIo;
      }
    }
    for (const f of result.remaining) {
      io.stdout(`${file}:${f.range.start.line + 1}:${f.range.start.character + 1} ${f.severity} ${f.rule} ${f.message}\n`);
    }
    const errors = result.remaining.filter((f) => f.severity === 'error').length;
    io.stderr(
      `${result.applied} fix(es) applied${result.text !== text && !parsed.values['no-backup'] ? ` (backup: ${file}.bak)` : ''}; ${result.remaining.length} finding(s) remain, ${errors} error(s)\n`,
    );
    return errors > 0 ? ExitCode.Findings : ExitCode.Clean;
  },
};

import path from 'node:path';

/** Flags of HF `TrainingArguments` (and LLaMA-Factory / ms-swift, which reuse them) that name where metrics go. */
export type DirFlag = 'output_dir' | 'logging_dir';

/** Drops one level of shell quoting from a simple word ('a b', "a b", a\ b). */
function unquote(word: string): string {
  if (word.length >= 2 && ((word[0] === "'" && word.endsWith("'")) || (word[0] === '"' && word.endsWith('"')))) return word.slice(1, -1);
  return word.replace(/\\(.)/g, '$1');
}

/** `NAME=value` assignments of a shell script (the last one wins), for expanding `$NAME` in flag values. */
function assignments(script: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of script.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=('[^']*'|"[^"$`]*"|[^\s;&|$`]*)\s*(?:#.*)?$/.exec(line);
    if (match) vars.set(match[1], unquote(match[2]));
  }
  return vars;
}

function expand(value: string, vars: Map<string, string>): string | undefined {
  const expanded = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_all, braced: string | undefined, bare: string | undefined) => vars.get((braced ?? bare)!) ?? '\u0000');
  // Anything not resolvable here ($(...), ${X:-y}, unknown variables) is not guessed at.
  return expanded.includes('\u0000') || /[$`]/.test(expanded) || expanded === '' ? undefined : expanded;
}

/**
 * The folders a training command writes its metrics to: the values of `--output_dir` and `--logging_dir`
 * (`--flag value` or `--flag=value`) in the resolved command line and in the script it runs, with simple `$VAR`
 * assignments of the script expanded, resolved against the job's working directory. Values that need a shell to
 * know (command substitutions, unknown variables) are left out. Later occurrences win per flag, the command line
 * over the script (its arguments are appended to the script's).
 */
export function metricDirsOf(options: { command?: string; script?: string; cwd: string; scriptDir?: string; posix?: boolean }): Partial<Record<DirFlag, string>> {
  const resolve = options.posix ? path.posix.resolve : path.resolve;
  // The common `cd "$(dirname "$0")"` makes the script's own folder the base of its relative paths.
  const scriptCwd = options.scriptDir && options.script && /^\s*cd\s+"?\$\(\s*dirname\s+"?\$(?:0|\{BASH_SOURCE\[0\]\}|BASH_SOURCE)"?\s*\)"?\s*(?:[;&#].*)?$/m.test(options.script) ? options.scriptDir : options.cwd;
  const found: Partial<Record<DirFlag, string>> = {};
  const vars = options.script ? assignments(options.script) : new Map<string, string>();
  const scan = (text: string, cwd: string) => {
    // Comment lines are not commands; line continuations join a multi-line torchrun call into one.
    const joined = text
      .split(/\r?\n/)
      .filter((line) => !/^\s*#/.test(line))
      .join('\n')
      .replace(/\\\n/g, ' ');
    const pattern = /(?:^|\s)--(output_dir|logging_dir)(?:=|\s+)('[^']*'|"[^"]*"|(?:\\.|[^\s;&|'"])+)/g;
    for (const match of joined.matchAll(pattern)) {
      const value = expand(unquote(match[2]), vars);
      if (value !== undefined) found[match[1] as DirFlag] = resolve(cwd, value);
    }
  };
  if (options.script) scan(options.script, scriptCwd);
  if (options.command) scan(options.command, options.cwd);
  return found;
}

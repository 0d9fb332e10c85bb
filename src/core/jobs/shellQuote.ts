/**
 * The one function that turns an argument into shell-safe text. Every path, flag and value that reaches a
 * POSIX shell (bash, dash, zsh, on this machine or over ssh) goes through it.
 *
 * Single quotes preserve every byte literally in POSIX shells; the only character that cannot appear inside
 * them is the single quote itself, which becomes `'\''` (close, escaped quote, reopen). NUL cannot be passed
 * to a process at all, so it is rejected rather than silently truncated.
 */
export function quoteShellArg(value: string): string {
  if (value.includes('\0')) throw new Error('A shell argument cannot contain a NUL character');
  if (value !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Joins arguments into one shell command line, each quoted. */
export function shellCommand(args: readonly string[]): string {
  return args.map(quoteShellArg).join(' ');
}

/** Environment variable names that a shell accepts in `export NAME=...`. */
export function isValidEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** Exit codes of every `ftw` subcommand (documented in the README). */
export const ExitCode = {
  /** Nothing at error severity was found. */
  Clean: 0,
  /** At least one finding at error severity. */
  Findings: 1,
  /** Bad usage, or a file could not be read or written. */
  UsageOrIo: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Thrown for bad command-line usage; main() prints it with the subcommand's usage and exits with 2. */
export class UsageError extends Error {}

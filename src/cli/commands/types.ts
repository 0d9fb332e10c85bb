import type { CliIo } from '../io';
import type { ExitCode } from '../exitCodes';

/** One `ftw <name>` subcommand. Each lives in its own file and is listed in ./index.ts. */
export interface Subcommand {
  readonly name: string;
  /** One line for `ftw --help`. */
  readonly summary: string;
  /** Full usage text for `ftw <name> --help`. */
  readonly usage: string;
  run(args: string[], io: CliIo): Promise<ExitCode>;
}

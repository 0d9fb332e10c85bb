import { ExitCode } from './exitCodes';
import { runCli } from './main';

// The `ftw` executable: kept apart from main.ts so that importing runCli (tests, the extension) runs nothing.
runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ftw: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = ExitCode.UsageOrIo;
  },
);

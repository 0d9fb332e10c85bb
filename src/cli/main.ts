import { productName, productVersion } from '../core/product';
import { subcommands } from './commands';
import { ExitCode, UsageError } from './exitCodes';
import { processIo, type CliIo } from './io';

function overview(): string {
  const width = Math.max(8, ...subcommands.map((c) => c.name.length));
  const lines = subcommands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `ftw — ${productName} ${productVersion} command-line tool`,
    '',
    'Usage: ftw <command> [options]',
    '',
    'Commands:',
    ...(lines.length ? lines : ['  (none yet)']),
    '',
    'Options:',
    '  -h, --help     show help (also `ftw <command> --help`)',
    '  -v, --version  print the version',
    '',
    'Exit codes: 0 clean, 1 findings at error severity, 2 usage or I/O error.',
    '',
  ].join('\n');
}

/** Runs the CLI on argv (without `node` and the script) and returns the exit code; never calls process.exit. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<ExitCode> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.stdout(overview());
    return first === undefined ? ExitCode.UsageOrIo : ExitCode.Clean;
  }
  if (first === '-v' || first === '--version') {
    io.stdout(`${productVersion}\n`);
    return ExitCode.Clean;
  }
  const command = subcommands.find((c) => c.name === first);
  if (!command) {
    io.stderr(`ftw: unknown command '${first}'. Run 'ftw --help' for the list.\n`);
    return ExitCode.UsageOrIo;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${command.usage.trimEnd()}\n`);
    return ExitCode.Clean;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`ftw ${command.name}: ${error.message}\n\n${command.usage.trimEnd()}\n`);
      return ExitCode.UsageOrIo;
    }
    const err = error as NodeJS.ErrnoException;
    if (err && typeof err.code === 'string' && 'path' in err) {
      io.stderr(`ftw ${command.name}: ${err.message}\n`);
      return ExitCode.UsageOrIo;
    }
    throw error;
  }
}

import type { CliIo } from '../../src/cli/io';

/** A CliIo that collects what a subcommand prints, for tests of `runCli`. */
export function bufferIo(cwd: string): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', cwd, stdout: (text: string) => void (io.out += text), stderr: (text: string) => void (io.err += text) };
  return io;
}

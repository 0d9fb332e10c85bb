/** Where a subcommand writes; tests pass buffers instead of the process streams. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Working directory that relative paths are resolved against. */
  cwd: string;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
};

// extensionTestsPath of the untrusted-workspace window (see ../codeServer.test.ts).
import { runMochaSuite } from '../suite/index';

export function run(): Promise<void> {
  return runMochaSuite(__dirname);
}

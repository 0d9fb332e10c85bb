import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from './codeServer';

/**
 * Starts the product command (`scripts/start.mjs`, what `npm start` runs) on `port`, already installed and built by
 * the test command, and resolves with the URL it prints. `workspace` defaults to the example workspace.
 */
export async function startProduct(port: number, workspace?: string): Promise<{ url: string; stop(): void }> {
  const args = [path.join(projectRoot, 'scripts', 'start.mjs'), '--port', String(port), '--no-install', '--no-build'];
  if (workspace) args.push('--workspace', workspace);
  args.push('--state-dir', mkdtempSync(path.join(os.tmpdir(), 'ftw-ui-')));
  const child = spawn(process.execPath, args, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL in 90 s:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running in code-server at (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}):\n${output}`));
    });
  });
  return { url, stop: () => child.kill('SIGINT') };
}

import { spawn } from 'node:child_process';

/**
 * rsync arguments that copy a workspace to the target over the target's own ssh connection (the -e command
 * carries the ControlPath, so the multiplexed connection is reused). `.gitignore` files are honoured per
 * folder (`:- .gitignore` dir-merge filter) and the exclude patterns are added.
 */
export function rsyncArgs(o: { localDir: string; remoteDir: string; sshShell: string; host: string; exclude: readonly string[] }): string[] {
  const args = ['--archive', '--compress', '--delete', '--protect-args', '-e', o.sshShell, '--mkpath'];
  args.push('--filter=:- .gitignore'); // a dir-merge filter: a folder without .gitignore is fine
  for (const pattern of o.exclude) args.push(`--exclude=${pattern}`);
  args.push(`${o.localDir.replace(/\/+$/, '')}/`, `${o.host}:${o.remoteDir.replace(/\/+$/, '')}/`);
  return args;
}

export async function rsyncToTarget(o: Parameters<typeof rsyncArgs>[0]): Promise<void> {
  const args = rsyncArgs(o);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('rsync', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (e) => reject(new Error(`rsync could not start (${e.message}); install rsync on this machine and on the target`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`File sync with rsync failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`))));
  });
}

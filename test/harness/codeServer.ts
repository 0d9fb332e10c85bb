import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The project root (this file is transpiled to out/test/harness/). */
export const projectRoot = path.resolve(__dirname, '..', '..', '..');
export const codeServerVersion = process.env.CODE_SERVER_VERSION ?? '4.100.3';
export const codeServerInstall =
  process.env.CODE_SERVER_CACHE ?? path.join(projectRoot, '.vscode-test', `code-server-${codeServerVersion}`);
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function codeServerEntry(): string {
  const entry = path.join(codeServerInstall, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!existsSync(path.join(codeServerInstall, '.complete')) || !existsSync(entry)) {
    throw new Error(
      `code-server ${codeServerVersion} is not installed at ${codeServerInstall}. ` +
        `Run 'bash scripts/install-code-server.sh' (npm test does this itself).`,
    );
  }
  return entry;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`code-server exited with ${child.exitCode} before answering; log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    }
    try {
      const response = await fetch(url, { redirect: 'manual' });
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not answer at ${url} within ${timeoutMs} ms; log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
}

export interface CodeServerOptions {
  /** Folder opened by default. */
  workspace: string;
  /** Extra environment for the server and so for the extension host it forks. */
  env?: Record<string, string>;
  /** Install the extension at this path into the server's extensions folder (as a user would have it). */
  installExtensionFrom?: string;
  port?: number;
  /** Keep the user-data and extensions folders here instead of a temporary folder. */
  stateDir?: string;
  /** Leave workspace trust on, so the opened folder starts untrusted (tests of restricted mode). */
  workspaceTrust?: boolean;
}

export interface RunningCodeServer {
  readonly port: number;
  readonly origin: string;
  readonly stateDir: string;
  readonly logFile: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts code-server on 127.0.0.1 with private user-data, extensions and config folders. */
export async function startCodeServer(options: CodeServerOptions): Promise<RunningCodeServer> {
  const entry = codeServerEntry();
  const port = options.port ?? (await freePort());
  const stateDir = options.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'ftw-code-server-'));
  const userDataDir = path.join(stateDir, 'user-data');
  const extensionsDir = path.join(stateDir, 'extensions');
  mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  // Quiet first start: no welcome page, trust the opened workspace unless a test asks otherwise.
  const settingsFile = path.join(userDataDir, 'User', 'settings.json');
  if (!existsSync(settingsFile)) {
    writeFileSync(
      settingsFile,
      JSON.stringify(
        {
          'workbench.startupEditor': 'none',
          'security.workspace.trust.enabled': options.workspaceTrust === true,
          'workbench.tips.enabled': false,
          'extensions.autoCheckUpdates': false,
          'extensions.autoUpdate': false,
          'telemetry.telemetryLevel': 'off',
          'update.mode': 'none',
          'workbench.colorTheme': 'Default Dark Modern',
        },
        null,
        2,
      ),
    );
  }
  if (options.installExtensionFrom) {
    const manifest = JSON.parse(readFileSync(path.join(options.installExtensionFrom, 'package.json'), 'utf8')) as {
      publisher: string;
      name: string;
      version: string;
    };
    const link = path.join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`);
    rmSync(link, { force: true, recursive: true });
    symlinkSync(options.installExtensionFrom, link, 'dir');
  }
  const configFile = path.join(stateDir, 'config.yaml');
  writeFileSync(configFile, 'auth: none\ncert: false\n');
  const logFile = path.join(stateDir, 'code-server.log');
  const out = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      entry,
      '--config', configFile,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir,
      '--disable-telemetry',
      '--disable-update-check',
      ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
      options.workspace,
    ],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', out, out], detached: true },
  );
  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${origin}/healthz`, 60_000, child, logFile);
  } catch (error) {
    killGroup(child);
    throw error;
  }
  return {
    port,
    origin,
    stateDir,
    logFile,
    process: child,
    async stop() {
      killGroup(child);
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else {
          const timer = setTimeout(() => {
            killGroup(child, 'SIGKILL');
            resolve();
          }, 5000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }
      });
    },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // the server and the extension hosts it forked
  } catch {
    // already gone
  }
}

/** The workbench URL for a folder, optionally with the test payload that VS Code's own test runners use. */
export function workbenchUrl(
  server: RunningCodeServer,
  folder: string,
  payload?: { extensionDevelopmentPath?: string; extensionTestsPath?: string },
): string {
  const params = new URLSearchParams({ folder });
  if (payload) {
    const entries: [string, string][] = [];
    const remote = (p: string) => `vscode-remote://127.0.0.1:${server.port}${p}`;
    if (payload.extensionDevelopmentPath) entries.push(['extensionDevelopmentPath', remote(payload.extensionDevelopmentPath)]);
    if (payload.extensionTestsPath) entries.push(['extensionTestsPath', remote(payload.extensionTestsPath)]);
    entries.push(['skipWelcome', 'true']);
    params.set('payload', JSON.stringify(entries));
  }
  return `${server.origin}/?${params.toString()}`;
}

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

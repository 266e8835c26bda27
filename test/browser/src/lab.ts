// A real JupyterLab (the .venv's) and a real Debian chromium (playwright-core)
// for the browser tests, each owned by one test file: private temporary
// directories, a free port on 127.0.0.1, a random token; everything is
// stopped and removed by `stop()`, also after a failure, and leftovers of an
// earlier run that died are removed by `start()`.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { BrowserContext, Page, chromium } from 'playwright-core';

export const REPO = resolve(__dirname, '..', '..', '..');
export const JUPYTER = join(REPO, '.venv', 'bin', 'jupyter');
export const CHROMIUM = process.env.TORCHCLAD_CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = process.env.TORCHCLAD_TEST_ARTIFACTS || join(REPO, 'test-artifacts', 'browser');
const PREFIX = 'torchclad-browser-';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A time limit for Promise.race that does not keep the process alive once the race is decided. */
const limit = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose working directory is under `dir` or whose command line names it. */
export function processesOf(dir: string): number[] {
  let target: string;
  try {
    target = realpathSync(dir);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${e}/cwd`);
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cwd === target || cwd.startsWith(`${target}/`) || cmd.includes(target)) pids.push(Number(e));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Temporary directories of earlier runs whose test process is gone: their processes are killed, the directories removed. */
function removeLeftovers(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      // no owner file: half-created; treat as dead
    }
    if (owner > 0 && alive(owner)) continue;
    killAll(processesOf(dir));
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface LabOptions {
  /** Files copied into the server's root directory: name -> source path. */
  files: Record<string, string>;
  /** Notebooks written into the server's root directory: name -> content. */
  notebooks?: Record<string, unknown>;
  /** Browser viewport. */
  viewport?: { width: number; height: number };
}

export class Lab {
  readonly token = randomBytes(24).toString('hex');
  tmp = '';
  rootDir = '';
  base = '';
  log = '';
  console: string[] = [];
  private server: ChildProcess | undefined;
  private serverExited: Promise<void> = Promise.resolve();
  /** Processes that were still running after the browser, the kernels and the server were stopped (then killed). */
  leftAfterStop: number[] = [];
  context: BrowserContext | undefined;
  page: Page | undefined;

  async start(opts: LabOptions): Promise<Page> {
    removeLeftovers();
    this.tmp = mkdtempSync(join(tmpdir(), PREFIX));
    writeFileSync(join(this.tmp, 'owner.pid'), String(process.pid));
    this.rootDir = join(this.tmp, 'root');
    mkdirSync(this.rootDir);
    for (const [name, src] of Object.entries(opts.files)) writeFileSync(join(this.rootDir, name), readFileSync(src));
    for (const [name, nb] of Object.entries(opts.notebooks ?? {}))
      writeFileSync(join(this.rootDir, name), JSON.stringify(nb, null, 1));
    // User settings of this run only: no news/update toasts over the notebook.
    const settings = join(this.tmp, 'settings');
    mkdirSync(join(settings, '@jupyterlab', 'apputils-extension'), { recursive: true });
    writeFileSync(
      join(settings, '@jupyterlab', 'apputils-extension', 'notification.jupyterlab-settings'),
      JSON.stringify({ fetchNews: 'false', checkForUpdates: false }),
    );
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // private runtime, config and user data (with this checkout's
      // kernelspec); the lab extension comes from the .venv's share/jupyter
      JUPYTER_RUNTIME_DIR: join(this.tmp, 'runtime'),
      JUPYTER_CONFIG_DIR: join(this.tmp, 'config'),
      JUPYTER_DATA_DIR: join(this.tmp, 'data'),
      JUPYTERLAB_SETTINGS_DIR: settings,
      JUPYTERLAB_WORKSPACES_DIR: join(this.tmp, 'workspaces'),
    };
    // first on Jupyter's search path: in a virtualenv the .venv's share/jupyter
    // comes before JUPYTER_DATA_DIR
    env.JUPYTER_PATH = join(this.tmp, 'data');
    delete env.JUPYTER_TOKEN;
    // This checkout's kernel (bridge and host) in the private data directory,
    // ahead of the .venv's kernelspec (which may name another checkout).
    execFileSync('bash', [join(REPO, 'scripts', 'install-kernelspec.sh')], { cwd: REPO, env, stdio: 'ignore' });
    this.server = spawn(
      JUPYTER,
      [
        'lab',
        '--no-browser',
        '--ip=127.0.0.1',
        `--port=${port}`,
        '--port-retries=0',
        `--IdentityProvider.token=${this.token}`,
        `--ServerApp.root_dir=${this.rootDir}`,
        ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
      ],
      { cwd: this.tmp, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.server.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.server.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.serverExited = new Promise((res) => this.server!.once('exit', () => res()));
    const deadline = Date.now() + 60000;
    for (;;) {
      if (this.server.exitCode !== null)
        throw new Error(`jupyter lab exited (code ${this.server.exitCode}):\n${this.log}`);
      try {
        if ((await this.api('GET', '/api/status')).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`jupyter lab did not answer on ${this.base} within 60 s:\n${this.log}`);
      await sleep(250);
    }

    this.context = await chromium.launchPersistentContext(join(this.tmp, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: opts.viewport ?? { width: 1400, height: 1000 },
      timeout: 60000,
    });
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    this.page.on('console', (m) => this.console.push(`${m.type()}: ${m.text()}`));
    this.page.on('pageerror', (e) => this.console.push(`pageerror: ${e.message}`));
    return this.page;
  }

  api(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.base}${path}`, {
      method,
      headers: { Authorization: `token ${this.token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** Writes the server log and the browser console into the artifacts directory. */
  saveLogs(prefix: string): void {
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, `${prefix}-jupyterlab.log`), this.log.split(this.token).join('<token>'));
    writeFileSync(join(ARTIFACTS, `${prefix}-browser-console.log`), this.console.join('\n') + '\n');
  }

  /** Stops the browser, the kernels, the server; kills what is left; removes the temporary directory. */
  async stop(): Promise<void> {
    try {
      if (this.context) {
        await Promise.race([this.context.close().catch(() => undefined), limit(10000)]);
      }
      if (this.server?.pid && this.server.exitCode === null) {
        // kernels first (through the API, as JupyterLab's "shut down" does), then the server
        try {
          const kernels = (await (await this.api('GET', '/api/kernels')).json()) as { id: string }[];
          await Promise.all(kernels.map((k) => this.api('DELETE', `/api/kernels/${k.id}`).catch(() => undefined)));
        } catch {
          // the server is not answering: it is killed below
        }
        try {
          process.kill(-this.server.pid, 'SIGTERM');
        } catch {
          // gone
        }
        await Promise.race([this.serverExited, limit(10000)]);
        try {
          process.kill(-this.server.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    } finally {
      // nothing of the server may keep the test process alive
      this.server?.stdout?.destroy();
      this.server?.stderr?.destroy();
      this.server?.unref();
      if (this.tmp && existsSync(this.tmp)) {
        // the kernel has its own session, chromium its own processes: whatever
        // still runs in or names the temporary directory is ours
        const deadline = Date.now() + 5000;
        while (processesOf(this.tmp).length && Date.now() < deadline) await sleep(200);
        this.leftAfterStop = processesOf(this.tmp);
        killAll(this.leftAfterStop);
        rmSync(this.tmp, { recursive: true, force: true });
      }
    }
  }
}

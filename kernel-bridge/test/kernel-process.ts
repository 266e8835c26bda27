// The kernel as Jupyter starts it, for the end-to-end tests: `node
// dist/main.js -f CONNECTION_FILE --host HOST` as a child process, with the
// real C++ host, and a TestClient connected to it. A suite that needs the
// host fails with a message when it is not built (no silent skip).
import { ChildProcess, spawn } from "child_process";
import { randomUUID } from "crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import { createServer } from "net";
import { tmpdir } from "os";
import { join, resolve } from "path";

import { ConnectionInfo } from "../src/connection";
import { resolveHostPath } from "../src/host";
import { TestClient } from "./client";

export const HOST = resolveHostPath();
export const MAIN = resolve(__dirname, "..", "dist", "main.js");

/** Throws unless the host binary and dist/ exist: call it in beforeAll. */
export function requireHost(): void {
  if (!existsSync(HOST)) {
    throw new Error(
      `no kernel host at ${HOST}: this suite needs the real host. Build it (scripts/build.sh) or set TORCHCLAD_HOST to the binary.`,
    );
  }
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: the jest globalSetup builds it (npm test)`);
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((res) => {
          const s = createServer();
          s.listen(0, "127.0.0.1", () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/**
 * Whether a process runs. A zombie does not: a killed process whose parent
 * died is reparented to pid 1, which in a container may never reap it.
 */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Pids of the processes whose command line is exactly `argv` (from /proc). */
export function processesRunning(argv: string[]): number[] {
  const wanted = argv.join("\0") + "\0";
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "latin1") === wanted && alive(Number(e))) pids.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Polls `check` every 50 ms until it holds or `ms` passed; returns whether it held. */
export async function eventually(check: () => boolean, ms = 10000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

export class KernelProcess {
  stderr = "";
  readonly exited: Promise<number | null>;
  readonly client: TestClient;

  private constructor(
    readonly child: ChildProcess,
    readonly info: ConnectionInfo,
    readonly dir: string,
    ports: number[],
  ) {
    child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => child.on("exit", (code) => r(code)));
    const [shell, control, iopub, stdin, hb] = ports;
    this.client = new TestClient(info, { shell, control, iopub, stdin, hb });
  }

  /** Starts a kernel (own temporary working directory) and connects a client. */
  static async start(options: { key?: string; hostArgs?: string[] } = {}): Promise<KernelProcess> {
    requireHost();
    const dir = mkdtempSync(join(tmpdir(), "torchclad-kernel-test-"));
    const ports = await freePorts(5);
    const [shell, control, iopub, stdin, hb] = ports;
    const info: ConnectionInfo = {
      transport: "tcp",
      ip: "127.0.0.1",
      shell_port: shell,
      control_port: control,
      iopub_port: iopub,
      stdin_port: stdin,
      hb_port: hb,
      key: options.key ?? randomUUID(),
      signature_scheme: "hmac-sha256",
      kernel_name: "torchclad",
    };
    const file = join(dir, "kernel.json");
    writeFileSync(file, JSON.stringify(info));
    const args = [MAIN, "-f", file, "--host", HOST, ...(options.hostArgs ?? []).map((a) => `--host-arg=${a}`)];
    const child = spawn(process.execPath, args, {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, TORCHCLAD_KERNEL_LOG: "info" },
    });
    const k = new KernelProcess(child, info, dir, ports);
    await k.client.connect();
    return k;
  }

  /** The pids of the hosts this kernel started (from its log). */
  hostPids(): number[] {
    return [...this.stderr.matchAll(/started the kernel host \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Closes the client, kills the kernel if it still runs, removes its directory. */
  async dispose(): Promise<void> {
    this.client.close();
    if (this.running) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
    for (const pid of this.hostPids().filter(alive)) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// Integration with a real `jupyter server` (the project's .venv): the server
// starts the torchclad kernel through its REST API, and the test talks to it
// over the server's websocket (/api/kernels/<id>/channels, Jupyter's JSON
// messages) as JupyterLab does: declarations, output, a compile error, and a
// training run with its live display. Fails with a message when the host
// binary or the .venv's jupyter is missing.
import { ChildProcess, spawn } from "child_process";
import { randomBytes, randomUUID } from "crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "fs";
import { createServer } from "net";
import { tmpdir } from "os";
import { join, resolve } from "path";
import WebSocket from "ws";

import { alive, eventually, HOST, MAIN, processesRunning, requireHost } from "../kernel-process";
import { TRAINING_MIME, TrainingState } from "../../src/telemetry";

const REPO = resolve(__dirname, "..", "..", "..");
const JUPYTER = join(REPO, ".venv", "bin", "jupyter");
const IDX = "/usr/share/datasets/fashion-mnist";

interface Msg {
  header: { msg_id: string; msg_type: string; session: string; username: string; date: string; version: string };
  parent_header: { msg_id?: string };
  metadata: Record<string, unknown>;
  content: Record<string, any>;
  buffers?: unknown[];
  channel: string;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, "127.0.0.1", () => res()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Processes whose working directory is `dir`: the kernel and its host run in the server's root. */
function processesIn(dir: string): number[] {
  const target = realpathSync(dir);
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/cwd`) === target) pids.push(Number(e));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

describe("the torchclad kernel under a real jupyter server (REST + websocket)", () => {
  let tmp: string;
  let rootDir: string;
  let server: ChildProcess | undefined;
  let serverExited: Promise<void>;
  let serverLog = "";
  let base: string;
  const token = randomBytes(16).toString("hex");
  let kernelId: string | undefined;
  let ws: WebSocket | undefined;
  const session = randomUUID();
  const received: Msg[] = [];
  const waiters: (() => void)[] = [];

  const api = async (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `token ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  function send(msgType: string, content: Record<string, unknown>, channel = "shell"): string {
    const msgId = randomUUID();
    const msg: Msg = {
      header: {
        msg_id: msgId,
        msg_type: msgType,
        session,
        username: "test",
        date: new Date().toISOString(),
        version: "5.3",
      },
      parent_header: {},
      metadata: {},
      content,
      buffers: [],
      channel,
    };
    ws!.send(JSON.stringify(msg));
    return msgId;
  }

  async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; server log:\n${serverLog.slice(-3000)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 200));
        waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** Runs a cell; resolves with the reply and every iopub message of it, once the kernel is idle again. */
  async function execute(code: string, ms = 30000): Promise<{ reply: Msg; iopub: Msg[] }> {
    const id = send("execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    const ofThis = () => received.filter((m) => m.parent_header?.msg_id === id);
    await waitFor(
      () =>
        ofThis().some((m) => m.channel === "shell" && m.header.msg_type === "execute_reply") &&
        ofThis().some(
          (m) => m.channel === "iopub" && m.header.msg_type === "status" && m.content.execution_state === "idle",
        ),
      ms,
      `the reply to ${JSON.stringify(code.slice(0, 40))}`,
    );
    const all = ofThis();
    return {
      reply: all.find((m) => m.header.msg_type === "execute_reply")!,
      iopub: all.filter((m) => m.channel === "iopub"),
    };
  }

  const stdout = (iopub: Msg[], name = "stdout") =>
    iopub
      .filter((m) => m.header.msg_type === "stream" && m.content.name === name)
      .map((m) => m.content.text as string)
      .join("");

  beforeAll(async () => {
    requireHost();
    if (!existsSync(JUPYTER))
      throw new Error(`no jupyter at ${JUPYTER}: this suite needs the .venv (scripts/setup.sh)`);
    tmp = mkdtempSync(join(tmpdir(), "torchclad-jupyter-server-"));
    rootDir = join(tmp, "root");
    mkdirSync(rootDir);
    // A kernelspec of this checkout (dist/ built by the global setup), found
    // first through JUPYTER_PATH; runtime, config and data dirs are private.
    const spec = join(tmp, "data", "kernels", "torchclad");
    mkdirSync(spec, { recursive: true });
    writeFileSync(
      join(spec, "kernel.json"),
      JSON.stringify({
        argv: [process.execPath, MAIN, "-f", "{connection_file}", "--host", HOST],
        display_name: "ROOT C++ (Clad + LibTorch)",
        language: "cpp",
        interrupt_mode: "message",
      }),
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      JUPYTER_PATH: join(tmp, "data"),
      JUPYTER_RUNTIME_DIR: join(tmp, "runtime"),
      JUPYTER_CONFIG_DIR: join(tmp, "config"),
      JUPYTER_DATA_DIR: join(tmp, "userdata"),
      JUPYTER_TOKEN: token,
    };
    server = spawn(
      JUPYTER,
      [
        "server",
        "--ip=127.0.0.1",
        `--port=${port}`,
        "--port-retries=0",
        "--no-browser",
        `--IdentityProvider.token=${token}`,
        `--ServerApp.root_dir=${rootDir}`,
        ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
      ],
      { cwd: tmp, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    server.stdout!.on("data", (d: Buffer) => (serverLog += d.toString()));
    server.stderr!.on("data", (d: Buffer) => (serverLog += d.toString()));
    serverExited = new Promise((res) => server!.once("exit", () => res()));
    const deadline = Date.now() + 30000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`jupyter server exited:\n${serverLog}`);
      try {
        const r = await api("GET", "/api/status");
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`jupyter server did not start:\n${serverLog}`);
      await sleep(200);
    }
  }, 45000);

  afterAll(async () => {
    try {
      ws?.terminate();
      if (kernelId) await api("DELETE", `/api/kernels/${kernelId}`).catch(() => undefined);
    } finally {
      if (server?.pid && server.exitCode === null) {
        try {
          process.kill(-server.pid, "SIGTERM");
        } catch {
          // already gone
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([serverExited, new Promise((r) => (timer = setTimeout(r, 8000)))]);
        clearTimeout(timer);
        try {
          process.kill(-server.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      // The kernel has its own session (jupyter_client starts it so): kill
      // anything still running in the root directory, then remove it.
      if (rootDir && existsSync(rootDir)) for (const pid of processesIn(rootDir)) process.kill(pid, "SIGKILL");
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
  }, 30000);

  test("the kernelspec is listed; POST /api/kernels starts the kernel; the websocket connects", async () => {
    const specs = (await (await api("GET", "/api/kernelspecs")).json()) as {
      kernelspecs: Record<string, { spec: { language: string } }>;
    };
    expect(Object.keys(specs.kernelspecs)).toContain("torchclad");
    expect(specs.kernelspecs.torchclad.spec.language).toBe("cpp");

    const unauthorized = await fetch(`${base}/api/kernels`);
    expect(unauthorized.status).toBe(403);

    const r = await api("POST", "/api/kernels", { name: "torchclad", path: "mnist-test.ipynb" });
    expect(r.status).toBe(201);
    const kernel = (await r.json()) as { id: string; name: string };
    expect(kernel.name).toBe("torchclad");
    kernelId = kernel.id as string;

    ws = new WebSocket(`${base.replace("http", "ws")}/api/kernels/${kernelId}/channels?session_id=${session}`, {
      headers: { Authorization: `token ${token}` },
    });
    ws.on("message", (data) => {
      received.push(JSON.parse(data.toString()) as Msg);
      for (const w of waiters.splice(0)) w();
    });
    await new Promise<void>((res, rej) => {
      ws!.once("open", () => res());
      ws!.once("error", rej);
    });

    const id = send("kernel_info_request", {});
    await waitFor(
      () => received.some((m) => m.parent_header?.msg_id === id && m.header.msg_type === "kernel_info_reply"),
      20000,
      "kernel_info_reply",
    );
    const info = received.find((m) => m.parent_header?.msg_id === id && m.header.msg_type === "kernel_info_reply")!;
    expect(info.channel).toBe("shell");
    expect(info.content.status).toBe("ok");
    expect(info.content.language_info.name).toMatch(/c\+\+/i);
  }, 40000);

  test("a declaration, then a cell that prints it (stream on iopub)", async () => {
    const a = await execute("int answer = 42;");
    expect(a.reply.content.status).toBe("ok");
    expect(a.iopub.map((m) => m.header.msg_type)).toContain("execute_input");

    const b = await execute('printf("%d\\n", answer);');
    expect(b.reply.content.status).toBe("ok");
    expect(b.reply.content.execution_count).toBe(a.reply.content.execution_count + 1);
    expect(stdout(b.iopub)).toBe("42\n");
    const types = b.iopub.map((m) => m.header.msg_type);
    expect(types[0]).toBe("status");
    expect(types.at(-1)).toBe("status");
  }, 40000);

  test("a compile error: an error reply with ename/evalue, and an error on iopub", async () => {
    const { reply, iopub } = await execute("int broken = undeclared_name + 1;");
    expect(reply.content.status).toBe("error");
    expect(typeof reply.content.ename).toBe("string");
    expect(reply.content.ename.length).toBeGreaterThan(0);
    expect(typeof reply.content.evalue).toBe("string");
    const err = iopub.find((m) => m.header.msg_type === "error");
    expect(err?.content.ename).toBe(reply.content.ename);
    expect(stdout(iopub, "stderr")).toMatch(/undeclared_name/);

    // The kernel goes on, with its state.
    const again = await execute('printf("%d\\n", answer + 1);');
    expect(again.reply.content.status).toBe("ok");
    expect(stdout(again.iopub)).toBe("43\n");
  }, 40000);

  test("a training run: display_data, update_display_data, final status finished", async () => {
    const { reply, iopub } = await execute(
      '#include "torchclad/torchclad.h"\n' +
        `auto small = torchclad::Dataset::from_idx("${IDX}", "test");\n` +
        "torchclad::Mlp model({784, 32, 10});\n" +
        'torchclad::TrainOptions options; options.engine = "clad"; options.epochs = 1; options.batch = 64; options.progress = false;\n' +
        "auto result = model.fit(small, small, options);\n" +
        'printf("%s %.3f\\n", result.status.c_str(), result.final_accuracy());',
      60000,
    );
    expect(reply.content.status).toBe("ok");
    expect(stdout(iopub)).toMatch(/^finished 0\.\d+\n$/);
    const created = iopub.filter((m) => m.header.msg_type === "display_data" && TRAINING_MIME in m.content.data);
    expect(created.length).toBe(1);
    const displayId = created[0].content.transient.display_id as string;
    expect(displayId).toMatch(/^torchclad-training-/);
    const updates = iopub.filter((m) => m.header.msg_type === "update_display_data");
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.every((m) => m.content.transient.display_id === displayId)).toBe(true);
    const last = updates.at(-1)!.content.data;
    expect(last["text/plain"]).toMatch(/finished/);
    const state = last[TRAINING_MIME] as TrainingState;
    expect(state.status).toBe("finished");
    expect(state.engine).toBe("clad");
    expect(state.steps.step.length).toBeGreaterThan(0);
    expect(state.epoch_metrics.length).toBe(1);
    expect(state.step).toBe(state.total_steps);
  }, 60000);

  test("DELETE /api/kernels/<id> stops the kernel, its host and what a cell started in the background", async () => {
    expect(kernelId).toBeDefined();
    const sleeper = ["sleep", `970.${process.pid}`];
    const { reply } = await execute(`system("${sleeper.join(" ")} &");`);
    expect(reply.content.status).toBe("ok");
    expect(await eventually(() => processesRunning(sleeper).length === 1)).toBe(true);
    const before = processesIn(rootDir);
    expect(before).toEqual(expect.arrayContaining(processesRunning(sleeper)));
    expect(before.length).toBeGreaterThan(2); // the kernel, its host, the sleep
    const r = await api("DELETE", `/api/kernels/${kernelId}`);
    expect(r.status).toBe(204);
    kernelId = undefined;
    const list = await (await api("GET", "/api/kernels")).json();
    expect(list).toEqual([]);
    const deadline = Date.now() + 10000;
    while (before.some(alive) && Date.now() < deadline) await sleep(100);
    expect(before.filter(alive)).toEqual([]);
    expect(processesRunning(sleeper)).toEqual([]);
  }, 30000);
});

// The kernel's protocol over real ZeroMQ sockets on 127.0.0.1, with the
// in-process FakeExecutor standing in for the C++ host.
import { Kernel } from "../src/kernel";
import { MemoryLogger } from "../src/logger";
import { DELIMITER, encode } from "../src/wire";
import { kinds, TestClient, testConnection } from "./client";
import { FakeExecutor } from "./fake-executor";

interface Harness {
  kernel: Kernel;
  client: TestClient;
  executor: FakeExecutor;
  log: MemoryLogger;
}

async function startKernel(key?: string): Promise<Harness> {
  const info = testConnection(key);
  const executor = new FakeExecutor();
  const log = new MemoryLogger();
  const kernel = new Kernel({ connection: info, executor, logger: log, infoTimeoutMs: 1000 });
  await kernel.start();
  const client = new TestClient(info, kernel.sockets.ports);
  await client.connect();
  return { kernel, client, executor, log };
}

async function stopKernel(h: Harness): Promise<void> {
  h.client.close();
  await h.kernel.stop();
}

describe("a kernel over ZeroMQ", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startKernel();
  });
  afterAll(async () => {
    await stopKernel(h);
  });

  test("binds on 127.0.0.1 only", () => {
    for (const s of [h.kernel.sockets.shell, h.kernel.sockets.control, h.kernel.sockets.iopub, h.kernel.sockets.hb]) {
      expect(s.lastEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    }
  });

  test("kernel_info", async () => {
    const { reply, iopub } = await h.client.roundTrip("shell", "kernel_info_request", {});
    expect(reply.header.msg_type).toBe("kernel_info_reply");
    expect(reply.header.version).toBe("5.3");
    expect(reply.header.session).toBe(h.kernel.session.id);
    const c = reply.content;
    expect(c.status).toBe("ok");
    expect(c.protocol_version).toBe("5.3");
    expect(c.implementation).toBe("torchclad");
    expect(c.language_info).toMatchObject({ name: "C++", mimetype: "text/x-c++src", file_extension: ".cpp" });
    expect(c.banner).toContain("fake executor");
    expect((c.help_links as { url: string }[]).length).toBeGreaterThan(2);
    expect(kinds(iopub)).toEqual(["status:busy", "status:idle"]);
  });

  test("kernel_info on control", async () => {
    const { reply } = await h.client.roundTrip("control", "kernel_info_request", {});
    expect(reply.content.implementation).toBe("torchclad");
  });

  test("heartbeat echoes", async () => {
    expect(await h.client.heartbeat("beat-1")).toBe("beat-1");
  });

  test("execute: busy, execute_input, outputs, idle on iopub; the reply", async () => {
    const code = "print hello\neprint warn\ndisplay d1 first\nupdate d1 second\nresult 42";
    const { reply, iopub } = await h.client.execute(code);
    expect(kinds(iopub)).toEqual([
      "status:busy",
      "execute_input",
      "stream",
      "stream",
      "display_data",
      "update_display_data",
      "execute_result",
      "status:idle",
    ]);
    const count = reply.content.execution_count as number;
    expect(reply.content).toEqual({ status: "ok", execution_count: count, user_expressions: {}, payload: [] });
    expect(iopub[1].content).toEqual({ code, execution_count: count });
    expect(iopub[2].content).toEqual({ name: "stdout", text: "hello\n" });
    expect(iopub[3].content).toEqual({ name: "stderr", text: "warn\n" });
    expect(iopub[4].content).toEqual({
      data: { "text/plain": "first" },
      metadata: {},
      transient: { display_id: "d1" },
    });
    expect(iopub[5].content).toEqual({
      data: { "text/plain": "second" },
      metadata: {},
      transient: { display_id: "d1" },
    });
    expect(iopub[6].content).toEqual({ execution_count: count, data: { "text/plain": "42" }, metadata: {} });
    // The iopub topic and every parent header.
    expect(iopub[2].identities[0].toString()).toBe(`kernel.${h.kernel.kernelId}.stream`);
    expect(reply.metadata.status).toBe("ok");
  });

  test("the execution count grows with store_history, not with silent or store_history false", async () => {
    const a = (await h.client.execute("print a")).reply.content.execution_count as number;
    const b = (await h.client.execute("print b")).reply.content.execution_count as number;
    expect(b).toBe(a + 1);
    const noHistory = await h.client.execute("print c", { store_history: false });
    expect(noHistory.reply.content.execution_count).toBe(b);
    expect(kinds(noHistory.iopub)).toContain("stream");
    const silent = await h.client.execute("print quiet", { silent: true });
    expect(silent.reply.content).toMatchObject({ status: "ok", execution_count: b });
    expect(kinds(silent.iopub)).toEqual(["status:busy", "status:idle"]); // no execute_input, no output
    expect((await h.client.execute("print d")).reply.content.execution_count).toBe(b + 1);
  });

  test("the cell id from the request metadata reaches the executor", async () => {
    await h.client.execute("print x", {}, { cellId: "cell-abc" });
    expect(h.executor.executed.at(-1)?.cellId).toBe("cell-abc");
  });

  test("an error: error on iopub, error reply", async () => {
    const { reply, iopub } = await h.client.execute("print before\nfail CompileError expected expression");
    expect(kinds(iopub)).toEqual(["status:busy", "execute_input", "stream", "error", "status:idle"]);
    expect(iopub[3].content).toEqual({
      ename: "CompileError",
      evalue: "expected expression",
      traceback: ["CompileError: tb"],
    });
    expect(reply.content).toMatchObject({ status: "error", ename: "CompileError", evalue: "expected expression" });
  });

  test("after an error, queued executes are aborted; stop_on_error false does not abort", async () => {
    const first = await h.client.request("shell", "execute_request", { code: "sleep 150\nfail E boom", silent: false });
    const second = await h.client.request("shell", "execute_request", { code: "print never", silent: false });
    const third = await h.client.request("shell", "execute_request", { code: "print never either", silent: false });
    expect((await h.client.reply("shell", first)).content.status).toBe("error");
    const r2 = await h.client.reply("shell", second);
    const r3 = await h.client.reply("shell", third);
    expect(r2.content).toEqual({ status: "aborted" });
    expect(r3.content).toEqual({ status: "aborted" });
    expect(kinds(await h.client.idle(second))).toEqual(["status:busy", "status:idle"]);
    // The queue is clear again.
    expect((await h.client.execute("print after")).reply.content.status).toBe("ok");

    const a = await h.client.request("shell", "execute_request", { code: "sleep 100\nfail E x", stop_on_error: false });
    const b = await h.client.request("shell", "execute_request", { code: "print runs" });
    expect((await h.client.reply("shell", a)).content.status).toBe("error");
    expect((await h.client.reply("shell", b)).content.status).toBe("ok");
  });

  test("a cell sent on seeing an error reply runs (only what was queued before the reply is aborted)", async () => {
    // Sending a reply can take a while on a loaded machine; make it slow, so
    // that the next request surely arrives while the kernel is still in it.
    const kernel = h.kernel as unknown as { reply: (...args: unknown[]) => Promise<void> };
    const reply = kernel.reply;
    kernel.reply = async function (this: unknown, ...args: unknown[]) {
      await reply.apply(this, args);
      await new Promise((r) => setTimeout(r, 100));
    };
    try {
      const failed = await h.client.request("shell", "execute_request", { code: "fail E boom", silent: false });
      expect((await h.client.reply("shell", failed)).content.status).toBe("error");
      const next = await h.client.request("shell", "execute_request", { code: "print runs", silent: false });
      expect((await h.client.reply("shell", next)).content.status).toBe("ok");
    } finally {
      kernel.reply = reply;
    }
  });

  test("an executor that throws gives an error reply and the kernel goes on", async () => {
    const { reply } = await h.client.execute("throw kaboom");
    expect(reply.content).toMatchObject({ status: "error", ename: "KernelError", evalue: "kaboom" });
    expect((await h.client.execute("print fine")).reply.content.status).toBe("ok");
  });

  test("magics: %lsmagic, %%time, %time, %%clad passed through, unknown magic", async () => {
    const ls = await h.client.execute("%lsmagic");
    const lsText = ls.iopub.find((m) => m.header.msg_type === "stream")?.content.text as string;
    expect(lsText).toContain("%%clad");
    expect(lsText).toContain("%%time");

    const timed = await h.client.execute("%%time\nsleep 30\nprint timed");
    const texts = timed.iopub.filter((m) => m.header.msg_type === "stream").map((m) => m.content.text);
    expect(texts[0]).toBe("timed\n");
    expect(texts[1]).toMatch(/^Wall time: \d+(\.\d+)? ms\n$/);

    const lineTimed = await h.client.execute("%time print one\nprint two");
    const lineTexts = lineTimed.iopub.filter((m) => m.header.msg_type === "stream").map((m) => m.content.text);
    expect(lineTexts).toEqual(["one\n", expect.stringMatching(/^Wall time: /), "two\n"]);

    const clad = await h.client.execute("%%clad mylib\ndouble f(double x) { return x; }");
    expect(clad.reply.content.status).toBe("ok");
    expect(h.executor.executed.at(-1)?.code).toBe("%%clad mylib\ndouble f(double x) { return x; }");

    const executedBefore = h.executor.executed.length;
    const unknown = await h.client.execute("%%python\nprint(1)");
    expect(unknown.reply.content).toMatchObject({ status: "error", ename: "UnknownMagic" });
    expect(unknown.reply.content.evalue).toContain("%%python");
    expect(unknown.reply.content.evalue).toContain("%%clad");
    expect(kinds(unknown.iopub)).toContain("error");
    expect(h.executor.executed.length).toBe(executedBefore); // nothing ran
    const unknownLine = await h.client.execute("%matplotlib inline");
    expect(unknownLine.reply.content).toMatchObject({ status: "error", ename: "UnknownMagic" });
  });

  test("is_complete", async () => {
    const cases: [string, string, string?][] = [
      ["int x = 1;", "complete"],
      ["void f() {", "incomplete", "    "],
      ['printf("a', "incomplete"],
      ["#define M(x) \\", "incomplete"],
      ["int y = 2; }", "invalid"],
      ["%%clad", "incomplete"],
      ["%%nope\nx", "invalid"],
    ];
    for (const [code, status, indent] of cases) {
      const { reply, iopub } = await h.client.roundTrip("shell", "is_complete_request", { code });
      expect(reply.header.msg_type).toBe("is_complete_reply");
      expect(reply.content.status).toBe(status);
      if (indent !== undefined) expect(reply.content.indent).toBe(indent);
      expect(kinds(iopub)).toEqual(["status:busy", "status:idle"]);
    }
  });

  test("complete and inspect", async () => {
    const { reply } = await h.client.roundTrip("shell", "complete_request", { code: "x = gR", cursor_pos: 6 });
    expect(reply.content).toEqual({
      status: "ok",
      matches: ["gROOT", "gRandom"],
      cursor_start: 4,
      cursor_end: 6,
      metadata: {},
    });
    const inspect = await h.client.roundTrip("shell", "inspect_request", {
      code: "TTree",
      cursor_pos: 5,
      detail_level: 0,
    });
    expect(inspect.reply.content).toMatchObject({
      status: "ok",
      found: true,
      data: { "text/plain": "TTree: a ROOT name" },
    });
  });

  test("history", async () => {
    const marker = "print history-marker";
    const { reply: er } = await h.client.execute(marker);
    const { reply } = await h.client.roundTrip("shell", "history_request", {
      output: false,
      raw: true,
      hist_access_type: "tail",
      n: 3,
    });
    const rows = reply.content.history as [number, number, string][];
    expect(rows.length).toBe(3);
    expect(rows.at(-1)).toEqual([1, er.content.execution_count, marker]);
    const search = await h.client.roundTrip("shell", "history_request", {
      output: false,
      raw: true,
      hist_access_type: "search",
      pattern: "*history-marker*",
    });
    expect((search.reply.content.history as unknown[]).length).toBe(1);
  });

  test("comm_info, comm_open (no targets: closed), connect", async () => {
    const { reply } = await h.client.roundTrip("shell", "comm_info_request", {});
    expect(reply.content).toEqual({ status: "ok", comms: {} });
    const open = await h.client.request("shell", "comm_open", {
      comm_id: "c1",
      target_name: "jupyter.widget",
      data: {},
    });
    const iopub = await h.client.idle(open);
    expect(kinds(iopub)).toEqual(["status:busy", "comm_close", "status:idle"]);
    expect(iopub[1].content).toEqual({ comm_id: "c1", data: {} });
    const connect = await h.client.roundTrip("shell", "connect_request", {});
    expect(connect.reply.content.shell_port).toBe(h.kernel.sockets.ports.shell);
  });

  test("a bad signature is logged and dropped, and the next good message is answered", async () => {
    const m = h.client.message("kernel_info_request", {});
    const frames = encode(h.client.signer, m);
    const at = frames.findIndex((f) => f.equals(DELIMITER));
    frames[at + 1] = Buffer.from("0".repeat(64));
    await h.client.sendFrames("shell", frames);
    // Tampered content with the old signature.
    const m2 = h.client.message("execute_request", { code: "print evil", silent: false });
    const frames2 = encode(h.client.signer, m2);
    frames2[frames2.length - 1] = Buffer.from(JSON.stringify({ code: "print tampered", silent: false }));
    await h.client.sendFrames("shell", frames2);
    const { reply } = await h.client.roundTrip("shell", "kernel_info_request", {});
    expect(reply.content.status).toBe("ok");
    expect(h.client.repliesTo("shell", m.header)).toEqual([]);
    expect(h.client.repliesTo("shell", m2.header)).toEqual([]);
    expect(h.client.iopubFor(m.header)).toEqual([]);
    expect(h.executor.executed.some((r) => r.code.includes("tampered") || r.code.includes("evil"))).toBe(false);
    expect(h.log.text()).toMatch(/dropped a message \(bad-signature\)/);
  });

  test("malformed frames and JSON are logged and dropped", async () => {
    const before = h.log.lines.length;
    // No delimiter.
    await h.client.sendFrames("shell", [Buffer.from("garbage")]);
    // Too few frames.
    await h.client.sendFrames("shell", [DELIMITER, Buffer.from("sig")]);
    // Correctly signed, but the header is not JSON.
    const parts = [Buffer.from("{not json"), Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{}")];
    await h.client.sendFrames("shell", [DELIMITER, Buffer.from(h.client.signer.sign(parts)), ...parts]);
    // Signed JSON, but a header without msg_type.
    const noType = [Buffer.from('{"msg_id": "x"}'), Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{}")];
    await h.client.sendFrames("shell", [DELIMITER, Buffer.from(h.client.signer.sign(noType)), ...noType]);
    const { reply } = await h.client.roundTrip("shell", "kernel_info_request", {});
    expect(reply.content.status).toBe("ok");
    const logged = h.log.lines
      .slice(before)
      .map((l) => l.msg)
      .join("\n");
    expect(logged).toMatch(/no-delimiter/);
    expect(logged).toMatch(/too-few-frames/);
    expect(logged).toMatch(/bad-json/);
    expect(logged).toMatch(/bad-header/);
  });

  test("an unknown msg_type: busy/idle, no reply, logged; the kernel goes on", async () => {
    const header = await h.client.request("shell", "frobnicate_request", {});
    const iopub = await h.client.idle(header);
    expect(kinds(iopub)).toEqual(["status:busy", "status:idle"]);
    const { reply } = await h.client.roundTrip("shell", "kernel_info_request", {});
    expect(reply.content.status).toBe("ok");
    expect(h.client.repliesTo("shell", header)).toEqual([]);
    expect(h.log.text()).toMatch(/unknown msg_type "frobnicate_request"/);
  });

  test("interrupt on control stops a running cell", async () => {
    const exec = await h.client.request("shell", "execute_request", { code: "print start\nsleep 10000\nprint never" });
    await h.client.waitFor(() => h.client.iopubFor(exec).find((m) => m.header.msg_type === "stream"));
    const t0 = Date.now();
    const { reply } = await h.client.roundTrip("control", "interrupt_request", {});
    expect(reply.header.msg_type).toBe("interrupt_reply");
    expect(reply.content).toEqual({ status: "ok" });
    const er = await h.client.reply("shell", exec);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(er.content).toMatchObject({ status: "error", ename: "Interrupted" });
    expect(h.executor.interrupts).toBeGreaterThan(0);
    expect((await h.client.execute("print after interrupt")).reply.content.status).toBe("ok");
  });

  test("interrupt_request on shell is not handled there", async () => {
    const before = h.executor.interrupts;
    const header = await h.client.request("shell", "interrupt_request", {});
    await h.client.idle(header);
    expect(h.client.repliesTo("shell", header)).toEqual([]);
    expect(h.executor.interrupts).toBe(before);
  });

  test("stdin messages are ignored", async () => {
    const m = h.client.message("input_reply", { value: "x" });
    await h.client.sendFrames("stdin", encode(h.client.signer, m));
    expect((await h.client.roundTrip("shell", "kernel_info_request", {})).reply.content.status).toBe("ok");
  });
});

describe("shutdown", () => {
  test("shutdown_request: reply, iopub broadcast, executor shut down, sockets closed", async () => {
    const h = await startKernel();
    const { reply, iopub } = await h.client.roundTrip("control", "shutdown_request", { restart: false });
    expect(reply.content).toEqual({ status: "ok", restart: false });
    expect(kinds(iopub)).toEqual(["status:busy", "shutdown_reply", "status:idle"]);
    await expect(h.kernel.stopped).resolves.toEqual({ restart: false, reason: "shutdown_request" });
    expect(h.executor.shutdowns).toEqual([false]);
    expect(h.kernel.sockets.shell.closed).toBe(true);
    h.client.close();
  });

  test("shutdown_request with restart, during a running cell", async () => {
    const h = await startKernel();
    const exec = await h.client.request("shell", "execute_request", { code: "sleep 10000" });
    await h.client.waitFor(() => h.client.iopubFor(exec).find((m) => m.header.msg_type === "execute_input"));
    const { reply } = await h.client.roundTrip("control", "shutdown_request", { restart: true });
    expect(reply.content).toEqual({ status: "ok", restart: true });
    await expect(h.kernel.stopped).resolves.toMatchObject({ restart: true });
    expect(h.executor.shutdowns).toEqual([true]);
    h.client.close();
  });

  test("an unsigned kernel (empty key) works too", async () => {
    const h = await startKernel("");
    const { reply } = await h.client.roundTrip("shell", "kernel_info_request", {});
    expect(reply.content.status).toBe("ok");
    expect(h.log.text()).toMatch(/not signed/);
    await stopKernel(h);
  });
});

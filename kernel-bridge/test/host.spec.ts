// End to end: the kernel as Jupyter starts it (node dist/main.js -f
// CONNECTION_FILE, a child process), driving the real C++ kernel host.
// Fails with a message when the host binary is not built.
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

import { TRAINING_MIME, TrainingComparison } from "../src/telemetry";
import { Message } from "../src/wire";
import { kinds, TestClient } from "./client";
import { writeIdx } from "./idx-dataset";
import { alive, KernelProcess } from "./kernel-process";

function streamText(ms: { header: { msg_type: string }; content: Record<string, unknown> }[], name = "stdout"): string {
  return ms
    .filter((m) => m.header.msg_type === "stream" && m.content.name === name)
    .map((m) => m.content.text as string)
    .join("");
}

describe("the kernel with the real host (child process, as Jupyter starts it)", () => {
  let k: KernelProcess;
  let client: TestClient;

  beforeAll(async () => {
    k = await KernelProcess.start({ hostArgs: ["--interrupt-grace", "0.5"] });
    client = k.client;
  }, 30000);

  afterAll(async () => {
    await k?.dispose();
  });

  test("kernel_info names ROOT, Clad and LibTorch", async () => {
    const { reply } = await client.roundTrip("shell", "kernel_info_request", {});
    expect(reply.content.implementation).toBe("torchclad");
    expect(reply.content.banner).toMatch(/ROOT 6\.\d+/);
    expect(reply.content.banner).toMatch(/Clad \d/);
    expect(reply.content.banner).toMatch(/LibTorch \d/);
    expect(reply.content.language_info).toMatchObject({ name: "C++", version: "17" });
  });

  test("a cell: stream output and the value of its last expression", async () => {
    const { reply, iopub } = await client.execute('printf("hi\\n");\nint five = 5;\nfive');
    expect(reply.content.status).toBe("ok");
    expect(kinds(iopub)[0]).toBe("status:busy");
    expect(kinds(iopub).at(-1)).toBe("status:idle");
    expect(streamText(iopub)).toBe("hi\n");
    const results = iopub.filter((m) => m.header.msg_type === "execute_result");
    expect(results.map((m) => m.content)).toEqual([
      { execution_count: reply.content.execution_count, data: { "text/plain": "(int) 5" }, metadata: {} },
    ]);
    expect(kinds(iopub).slice(-2)).toEqual(["execute_result", "status:idle"]);
  });

  test("a cell ending with ';' shows no value", async () => {
    const { iopub } = await client.execute("int six = 6;\nsix;");
    expect(kinds(iopub)).not.toContain("execute_result");
    expect(streamText(iopub)).toBe("");
  });

  test("a canvas drawn in a cell is displayed below it: JSROOT's JSON and a PNG", async () => {
    const { reply, iopub } = await client.execute(
      'TH1F bridge_h("bridge_h", "from the bridge", 20, -3, 3);\nbridge_h.FillRandom("gaus", 500);\nbridge_h.Draw();',
    );
    expect(reply.content.status).toBe("ok");
    const shown = iopub.filter((m) => m.header.msg_type === "display_data");
    expect(shown).toHaveLength(1);
    const data = shown[0].content.data as Record<string, any>;
    expect(data["application/vnd.torchclad.root+json"]._typename).toBe("TCanvas");
    expect(Buffer.from(data["image/png"], "base64").subarray(0, 4).toString("latin1")).toBe("\x89PNG");
    expect((shown[0].content.metadata as any)["image/png"]).toEqual({ width: 700, height: 500 });
  });

  test("inspect: a ROOT class with its reference page, from the host", async () => {
    const { reply } = await client.roundTrip("shell", "inspect_request", {
      code: "TGraph g;",
      cursor_pos: 3,
      detail_level: 0,
    });
    expect(reply.content.status).toBe("ok");
    expect(reply.content.found).toBe(true);
    const text = (reply.content.data as Record<string, string>)["text/plain"];
    expect(text).toContain("class TGraph");
    expect(text).toContain("https://root.cern/doc/master/classTGraph.html");
  });

  test("a compile error: error reply and output, the diagnostic on stderr", async () => {
    const { reply, iopub } = await client.execute("int broken = ;");
    expect(reply.content).toMatchObject({ status: "error", ename: "CompileError", evalue: "expected expression" });
    expect(kinds(iopub)).toContain("error");
    expect(streamText(iopub, "stderr")).toContain("error: expected expression");
  });

  test("completion comes from the host", async () => {
    const { reply } = await client.roundTrip("shell", "complete_request", { code: "gSys", cursor_pos: 4 });
    expect(reply.content.matches).toContain("gSystem");
    expect(reply.content).toMatchObject({ cursor_start: 0, cursor_end: 4 });
  });

  test("telemetry: the runs of one cell share one live display (a comparison), updated in place", async () => {
    const code = [
      '#include "torchclad/telemetry.h"',
      "{",
      "  namespace tm = torchclad::telemetry;",
      "  for (int run = 1; run <= 2; ++run) {",
      '    tm::Event e; e.run_id = "test-run-" + std::to_string(run); e.engine = run == 1 ? "clad" : "autograd"; e.model = "mlp";',
      '    e.epochs = 1; e.total_steps = 10; e.kind = "start"; tm::emit(e);',
      '    for (int i = 1; i <= 10; ++i) { e.kind = "step"; e.epoch = 1; e.step = i; e.loss = 1.0 / i; tm::emit(e); }',
      '    e.kind = "epoch"; e.test_accuracy = 0.9; e.test_loss = 0.2; e.samples_per_second = 1000 * run;',
      "    if (run == 2) e.test_auc = 0.875;  // run 1: not measured (-1)",
      "    tm::emit(e);",
      '    e.kind = "end"; e.status = "finished"; tm::emit(e);',
      "  }",
      "}",
    ].join("\n");
    const { reply, iopub } = await client.execute(code);
    expect(reply.content.status).toBe("ok");
    const displayId = (m: Message) => (m.content.transient as { display_id: string }).display_id;
    const displays = iopub.filter((m) => m.header.msg_type === "display_data");
    expect(displays.map(displayId)).toEqual(["torchclad-training-test-run-1"]);
    const data = displays[0].content.data as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual([TRAINING_MIME, "text/plain"].sort());
    expect(data[TRAINING_MIME]).toMatchObject({ version: 1, run_id: "test-run-1" }); // one run so far: a TrainingState
    const updates = iopub.filter((m) => m.header.msg_type === "update_display_data");
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.every((m) => displayId(m) === "torchclad-training-test-run-1")).toBe(true);
    const last = updates.at(-1)!.content.data as Record<string, unknown>;
    const final = last[TRAINING_MIME] as TrainingComparison;
    expect(final.version).toBe(1);
    expect(final.comparison).toEqual({ baseline: "test-run-1", title: "clad vs autograd" });
    expect(final.runs.map((r) => r.run_id)).toEqual(["test-run-1", "test-run-2"]);
    for (const r of final.runs) {
      expect(r).toMatchObject({ version: 1, status: "finished", step: 10, epochs: 1 });
      expect(r.steps.step).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(r.steps.loss[3]).toBeCloseTo(0.25);
    }
    expect(final.runs[0].epoch_metrics).toEqual([
      { epoch: 1, step: 10, loss: 0.1, test_loss: 0.2, test_accuracy: 0.9, test_auc: null, samples_per_second: 1000 },
    ]);
    expect(final.runs[1].epoch_metrics).toEqual([
      { epoch: 1, step: 10, loss: 0.1, test_loss: 0.2, test_accuracy: 0.9, test_auc: 0.875, samples_per_second: 2000 },
    ]);
    const text = last["text/plain"] as string;
    expect(text).toMatch(/^training test-run-1 \(clad, mlp\): finished, .*test accuracy 90\.00%/);
    expect(text).toContain("\ntraining test-run-2 (autograd, mlp): finished");
    expect(text).toContain("test AUC 0.8750");
    expect(text).toContain("samples/s relative to clad: autograd 2.00x (first epoch of every run, warm-up included");
    // Every display message comes before the reply's idle status.
    expect(kinds(iopub).at(-1)).toBe("status:idle");

    // The next cell's run gets a display of its own.
    const next = await client.execute(
      [
        '#include "torchclad/telemetry.h"',
        "{",
        "  namespace tm = torchclad::telemetry;",
        '  tm::Event e; e.run_id = "test-run-3"; e.engine = "clad"; e.kind = "start"; tm::emit(e);',
        '  e.kind = "end"; e.status = "finished"; tm::emit(e);',
        "}",
      ].join("\n"),
    );
    expect(next.iopub.filter((m) => m.header.msg_type === "display_data").map(displayId)).toEqual([
      "torchclad-training-test-run-3",
    ]);
  });

  test("a training run on a thread a cell detached: its display is under that cell (parent_header), although it trains while the next cell runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "torchclad-detached-"));
    writeIdx(dir);
    try {
      const decl = await client.execute(
        '#include "torchclad/torchclad.h"\n#include <atomic>\n#include <thread>\n' +
          "std::atomic<bool> detached_go{false};\nstd::atomic<int> detached_done{0};\n" +
          "torchclad::Mlp detached_model({36, 16, 3});\n" +
          `auto detached_train = torchclad::Dataset::from_idx("${dir}", "train");\n` +
          `auto detached_test = torchclad::Dataset::from_idx("${dir}", "test");`,
      );
      expect(decl.reply.content.status).toBe("ok");
      // Cell A starts the run on a thread it detaches and returns; the thread
      // trains only once cell B runs, so all its events come during B.
      const a = await client.execute(
        "std::thread([] {\n" +
          "  while (!detached_go) std::this_thread::sleep_for(std::chrono::milliseconds(1));\n" +
          "  torchclad::TrainOptions o; o.epochs = 3; o.batch = 16; o.progress = false;\n" +
          "  detached_model.fit(detached_train, detached_test, o);\n" +
          "  detached_done = 1;\n" +
          "}).detach();",
      );
      expect(a.reply.content.status).toBe("ok");
      const b = await client.execute(
        "detached_go = true;\n" +
          "while (!detached_done) std::this_thread::sleep_for(std::chrono::milliseconds(2));\n" +
          'printf("B ran\\n");',
      );
      expect(b.reply.content.status).toBe("ok");
      expect(streamText(b.iopub)).toBe("B ran\n");
      const training = (m: Message) =>
        ["display_data", "update_display_data"].includes(m.header.msg_type) &&
        TRAINING_MIME in (m.content.data as Record<string, unknown>);
      expect(client.iopubFor(b.header).filter(training)).toEqual([]);
      // The run's last update may follow B's idle status.
      const status = () => {
        const last = client.iopubFor(a.header).filter(training).at(-1);
        return (last?.content.data as Record<string, { status?: string }> | undefined)?.[TRAINING_MIME]?.status;
      };
      await client.waitFor(() => (status() === "finished" ? true : undefined), 10000, "the run's final update");
      const shown = client.iopubFor(a.header).filter(training);
      expect(shown[0].header.msg_type).toBe("display_data");
      expect((shown[0].parent_header as { msg_id: string }).msg_id).toBe(a.header.msg_id);
      const ids = new Set(shown.map((m) => (m.content.transient as { display_id: string }).display_id));
      expect(ids.size).toBe(1);
      expect([...ids][0]).toMatch(/^torchclad-training-run-/);
      // no other training display anywhere for that run
      const elsewhere = client.iopubMessages.filter(
        (m) => training(m) && ids.has((m.content.transient as { display_id: string }).display_id),
      );
      expect(elsewhere).toHaveLength(shown.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);

  test("torchclad::show: an image file becomes display_data (image/png, base64), in code order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "torchclad-show-"));
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(300, 7)]);
    writeFileSync(join(dir, "plot.png"), png);
    try {
      const { reply, iopub } = await client.execute(
        `#include "torchclad/torchclad.h"\nprintf("before\\n");\ntorchclad::show("${dir}/plot.png");\nprintf("after\\n");`,
      );
      expect(reply.content.status).toBe("ok");
      const displays = iopub.filter((m) => m.header.msg_type === "display_data");
      expect(displays).toHaveLength(1);
      const data = displays[0].content.data as Record<string, string>;
      expect(Buffer.from(data["image/png"], "base64").equals(png)).toBe(true);
      expect(data["text/plain"]).toContain("image/png");
      expect(streamText(iopub)).toBe("before\nafter\n");
      // iopub follows the code, as ipykernel's does: the text printed before the image comes above it
      const outputs = iopub
        .filter((m) => m.header.msg_type === "stream" || m.header.msg_type === "display_data")
        .map((m) => (m.header.msg_type === "stream" ? (m.content.text as string) : "<display>"));
      expect(outputs).toEqual(["before\n", "<display>", "after\n"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("interrupt_request on control stops a busy loop", async () => {
    const exec = await client.request("shell", "execute_request", { code: "while (true) {}", silent: false });
    await client.waitFor(() => client.iopubFor(exec).find((m) => m.header.msg_type === "execute_input"));
    await client.sleep(300);
    const t0 = Date.now();
    const { reply } = await client.roundTrip("control", "interrupt_request", {});
    expect(reply.content.status).toBe("ok");
    const er = await client.reply("shell", exec, 10000);
    expect(er.content).toMatchObject({ status: "error", ename: "Interrupted" });
    expect(Date.now() - t0).toBeLessThan(5000);
    // The session survives a forced interrupt.
    const { reply: after, iopub } = await client.execute('printf("%d\\n", five);');
    expect(after.content).toMatchObject({ status: "ok" });
    expect(streamText(iopub)).toBe("5\n");
  });

  test("stop_on_error, the bridge's alone: a failed or interrupted cell aborts the cells queued behind it; stop_on_error false does not", async () => {
    const failing =
      '#include <stdexcept>\n#include <unistd.h>\nusleep(300000);\nthrow std::runtime_error("queued failure");';
    const fail = await client.request("shell", "execute_request", { code: failing, silent: false });
    const skipped = await client.request("shell", "execute_request", { code: 'printf("never\\n");', silent: false });
    expect((await client.reply("shell", fail, 20000)).content).toMatchObject({
      status: "error",
      ename: "std::runtime_error",
      evalue: "queued failure",
    });
    expect((await client.reply("shell", skipped)).content).toEqual({ status: "aborted" });
    expect(kinds(await client.idle(skipped))).toEqual(["status:busy", "status:idle"]);

    const kept = await client.request("shell", "execute_request", {
      code: failing,
      silent: false,
      stop_on_error: false,
    });
    const runs = await client.request("shell", "execute_request", { code: 'printf("runs\\n");', silent: false });
    expect((await client.reply("shell", kept, 20000)).content.status).toBe("error");
    expect((await client.reply("shell", runs)).content.status).toBe("ok");
    expect(streamText(await client.idle(runs))).toBe("runs\n");

    const loop = await client.request("shell", "execute_request", { code: "while (true) {}", silent: false });
    const behind = await client.request("shell", "execute_request", { code: 'printf("never\\n");', silent: false });
    await client.waitFor(() => client.iopubFor(loop).find((m) => m.header.msg_type === "execute_input"));
    await client.sleep(300);
    await client.roundTrip("control", "interrupt_request", {});
    expect((await client.reply("shell", loop, 10000)).content).toMatchObject({ status: "error", ename: "Interrupted" });
    expect((await client.reply("shell", behind)).content).toEqual({ status: "aborted" });
    expect(streamText(await client.idle(behind))).toBe("");
    // The queue is clear again and the session lives.
    const { reply, iopub } = await client.execute('printf("%d\\n", five);');
    expect(reply.content.status).toBe("ok");
    expect(streamText(iopub)).toBe("5\n");
  }, 60000);

  test("a crash in cell code: an error reply, and the session goes on", async () => {
    const { reply } = await client.execute("int* p = nullptr; *p = 1;");
    expect(reply.content).toMatchObject({ status: "error", ename: "SIGSEGV" });
    const { iopub } = await client.execute('printf("%d\\n", five);');
    expect(streamText(iopub)).toBe("5\n");
  }, 30000);

  test("a crash the host cannot recover from: error reply that says the state was lost, a new host, the kernel goes on", async () => {
    // A crash on another thread than the cell's: the host cannot jump out of it.
    const { reply, iopub } = await client.execute(
      'printf("about to crash\\n");\n#include <thread>\nstd::thread([] { *(volatile int*)nullptr = 1; }).join();',
    );
    expect(reply.content).toMatchObject({ status: "error", ename: "HostCrashed" });
    expect(reply.content.evalue).toMatch(/SIGSEGV/);
    expect(reply.content.evalue).toMatch(/state .* was lost/);
    expect(streamText(iopub)).toBe("about to crash\n");
    // A new host: works, and `five` is gone.
    const again = await client.execute('printf("new host\\n");');
    expect(again.reply.content.status).toBe("ok");
    expect(streamText(again.iopub)).toBe("new host\n");
    const lost = await client.execute("five");
    expect(lost.reply.content.status).toBe("error");
    expect(lost.reply.content.evalue).toMatch(/undeclared identifier 'five'/);
    expect(k.stderr).toMatch(/crashed/);
  }, 30000);

  test("shutdown_request: the reply, then the kernel and its host exit", async () => {
    const pids = k.hostPids();
    expect(pids.length).toBe(2); // the first host and the one after the crash
    const { reply } = await client.roundTrip("control", "shutdown_request", { restart: false });
    expect(reply.content).toEqual({ status: "ok", restart: false });
    expect(await k.exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  }, 20000);
});

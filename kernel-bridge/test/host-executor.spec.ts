// The HostExecutor in-process with the real C++ host: the paths where the
// host dies or cannot stop, and the telemetry of a real training run.
// Fails with a message when the host binary is not built.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

import { DisplayOptions, ExecuteOutcome, ExecuteRequest, ExecutionSink, MimeBundle } from "../src/executor";
import { HostExecutor } from "../src/host";
import { MemoryLogger } from "../src/logger";
import { TRAINING_MIME, TrainingState } from "../src/telemetry";
import { writeIdx } from "./idx-dataset";
import { HOST, requireHost } from "./kernel-process";

interface Recorded {
  streams: { name: string; text: string }[];
  displays: { kind: "display" | "update"; id?: string; data: MimeBundle }[];
  sink: ExecutionSink;
}

function recorder(): Recorded {
  const r: Recorded = {
    streams: [],
    displays: [],
    sink: {
      stream: (name, text) => r.streams.push({ name, text }),
      display: (data: MimeBundle, o?: DisplayOptions) => r.displays.push({ kind: "display", id: o?.displayId, data }),
      updateDisplay: (data: MimeBundle, o: DisplayOptions) =>
        r.displays.push({ kind: "update", id: o.displayId, data }),
      result: () => {},
    },
  };
  return r;
}

const req = (code: string): ExecuteRequest => ({
  code,
  silent: false,
  storeHistory: true,
  executionCount: 1,
});
const text = (r: Recorded, name = "stdout") =>
  r.streams
    .filter((s) => s.name === name)
    .map((s) => s.text)
    .join("");

describe("HostExecutor with the real host", () => {
  const log = new MemoryLogger();
  let ex: HostExecutor;
  let dir: string;

  beforeAll(async () => {
    requireHost();
    dir = mkdtempSync(join(tmpdir(), "torchclad-host-exec-"));
    writeIdx(dir);
    // libc as a no-jump library: a sleeping cell cannot be forced out (PROTOCOL.md, Interrupts).
    ex = new HostExecutor({
      hostPath: HOST,
      args: ["--interrupt-grace", "0.3", "--no-jump-library", "libc.so"],
      logger: log,
      telemetryIntervalMs: 100,
    });
    await ex.start();
  }, 30000);

  afterAll(async () => {
    await ex?.shutdown(false);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a training run from a cell: one display, live updates, the final state", async () => {
    const r = recorder();
    const outcome = await ex.execute(
      req(
        '#include "torchclad/torchclad.h"\n' +
          `auto train_set = torchclad::Dataset::from_idx("${dir}", "train");\n` +
          `auto test_set = torchclad::Dataset::from_idx("${dir}", "test");\n` +
          "torchclad::Mlp model({36, 16, 3});\n" +
          "torchclad::TrainOptions options; options.epochs = 3; options.batch = 16; options.progress = false; options.lr = 1e-2;\n" +
          "auto result = model.fit(train_set, test_set, options);\n" +
          'printf("%s\\n", result.status.c_str());',
      ),
      r.sink,
    );
    expect(outcome).toEqual({ status: "ok" });
    expect(text(r)).toBe("finished\n");
    const creates = r.displays.filter((d) => d.kind === "display");
    expect(creates.length).toBe(1);
    const id = creates[0].id!;
    expect(id).toMatch(/^torchclad-training-/);
    expect(r.displays.every((d) => d.id === id)).toBe(true);
    const final = r.displays.at(-1)!.data[TRAINING_MIME] as TrainingState;
    expect(final.status).toBe("finished");
    expect(final.engine).toBe("clad");
    expect(final.epoch_metrics.length).toBe(3);
    expect(final.epoch_metrics[2].test_accuracy).toBeGreaterThan(0.9);
    expect(final.step).toBe(final.total_steps);
    expect(r.displays.at(-1)!.data["text/plain"]).toMatch(/finished, epoch 3\/3/);
  }, 30000);

  test("a cell that cannot be interrupted: told after the first interrupt, restarted after the second", async () => {
    const r = recorder();
    const pid = ex.hostPid;
    const running: Promise<ExecuteOutcome> = ex.execute(
      req("#include <thread>\nint before = 1;\nstd::this_thread::sleep_for(std::chrono::seconds(60));"),
      r.sink,
    );
    await new Promise((res) => setTimeout(res, 300));
    await ex.interrupt();
    const deadline = Date.now() + 8000;
    while (!text(r, "stderr").includes("does not stop") && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 50));
    expect(text(r, "stderr")).toMatch(/the cell does not stop .*Interrupt again/);
    await ex.interrupt();
    const outcome = await running;
    expect(outcome).toMatchObject({ status: "error", ename: "HostRestarted" });
    if (outcome.status === "error") expect(outcome.evalue).toMatch(/could not be interrupted.*state .* was lost/s);
    const after = recorder();
    expect(await ex.execute(req('printf("fresh\\n");'), after.sink)).toEqual({ status: "ok" });
    expect(text(after)).toBe("fresh\n");
    expect(ex.hostPid).not.toBe(pid);
  }, 20000);

  test("a crash between cells: the next cell is told, and runs on a new host", async () => {
    const r = recorder();
    const pid = ex.hostPid;
    const restarts = ex.restartCount;
    const outcome = await ex.execute(
      req(
        "#include <thread>\n#include <unistd.h>\nstd::thread([] { usleep(200000); *(volatile int*)nullptr = 1; }).detach();",
      ),
      r.sink,
    );
    expect(outcome).toEqual({ status: "ok" });
    const deadline = Date.now() + 10000;
    while ((ex.restartCount === restarts || ex.hostPid === pid) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 50));
    }
    const next = recorder();
    expect(await ex.execute(req('printf("still here\\n");'), next.sink)).toEqual({ status: "ok" });
    expect(text(next, "stderr")).toMatch(/between cells, the kernel host crashed: SIGSEGV.*state .* was lost/s);
    expect(text(next)).toBe("still here\n");
    expect(ex.hostPid).not.toBe(pid);
  }, 20000);

  test("a broken frame on the host's channel: the host is killed, the cell told why, a new host runs", async () => {
    const pid = ex.hostPid;
    // A frame of 5 bytes that are not JSON, written by the cell to the channel (fd 3).
    const outcome = await ex.execute(req('#include <unistd.h>\nwrite(3, "\\0\\0\\0\\5hello", 9);'), recorder().sink);
    expect(outcome).toMatchObject({ status: "error", ename: "HostRestarted" });
    if (outcome.status === "error") {
      expect(outcome.evalue).toMatch(
        /^the kernel host's channel broke \(a frame from the host is not JSON: .*\), so the host was killed/,
      );
      expect(outcome.evalue).toMatch(/state .* was lost/);
    }
    const r = recorder();
    expect(await ex.execute(req('printf("fresh\\n");'), r.sink)).toEqual({ status: "ok" });
    expect(text(r)).toBe("fresh\n");
    expect(ex.hostPid).not.toBe(pid);
  }, 20000);

  test("completion and an exit() from a cell", async () => {
    expect((await ex.complete("gSys", 4)).matches).toContain("gSystem");
    const outcome = await ex.execute(req("exit(3);"), recorder().sink);
    expect(outcome).toMatchObject({ status: "error", ename: "HostExited" });
    if (outcome.status === "error") expect(outcome.evalue).toMatch(/exit\(3\)/);
    const r = recorder();
    expect(await ex.execute(req('printf("ok\\n");'), r.sink)).toEqual({ status: "ok" });
  }, 20000);
});

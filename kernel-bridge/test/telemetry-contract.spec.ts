// The training display's contract, end to end: real training runs in the
// real C++ host, through the bridge's HostExecutor and TelemetryDisplays;
// every display_data and update_display_data it emits must pass the
// renderer's validator (training-schema.ts's validate, which the lab
// extension re-exports: lab-extension/src/__tests__/schema.spec.ts checks it
// is the same function) and come out of it unchanged (no field the bridge
// writes is unknown to the renderer, none it needs is missing).
// Also: a run on a background thread that a cell started and detached opens
// its display under that cell, although every event of it comes while the
// next cell runs.
// Fails with a message when the host binary is not built.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

import { DisplayOptions, ExecuteRequest, ExecutionSink, MimeBundle } from "../src/executor";
import { HostExecutor } from "../src/host";
import { MemoryLogger } from "../src/logger";
import { MAX_STEP_POINTS, TRAINING_MIME, TrainingState, validate } from "../src/training-schema";
import { writeIdx } from "./idx-dataset";
import { HOST, requireHost } from "./kernel-process";

interface Output {
  kind: "display" | "update";
  /** Date.now() when the bridge sent it. */
  at: number;
  id?: string;
  data: MimeBundle;
}

function recorder(): { outputs: Output[]; stdout: string[]; sink: ExecutionSink } {
  const outputs: Output[] = [];
  const stdout: string[] = [];
  const push = (kind: Output["kind"]) => (data: MimeBundle, o?: DisplayOptions) =>
    outputs.push({ kind, at: Date.now(), id: o?.displayId, data: JSON.parse(JSON.stringify(data)) }); // as sent, not the live state
  return {
    outputs,
    stdout,
    sink: {
      stream: (_name, text) => stdout.push(text),
      display: push("display"),
      updateDisplay: push("update"),
      result: () => {},
    },
  };
}

const req = (code: string): ExecuteRequest => ({
  code,
  silent: false,
  storeHistory: true,
  executionCount: 1,
});

/** Every training output validates, and validation changes nothing: returns the validated runs of each output. */
function expectValid(outputs: Output[]): TrainingState[][] {
  const training = outputs.filter((o) => TRAINING_MIME in o.data);
  expect(training.length).toBe(outputs.length);
  return training.map((o) => {
    const data = o.data[TRAINING_MIME] as { runs?: TrainingState[] };
    const v = validate(data);
    if (!v.ok) throw new Error(`an output the renderer rejects: ${v.errors.join("; ")}`);
    const sent: TrainingState[] = Array.isArray(data.runs) ? data.runs : [data as TrainingState];
    expect(v.display.runs).toEqual(sent);
    for (const r of v.display.runs) expect(r.steps.step.length).toBeLessThanOrEqual(MAX_STEP_POINTS);
    return v.display.runs;
  });
}

describe("the training display's contract, with the real host", () => {
  const log = new MemoryLogger();
  let ex: HostExecutor;
  let dir: string;

  beforeAll(async () => {
    requireHost();
    dir = mkdtempSync(join(tmpdir(), "torchclad-contract-"));
    writeIdx(dir);
    ex = new HostExecutor({ hostPath: HOST, logger: log, telemetryIntervalMs: 20 });
    await ex.start();
    const r = recorder();
    const setup = await ex.execute(
      req(
        '#include "torchclad/torchclad.h"\n#include <atomic>\n#include <thread>\n' +
          `auto train_set = torchclad::Dataset::from_idx("${dir}", "train");\n` +
          `auto test_set = torchclad::Dataset::from_idx("${dir}", "test");`,
      ),
      r.sink,
    );
    expect(setup).toEqual({ status: "ok" });
  }, 60000);

  afterAll(async () => {
    await ex?.shutdown(false);
    rmSync(dir, { recursive: true, force: true });
  });

  test("two runs of one cell (clad, then autograd): every display and update passes the renderer's validator unchanged", async () => {
    const r = recorder();
    const outcome = await ex.execute(
      req(
        "torchclad::TrainOptions o; o.epochs = 3; o.batch = 8; o.progress = false; o.lr = 1e-2;\n" +
          "torchclad::Mlp clad_model({36, 16, 3}); auto clad_result = clad_model.fit(train_set, test_set, o);\n" +
          'o.engine = "autograd"; torchclad::Mlp autograd_model({36, 16, 3}); auto autograd_result = autograd_model.fit(train_set, test_set, o);',
      ),
      r.sink,
    );
    expect(outcome).toEqual({ status: "ok" });
    expect(r.outputs[0].kind).toBe("display");
    expect(r.outputs.filter((o) => o.kind === "display")).toHaveLength(1);
    expect(r.outputs.length).toBeGreaterThan(3); // live updates, not only the final state
    const runs = expectValid(r.outputs);
    const last = runs.at(-1)!;
    expect(last.map((x) => [x.engine, x.status, x.epoch_metrics.length])).toEqual([
      ["clad", "finished", 3],
      ["autograd", "finished", 3],
    ]);
    for (const run of last) {
      expect(run.step).toBe(run.total_steps);
      expect(run.steps.step.at(-1)).toBe(run.total_steps);
      expect(run.epoch_metrics.every((e) => e.loss !== null && e.test_accuracy !== null)).toBe(true);
    }
    expect(r.outputs.at(-1)!.data[TRAINING_MIME]).toHaveProperty("comparison.title", "clad vs autograd");
  }, 120000);

  test("a run on a background thread that a cell detached, sending all its events while the next cell runs: its display is under the cell that started it", async () => {
    const decl = recorder();
    // declarations only: globals of the session (a cell with statements wraps its variables in a function)
    const declared = await ex.execute(
      req(
        "std::atomic<int> bg_state{0};\n" +
          "std::atomic<bool> bg_go{false};\n" +
          "torchclad::TrainOptions bg_o;\n" +
          "torchclad::Mlp bg_model({36, 16, 3});",
      ),
      decl.sink,
    );
    expect(declared).toEqual({ status: "ok" });
    const a = recorder();
    // Cell A starts the thread and returns at once: the thread waits for
    // cell B before it trains, so the run's first event (and every other)
    // is sent while B runs. The host tags them with A (the thread's origin).
    const started = await ex.execute(
      req(
        "bg_o.epochs = 8; bg_o.batch = 4; bg_o.progress = false; bg_o.lr = 1e-2;\n" +
          "std::thread([] {\n" +
          "  while (!bg_go) std::this_thread::sleep_for(std::chrono::milliseconds(1));\n" +
          "  bg_state = 1; bg_model.fit(train_set, test_set, bg_o); bg_state = 2;\n" +
          "}).detach();",
      ),
      a.sink,
    );
    expect(started).toEqual({ status: "ok" });
    expect(a.outputs).toEqual([]);
    const b = recorder();
    const bStart = Date.now();
    const waited = await ex.execute(
      req(
        "bg_go = true;\n" +
          "while (bg_state.load() != 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));\n" +
          'printf("cell B done\\n");',
      ),
      b.sink,
    );
    expect(waited).toEqual({ status: "ok" });
    const bEnd = Date.now();
    expect(b.stdout.join("")).toBe("cell B done\n");
    // the run may end just before cell B's reply: let its last update arrive
    const deadline = Date.now() + 5000;
    const finished = () => (a.outputs.at(-1)?.data[TRAINING_MIME] as TrainingState | undefined)?.status === "finished";
    while (!finished() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(b.outputs).toEqual([]); // nothing of the run under cell B
    expect(a.outputs[0].kind).toBe("display");
    expect(a.outputs[0].at).toBeGreaterThanOrEqual(bStart); // opened while B ran
    expect(new Set(a.outputs.map((o) => o.id)).size).toBe(1);
    const runs = expectValid(a.outputs);
    expect(runs.at(-1)!.map((x) => [x.status, x.epoch_metrics.length])).toEqual([["finished", 8]]);
    // the run really emitted while cell B ran: A's display got updates then
    expect(a.outputs.filter((o) => o.at >= bStart && o.at <= bEnd).length).toBeGreaterThan(2);
  }, 120000);
});

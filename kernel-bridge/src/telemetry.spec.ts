import { DisplayOptions, ExecutionSink, MimeBundle } from "./executor";
import {
  MAX_STEP_POINTS,
  TelemetryDisplays,
  TelemetryEvent,
  TRAINING_MIME,
  TrainingComparison,
  TrainingPayload,
  TrainingState,
} from "./telemetry";

interface Out {
  kind: "display" | "update";
  id: string;
  /** The payload when it is one run (else the comparison's first run). */
  state: TrainingState;
  payload: TrainingPayload;
  text: string;
}

function recorder() {
  const out: Out[] = [];
  const push = (kind: Out["kind"]) => (data: MimeBundle, o?: DisplayOptions) => {
    const payload = data[TRAINING_MIME] as TrainingPayload;
    const state = "runs" in payload ? payload.runs[0] : (payload as TrainingState);
    out.push({ kind, id: o?.displayId ?? "", state, payload, text: data["text/plain"] as string });
  };
  const sink: ExecutionSink = {
    stream: () => {},
    result: () => {},
    display: push("display"),
    updateDisplay: push("update"),
  };
  return { out, sink };
}

const base = {
  run_id: "r1",
  engine: "clad",
  model: "mlp-36-16-3",
  optimizer: "adam",
  batch: 32,
  threads: 1,
  epochs: 2,
  total_steps: 100,
};
const ev = (kind: string, more: Partial<TelemetryEvent> = {}): TelemetryEvent => ({ ...base, kind, ...more });

describe("telemetry displays", () => {
  let now = 0;
  const clock = () => new Date(Date.UTC(2024, 0, 1) + now);

  beforeEach(() => {
    now = 0;
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  test("one display per run, updates throttled, epoch and end flush at once", () => {
    const { out, sink } = recorder();
    const t = new TelemetryDisplays(200, clock);
    t.onEvent(ev("start"), sink);
    expect(out.map((o) => o.kind)).toEqual(["display"]);
    expect(out[0].id).toBe("torchclad-training-r1");
    expect(out[0].state).toMatchObject({ version: 1, status: "running", engine: "clad", total_steps: 100 });
    for (let s = 1; s <= 5; s++) {
      now += 10;
      t.onEvent(ev("step", { epoch: 1, step: s, loss: 1 / s }), sink);
    }
    expect(out.length).toBe(1); // within 200 ms: pending
    jest.advanceTimersByTime(200);
    expect(out.length).toBe(2);
    expect(out[1].state.steps.step).toEqual([1, 2, 3, 4, 5]);
    now += 10;
    t.onEvent(
      ev("epoch", { epoch: 1, step: 50, loss: 0.3, test_loss: 0.4, test_accuracy: 0.85, samples_per_second: 12345.6 }),
      sink,
    );
    expect(out.length).toBe(3); // at once
    expect(out[2].state.epoch_metrics).toEqual([
      {
        epoch: 1,
        step: 50,
        loss: 0.3,
        test_loss: 0.4,
        test_accuracy: 0.85,
        test_auc: null,
        samples_per_second: 12345.6,
      },
    ]);
    expect(out[2].text).toContain("test accuracy 85.00%");
    expect(out[2].text).not.toContain("AUC");
    expect(out[2].text).toContain("12,346 samples/s");
    t.onEvent(ev("end", { status: "stopped", message: "interrupted" }), sink);
    expect(out.at(-1)).toMatchObject({ kind: "update", id: "torchclad-training-r1" });
    expect(out.at(-1)!.state.status).toBe("stopped");
    expect(out.at(-1)!.text).toMatch(/stopped[\s\S]*\ninterrupted$/);
    expect(t.active).toBe(0);
  });

  test("non-finite losses are null", () => {
    const { out, sink } = recorder();
    const t = new TelemetryDisplays(200, clock);
    t.onEvent(ev("start"), sink);
    now += 500;
    t.onEvent(ev("step", { step: 1, epoch: 1, loss: null }), sink);
    expect(out.at(-1)!.state.steps.loss).toEqual([null]);
    expect(out.at(-1)!.text).toContain("loss n/a");
    now += 500;
    t.onEvent(ev("epoch", { step: 1, epoch: 1, loss: Infinity, test_auc: NaN }), sink);
    expect(out.at(-1)!.state.epoch_metrics[0]).toMatchObject({ loss: null, test_auc: null });
  });

  test("test_auc of epoch events is passed through (null when absent) and summarised", () => {
    const { out, sink } = recorder();
    const t = new TelemetryDisplays(200, clock);
    t.onEvent(ev("start"), sink);
    t.onEvent(ev("epoch", { epoch: 1, step: 50, loss: 0.3, test_accuracy: 0.8, test_auc: 0.9123 }), sink);
    t.onEvent(ev("epoch", { epoch: 2, step: 100, loss: 0.2, test_accuracy: 0.85, test_auc: null }), sink);
    t.onEvent(ev("epoch", { epoch: 3, step: 150, loss: 0.2, test_accuracy: 0.86, test_auc: 0.95 }), sink);
    const metrics = out.at(-1)!.state.epoch_metrics;
    expect(metrics.map((m) => m.test_auc)).toEqual([0.9123, null, 0.95]);
    expect(out.at(-1)!.text).toContain("test accuracy 86.00%, test AUC 0.9500");
  });

  describe("several runs of one cell: one comparison display", () => {
    // the host repeats a run's configuration on every event
    const epoch = (run_id: string, engine: string, sps: number, acc: number) =>
      ev("epoch", {
        run_id,
        engine,
        epoch: 1,
        step: 50,
        loss: 0.3,
        test_loss: 0.4,
        test_accuracy: acc,
        samples_per_second: sps,
      });

    test("the first run creates the display, the second joins it (update_display_data, at once)", () => {
      const { out, sink } = recorder();
      const t = new TelemetryDisplays(200, clock);
      t.onEvent(ev("start", { run_id: "c1", engine: "clad" }), sink);
      t.onEvent(epoch("c1", "clad", 60000, 0.85), sink);
      t.onEvent(ev("end", { run_id: "c1", status: "finished" }), sink);
      expect(t.active).toBe(0);
      const before = out.length;
      now += 10; // within the throttle interval: a new run is sent anyway
      t.onEvent(ev("start", { run_id: "a1", engine: "autograd" }), sink);
      expect(out.length).toBe(before + 1);
      expect(out.map((o) => o.kind)).toEqual(["display", ...Array(out.length - 1).fill("update")]);
      expect(new Set(out.map((o) => o.id))).toEqual(new Set(["torchclad-training-c1"]));
      const last = out.at(-1)!.payload as TrainingComparison;
      expect(last.version).toBe(1);
      expect(last.runs.map((r) => [r.run_id, r.engine, r.status])).toEqual([
        ["c1", "clad", "finished"],
        ["a1", "autograd", "running"],
      ]);
      expect(last.comparison).toEqual({ baseline: "c1", title: "clad vs autograd" });
      t.onEvent(epoch("a1", "autograd", 30000, 0.84), sink);
      t.onEvent(ev("end", { run_id: "a1", engine: "autograd", status: "finished" }), sink);
      const done = out.at(-1)!;
      expect((done.payload as TrainingComparison).runs.map((r) => r.status)).toEqual(["finished", "finished"]);
      expect(done.text.split("\n")).toEqual([
        expect.stringMatching(/^training c1 \(clad, .*: finished, .*test accuracy 85\.00%/),
        expect.stringMatching(/^training a1 \(autograd, .*: finished, .*test accuracy 84\.00%/),
        "samples/s relative to clad: autograd 0.50x (first epoch of every run, warm-up included: train every run 2 or more epochs for a steady-state figure)",
      ]);
      expect(t.active).toBe(0);
    });

    test("the summary compares steady state: epoch 1 (warm-up) is left out once later epochs exist", () => {
      const { out, sink } = recorder();
      const t = new TelemetryDisplays(200, clock);
      const rates: [string, string, number[]][] = [
        ["c2", "clad", [20000, 60000, 62000]], // cold first epoch: the engine a cell trains first
        ["a2", "autograd", [30000, 30000, 31000]],
      ];
      for (const [run_id, engine, sps] of rates) {
        t.onEvent(ev("start", { run_id, engine }), sink);
        sps.forEach((v, i) => t.onEvent({ ...epoch(run_id, engine, v, 0.8), epoch: i + 1, step: 50 * (i + 1) }, sink));
        t.onEvent(ev("end", { run_id, engine, status: "finished" }), sink);
      }
      expect(out.at(-1)!.text.split("\n").at(-1)).toBe(
        "samples/s relative to clad: autograd 0.50x (median samples/s of epochs 2 and later; epoch 1 is warm-up)",
      );
    });

    test("updates of the runs of one display share its throttle", () => {
      const { out, sink } = recorder();
      const t = new TelemetryDisplays(200, clock);
      t.onEvent(ev("start", { run_id: "x" }), sink);
      t.onEvent(ev("start", { run_id: "y", engine: "autograd" }), sink);
      const n = out.length;
      for (let s = 1; s <= 4; s++) {
        now += 10;
        const [run_id, engine] = s % 2 ? ["x", "clad"] : ["y", "autograd"];
        t.onEvent(ev("step", { run_id, engine, epoch: 1, step: s, loss: 1 / s }), sink);
      }
      expect(out.length).toBe(n);
      jest.advanceTimersByTime(200);
      expect(out.length).toBe(n + 1);
      const runs = (out.at(-1)!.payload as TrainingComparison).runs;
      expect(runs.map((r) => r.steps.step)).toEqual([
        [1, 3],
        [2, 4],
      ]);
    });

    test("after the cell ends (flush), a run gets a new display; so does a run of another cell", () => {
      const first = recorder();
      const second = recorder();
      const t = new TelemetryDisplays(200, clock);
      t.onEvent(ev("start", { run_id: "p" }), first.sink);
      t.onEvent(ev("start", { run_id: "q" }), second.sink); // another cell's sink
      expect(first.out.map((o) => o.id)).toEqual(["torchclad-training-p"]);
      expect(second.out.map((o) => [o.kind, o.id])).toEqual([["display", "torchclad-training-q"]]);
      t.flush();
      t.onEvent(ev("start", { run_id: "r" }), first.sink);
      expect(first.out.filter((o) => o.kind === "display").map((o) => o.id)).toEqual([
        "torchclad-training-p",
        "torchclad-training-r",
      ]);
      // p keeps its own display, still updated through the first cell's sink
      now += 500;
      t.onEvent(ev("step", { run_id: "p", epoch: 1, step: 1, loss: 1 }), null);
      expect(first.out.at(-1)).toMatchObject({ kind: "update", id: "torchclad-training-p" });
      expect("runs" in first.out.at(-1)!.payload).toBe(false);
    });

    test("abandon fails only the runs still running", () => {
      const { out, sink } = recorder();
      const t = new TelemetryDisplays(200, clock);
      t.onEvent(ev("start", { run_id: "done" }), sink);
      t.onEvent(ev("end", { run_id: "done", status: "finished" }), sink);
      t.onEvent(ev("start", { run_id: "live", engine: "autograd" }), sink);
      expect(t.state("live")).toMatchObject({ status: "running" });
      t.abandon("the kernel host crashed");
      const runs = (out.at(-1)!.payload as TrainingComparison).runs;
      expect(runs.map((r) => [r.run_id, r.status, r.message])).toEqual([
        ["done", "finished", ""],
        ["live", "failed", "the kernel host crashed"],
      ]);
      expect(t.active).toBe(0);
    });
  });

  test("flush sends pending updates; events of unknown runs without a sink are dropped", () => {
    const { out, sink } = recorder();
    const t = new TelemetryDisplays(200, clock);
    t.onEvent(ev("start"), sink);
    now += 1;
    t.onEvent(ev("step", { step: 1, epoch: 1, loss: 0.5 }), sink);
    expect(out.length).toBe(1);
    t.flush();
    expect(out.length).toBe(2);
    expect(t.onEvent(ev("step", { run_id: "other" }), null)).toBe(false);
    // A known run is updated through the sink of the cell that started it.
    now += 300;
    expect(t.onEvent(ev("step", { step: 2, epoch: 1, loss: 0.4 }), null)).toBe(true);
    expect(out.length).toBe(3);
  });

  test("abandon marks running runs failed", () => {
    const { out, sink } = recorder();
    const t = new TelemetryDisplays(200, clock);
    t.onEvent(ev("start"), sink);
    t.abandon("the kernel host crashed");
    expect(out.at(-1)!.state).toMatchObject({ status: "failed", message: "the kernel host crashed" });
    expect(t.active).toBe(0);
  });

  test("the step series is thinned past MAX_STEP_POINTS", () => {
    const { out, sink } = recorder();
    const t = new TelemetryDisplays(0, clock);
    t.onEvent(ev("start", { total_steps: 10 * MAX_STEP_POINTS }), sink);
    for (let s = 1; s <= 3 * MAX_STEP_POINTS; s++) t.onEvent(ev("step", { step: s, epoch: 1, loss: 1 }), sink);
    const steps = out.at(-1)!.state.steps;
    expect(steps.step.length).toBeLessThanOrEqual(MAX_STEP_POINTS);
    expect(steps.step.length).toBe(steps.loss.length);
    expect(steps.step[0]).toBe(1);
    expect(steps.step.at(-1)).toBe(3 * MAX_STEP_POINTS);
  });

  test("a long run keeps its points evenly spaced over the whole run, the latest step last", () => {
    const { out, sink } = recorder();
    const t = new TelemetryDisplays(0, clock);
    const n = 20 * MAX_STEP_POINTS + 7;
    t.onEvent(ev("start", { total_steps: n }), sink);
    for (let s = 1; s <= n; s++) {
      t.onEvent(ev("step", { step: s, epoch: 1, loss: 1 / s }), sink);
      if (s % 9973 === 0 || s === n) {
        const steps = out.at(-1)!.state.steps;
        expect(steps.step.length).toBeLessThanOrEqual(MAX_STEP_POINTS);
        expect(steps.step.at(-1)).toBe(s);
      }
    }
    const steps = out.at(-1)!.state.steps;
    expect(steps.step.length).toBeGreaterThanOrEqual(MAX_STEP_POINTS / 2);
    const gaps = steps.step.slice(1).map((x, i) => x - steps.step[i]);
    // one stride between kept points (the last gap, to the latest step, may be shorter)
    const stride = gaps[0];
    expect(gaps.slice(0, -1).every((g) => g === stride)).toBe(true);
    expect(gaps.at(-1)).toBeLessThanOrEqual(stride);
    expect(steps.loss.every((l, i) => l === 1 / steps.step[i])).toBe(true);
    expect(steps.epoch.every((e) => e === 1)).toBe(true);
  });
});

import { DisplayOptions, ExecutionSink, MimeBundle } from "./executor";
import { MAX_STEP_POINTS, TelemetryDisplays, TelemetryEvent, TRAINING_MIME, TrainingState } from "./telemetry";

interface Out {
  kind: "display" | "update";
  id: string;
  state: TrainingState;
  text: string;
}

function recorder() {
  const out: Out[] = [];
  const push = (kind: Out["kind"]) => (data: MimeBundle, o?: DisplayOptions) =>
    out.push({ kind, id: o?.displayId ?? "", state: data[TRAINING_MIME] as TrainingState, text: data["text/plain"] as string });
  const sink: ExecutionSink = { stream: () => {}, result: () => {}, display: push("display"), updateDisplay: push("update") };
  return { out, sink };
}

const base = { run_id: "r1", engine: "clad", model: "mlp-36-16-3", optimizer: "adam", batch: 32, threads: 1, epochs: 2, total_steps: 100 };
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
    t.onEvent(ev("epoch", { epoch: 1, step: 50, loss: 0.3, test_loss: 0.4, test_accuracy: 0.85, samples_per_second: 12345.6 }), sink);
    expect(out.length).toBe(3); // at once
    expect(out[2].state.epoch_metrics).toEqual([
      { epoch: 1, step: 50, loss: 0.3, test_loss: 0.4, test_accuracy: 0.85, samples_per_second: 12345.6 },
    ]);
    expect(out[2].text).toContain("test accuracy 85.00%");
    expect(out[2].text).toContain("12,346 samples/s");
    t.onEvent(ev("end", { status: "stopped", message: "interrupted" }), sink);
    expect(out.at(-1)).toMatchObject({ kind: "update", id: "torchclad-training-r1" });
    expect(out.at(-1)!.state.status).toBe("stopped");
    expect(out.at(-1)!.text).toMatch(/stopped[\s\S]*\ninterrupted$/);
    expect(t.active).toBe(0);
  });

  test("non-finite losses are null; a second run gets its own display", () => {
    const { out, sink } = recorder();
    const t = new TelemetryDisplays(200, clock);
    t.onEvent(ev("start"), sink);
    t.onEvent(ev("start", { run_id: "r2" }), sink);
    expect(out.map((o) => o.id)).toEqual(["torchclad-training-r1", "torchclad-training-r2"]);
    now += 500;
    t.onEvent(ev("step", { step: 1, epoch: 1, loss: null }), sink);
    expect(out.at(-1)!.state.steps.loss).toEqual([null]);
    expect(out.at(-1)!.text).toContain("loss n/a");
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
});

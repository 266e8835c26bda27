// Training telemetry from the host -> one live display per training run.
//
// The first event of a run creates a display_data output with
// display_id "torchclad-training-<run_id>"; later events replace it with
// update_display_data (throttled; epoch and end events and the end of the
// cell flush at once). Each output carries the whole state of the run so far:
//
//   application/vnd.torchclad.training.v1+json   TrainingState (training-schema.ts), for the lab extension
//   text/plain                                    a one-line summary, for every other frontend
import { ExecutionSink, MimeBundle } from "./executor";
import { MAX_STEP_POINTS, TRAINING_MIME, TrainingState } from "./training-schema";

// The wire format (payload types, MIME type) lives in training-schema.ts.
export * from "./training-schema";

/** An event as the host sends it (torchclad::telemetry::Event; non-finite numbers are null). */
export interface TelemetryEvent {
  kind: "start" | "step" | "epoch" | "end" | string;
  run_id: string;
  engine?: string;
  model?: string;
  optimizer?: string;
  batch?: number;
  threads?: number;
  epochs?: number;
  epoch?: number;
  step?: number;
  total_steps?: number;
  loss?: number | null;
  test_loss?: number | null;
  test_accuracy?: number | null;
  /** Binary classifiers: area under the ROC curve on the test set (epoch events); null when not measured. */
  test_auc?: number | null;
  samples_per_second?: number | null;
  status?: string;
  message?: string;
}

function num(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function newState(e: TelemetryEvent, now: Date): TrainingState {
  return {
    version: 1,
    run_id: e.run_id,
    engine: e.engine ?? "",
    model: e.model ?? "",
    optimizer: e.optimizer ?? "",
    batch: e.batch ?? 0,
    threads: e.threads ?? 0,
    epochs: e.epochs ?? 0,
    total_steps: e.total_steps ?? 0,
    status: "running",
    message: "",
    epoch: 0,
    step: 0,
    loss: null,
    samples_per_second: null,
    steps: { step: [], epoch: [], loss: [] },
    epoch_metrics: [],
    started_at: now.toISOString(),
    updated_at: now.toISOString(),
    elapsed_seconds: 0,
  };
}

/** Keeps every other point (and the last) once there are too many. */
function thin(s: TrainingState["steps"]): void {
  if (s.step.length <= MAX_STEP_POINTS) return;
  const keep = (_: unknown, i: number, a: unknown[]) => i % 2 === 0 || i === a.length - 1;
  s.step = s.step.filter(keep);
  s.epoch = s.epoch.filter(keep);
  s.loss = s.loss.filter(keep);
}

export function applyEvent(state: TrainingState, e: TelemetryEvent, now: Date): void {
  for (const k of ["engine", "model", "optimizer"] as const) if (e[k]) state[k] = e[k] as string;
  for (const k of ["batch", "threads", "epochs", "total_steps"] as const) if (e[k]) state[k] = e[k] as number;
  if (typeof e.epoch === "number" && e.epoch > 0) state.epoch = e.epoch;
  if (typeof e.step === "number" && e.step > 0) state.step = e.step;
  state.updated_at = now.toISOString();
  state.elapsed_seconds = (now.getTime() - Date.parse(state.started_at)) / 1000;
  switch (e.kind) {
    case "step": {
      state.loss = num(e.loss);
      if (num(e.samples_per_second) !== null) state.samples_per_second = num(e.samples_per_second);
      const s = state.steps;
      if (s.step.length > 0 && s.step[s.step.length - 1] === state.step) break; // a repeated step
      s.step.push(state.step);
      s.epoch.push(state.epoch);
      s.loss.push(num(e.loss));
      thin(s);
      break;
    }
    case "epoch":
      state.loss = num(e.loss) ?? state.loss;
      state.samples_per_second = num(e.samples_per_second) ?? state.samples_per_second;
      state.epoch_metrics.push({
        epoch: state.epoch,
        step: state.step,
        loss: num(e.loss),
        test_loss: num(e.test_loss),
        test_accuracy: num(e.test_accuracy),
        samples_per_second: num(e.samples_per_second),
      });
      break;
    case "end":
      state.status = e.status || "finished";
      state.message = e.message ?? "";
      break;
    default:
      break;
  }
}

function fmt(v: number | null, digits = 4): string {
  return v === null ? "n/a" : v.toFixed(digits);
}

export function summary(s: TrainingState): string {
  const what = [s.engine, s.model, s.optimizer, s.batch ? `batch ${s.batch}` : ""].filter(Boolean).join(", ");
  const parts = [`training ${s.run_id}${what ? ` (${what})` : ""}: ${s.status}`];
  if (s.epochs) parts.push(`epoch ${s.epoch}/${s.epochs}`);
  if (s.total_steps) parts.push(`step ${s.step}/${s.total_steps} (${((100 * s.step) / s.total_steps).toFixed(1)}%)`);
  else if (s.step) parts.push(`step ${s.step}`);
  parts.push(`loss ${fmt(s.loss)}`);
  const last = s.epoch_metrics[s.epoch_metrics.length - 1];
  if (last?.test_accuracy !== null && last?.test_accuracy !== undefined) {
    parts.push(`test accuracy ${(100 * last.test_accuracy).toFixed(2)}%`);
  }
  if (s.samples_per_second !== null) parts.push(`${Math.round(s.samples_per_second).toLocaleString("en-US")} samples/s`);
  let text = parts.join(", ");
  if (s.message) text += `\n${s.message}`;
  return text;
}

export function bundle(s: TrainingState): MimeBundle {
  return { [TRAINING_MIME]: s, "text/plain": summary(s) };
}

export function displayIdOf(runId: string): string {
  return `torchclad-training-${runId}`;
}

interface Run {
  state: TrainingState;
  sink: ExecutionSink;
  lastSent: number;
  timer: NodeJS.Timeout | null;
  dirty: boolean;
}

/**
 * The live displays of all runs. `onEvent` with the sink of the cell that
 * trains (or null for an event between cells: then only runs already shown
 * are updated, through the sink of the cell that started them).
 */
export class TelemetryDisplays {
  private readonly runs = new Map<string, Run>();

  constructor(
    /** Minimum time between two updates of one display. */
    private readonly intervalMs = 200,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  onEvent(e: TelemetryEvent, sink: ExecutionSink | null): boolean {
    if (!e || typeof e.run_id !== "string" || e.run_id === "") return false;
    const now = this.clock();
    let run = this.runs.get(e.run_id);
    if (!run) {
      if (!sink) return false;
      const state = newState(e, now);
      applyEvent(state, e, now);
      run = { state, sink, lastSent: now.getTime(), timer: null, dirty: false };
      sink.display(bundle(state), { displayId: displayIdOf(e.run_id) });
      if (state.status === "running") this.runs.set(e.run_id, run);
      return true;
    }
    applyEvent(run.state, e, now);
    run.dirty = true;
    if (e.kind === "epoch" || e.kind === "end" || now.getTime() - run.lastSent >= this.intervalMs) {
      this.send(run);
    } else if (!run.timer) {
      run.timer = setTimeout(() => this.send(run!), this.intervalMs - (now.getTime() - run.lastSent));
    }
    return true;
  }

  private send(run: Run): void {
    if (run.timer) {
      clearTimeout(run.timer);
      run.timer = null;
    }
    if (!run.dirty) return;
    run.dirty = false;
    run.lastSent = this.clock().getTime();
    run.sink.updateDisplay(bundle(run.state), { displayId: displayIdOf(run.state.run_id) });
    if (run.state.status !== "running") this.runs.delete(run.state.run_id);
  }

  /** Sends every pending update (the cell ends). */
  flush(): void {
    for (const run of [...this.runs.values()]) this.send(run);
  }

  /** Runs cut short (the host died): marked as such and flushed. */
  abandon(reason: string): void {
    for (const run of [...this.runs.values()]) {
      if (run.state.status === "running") {
        run.state.status = "failed";
        run.state.message = reason;
        run.dirty = true;
      }
      this.send(run);
    }
    this.runs.clear();
  }

  get active(): number {
    return this.runs.size;
  }

  state(runId: string): TrainingState | undefined {
    return this.runs.get(runId)?.state;
  }
}

// Training telemetry from the host -> live training displays.
//
// All training runs started while one execute_request runs share one display
// (a cell that trains clad, then autograd, shows one comparison): the first
// run creates a display_data output with display_id
// "torchclad-training-<run_id of the first run>"; later events, and later
// runs of the same cell, replace it with update_display_data (throttled;
// epoch, end and new-run events and the end of the cell are sent at once).
// Each output carries the whole state so far:
//
//   application/vnd.torchclad.training.v1+json   one run: TrainingState; several: TrainingComparison
//                                                (training-schema.ts), for the lab extension
//   text/plain                                    a summary, one line per run, for every other frontend
import { ExecutionSink, MimeBundle } from "./executor";
import {
  MAX_STEP_POINTS,
  TRAINING_MIME,
  TrainingComparison,
  TrainingState,
  comparisonThroughputs,
  emptyRun,
  throughputBasis,
} from "./training-schema";

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
  const state = emptyRun(e.run_id);
  state.started_at = state.updated_at = now.toISOString();
  return state;
}

/** How a run's step points are thinned: the ordinal of each kept point (bridge-side only, not sent). */
interface Thinning {
  /** Points on the grid: ordinals that are multiples of stride. */
  stride: number;
  /** Step events seen. */
  count: number;
  ordinal: number[];
}
const thinnings = new WeakMap<TrainingState, Thinning>();

/**
 * Adds a step point, keeping at most MAX_STEP_POINTS evenly spaced over the
 * whole run. This is the one place points are dropped: the bridge bounds
 * what crosses the wire (each update carries the whole run, and the notebook
 * saves the last one), so the renderer draws every point it receives and has
 * no downsampling of its own. The kept points are the step events whose
 * ordinal is a multiple of a stride that doubles each time the bound is
 * passed (so between MAX_STEP_POINTS / 2 and MAX_STEP_POINTS points, at most
 * `stride` events apart), plus the latest event, so the live curve ends at
 * the current step.
 */
function addStepPoint(state: TrainingState, step: number, epoch: number, loss: number | null): void {
  const s = state.steps;
  let t = thinnings.get(state);
  if (!t) thinnings.set(state, (t = { stride: 1, count: 0, ordinal: [] }));
  const grid = t;
  const onGrid = (o: number) => o % grid.stride === 0;
  const last = t.ordinal.length - 1;
  if (last >= 0 && !onGrid(t.ordinal[last])) {
    // the previous latest point, off the grid: replaced by this one
    s.step.pop();
    s.epoch.pop();
    s.loss.pop();
    t.ordinal.pop();
  }
  s.step.push(step);
  s.epoch.push(epoch);
  s.loss.push(loss);
  t.ordinal.push(t.count++);
  if (s.step.length <= MAX_STEP_POINTS) return;
  t.stride *= 2;
  const n = t.ordinal.length;
  const keep = (_: unknown, i: number) => onGrid(grid.ordinal[i]) || i === n - 1;
  s.step = s.step.filter(keep);
  s.epoch = s.epoch.filter(keep);
  s.loss = s.loss.filter(keep);
  t.ordinal = t.ordinal.filter(keep);
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
      addStepPoint(state, state.step, state.epoch, num(e.loss));
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
        test_auc: num(e.test_auc),
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
  if (last?.test_auc !== null && last?.test_auc !== undefined) parts.push(`test AUC ${last.test_auc.toFixed(4)}`);
  if (s.samples_per_second !== null)
    parts.push(`${Math.round(s.samples_per_second).toLocaleString("en-US")} samples/s`);
  let text = parts.join(", ");
  if (s.message) text += `\n${s.message}`;
  return text;
}

/** The payload of several runs in one display: the first run is the baseline. */
export function comparisonOf(runs: TrainingState[]): TrainingComparison {
  const engines = runs.map((r) => r.engine);
  const distinct = engines.every(Boolean) && new Set(engines).size === engines.length;
  return {
    version: 1,
    runs,
    comparison: { baseline: runs[0].run_id, title: distinct ? engines.join(" vs ") : `${runs.length} training runs` },
  };
}

/** text/plain of a comparison: one line per run, then the throughput of each run against the first. */
export function comparisonSummary(runs: TrainingState[]): string {
  const lines = runs.map(summary);
  const rates = comparisonThroughputs(runs).map((t) => t.value);
  const base = rates[0];
  if (base !== null && base > 0) {
    const name = (r: TrainingState) => r.engine || r.run_id;
    const rel = runs.slice(1).map((r, i) => {
      const t = rates[i + 1];
      return `${name(r)} ${t === null ? "n/a" : `${(t / base).toFixed(2)}x`}`;
    });
    lines.push(`samples/s relative to ${name(runs[0])}: ${rel.join(", ")} (${throughputBasis(runs)})`);
  }
  return lines.join("\n");
}

/** The output of a display: one run as TrainingState, several as a comparison. */
export function bundle(runs: TrainingState | TrainingState[]): MimeBundle {
  const list = Array.isArray(runs) ? runs : [runs];
  if (list.length === 1) return { [TRAINING_MIME]: list[0], "text/plain": summary(list[0]) };
  return { [TRAINING_MIME]: comparisonOf(list), "text/plain": comparisonSummary(list) };
}

export function displayIdOf(runId: string): string {
  return `torchclad-training-${runId}`;
}

/** One display: the runs of one cell. */
interface Display {
  id: string;
  sink: ExecutionSink;
  runs: TrainingState[];
  lastSent: number;
  timer: NodeJS.Timeout | null;
  dirty: boolean;
}

/**
 * The live displays. `onEvent` with the sink of the cell the event belongs
 * to (the host tags it with the cell that started the training thread, which
 * may have ended: a run on a thread it detached), or null (then only runs
 * already shown are updated, through the sink of the cell that started
 * them). A run started while its cell's display is open joins it; `flush`
 * (a cell ends) closes the displays to new runs.
 */
export class TelemetryDisplays {
  /** Runs still running -> their display. */
  private readonly byRun = new Map<string, Display>();
  /** The display of each cell still running (by its sink), open to new runs. */
  private readonly open = new Map<ExecutionSink, Display>();

  constructor(
    /** Minimum time between two updates of one display. */
    private readonly intervalMs = 200,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  onEvent(e: TelemetryEvent, sink: ExecutionSink | null): boolean {
    if (!e || typeof e.run_id !== "string" || e.run_id === "") return false;
    const now = this.clock();
    let d = this.byRun.get(e.run_id);
    if (!d) {
      if (!sink) return false;
      const state = newState(e, now);
      applyEvent(state, e, now);
      d = this.open.get(sink);
      if (d && d.runs.some((r) => r.run_id === e.run_id)) return false; // an event after the run's end
      if (state.status === "running") this.byRun.set(e.run_id, d ?? (d = this.create(sink, state, now)));
      else if (!d) d = this.create(sink, state, now);
      if (d.runs[0] !== state) {
        // a later run of the same cell: the display becomes a comparison, at once
        d.runs.push(state);
        d.dirty = true;
        this.send(d);
      }
      return true;
    }
    const state = d.runs.find((r) => r.run_id === e.run_id)!;
    applyEvent(state, e, now);
    d.dirty = true;
    if (e.kind === "epoch" || e.kind === "end" || now.getTime() - d.lastSent >= this.intervalMs) {
      this.send(d);
    } else if (!d.timer) {
      const target = d;
      d.timer = setTimeout(() => this.send(target), this.intervalMs - (now.getTime() - d.lastSent));
    }
    return true;
  }

  private create(sink: ExecutionSink, state: TrainingState, now: Date): Display {
    const d: Display = {
      id: displayIdOf(state.run_id),
      sink,
      runs: [state],
      lastSent: now.getTime(),
      timer: null,
      dirty: false,
    };
    sink.display(bundle(d.runs), { displayId: d.id });
    this.open.set(sink, d);
    return d;
  }

  private send(d: Display): void {
    if (d.timer) {
      clearTimeout(d.timer);
      d.timer = null;
    }
    if (!d.dirty) return;
    d.dirty = false;
    d.lastSent = this.clock().getTime();
    d.sink.updateDisplay(bundle(d.runs), { displayId: d.id });
    for (const r of d.runs) if (r.status !== "running" && this.byRun.get(r.run_id) === d) this.byRun.delete(r.run_id);
  }

  private displays(): Display[] {
    return [...new Set([...this.byRun.values(), ...this.open.values()])];
  }

  /** Sends every pending update; the cells' displays take no new runs (the cell ends). */
  flush(): void {
    for (const d of this.displays()) this.send(d);
    this.open.clear();
  }

  /** Runs cut short (the host died): marked as such and flushed. */
  abandon(reason: string): void {
    for (const d of this.displays()) {
      for (const r of d.runs) {
        if (r.status === "running") {
          r.status = "failed";
          r.message = reason;
          d.dirty = true;
        }
      }
      this.send(d);
    }
    this.byRun.clear();
    this.open.clear();
  }

  /** Runs still running. */
  get active(): number {
    return this.byRun.size;
  }

  state(runId: string): TrainingState | undefined {
    return this.byRun.get(runId)?.runs.find((r) => r.run_id === runId);
  }
}

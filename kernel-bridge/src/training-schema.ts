// The wire format of the training displays, defined once: the payload of
// application/vnd.torchclad.training.v1+json, version 1, its types and its
// validator. kernel-bridge produces it (telemetry.ts builds runs with
// emptyRun and checks nothing: what it builds is what the contract test
// validates); the lab extension reads it (lab-extension/src/schema.ts
// re-exports this module from this package's dist/training-schema.js, so the
// renderer validates with this very code). No imports: the extension's
// bundle takes this one file of kernel-bridge and nothing else.
// The documentation of the fields: kernel-bridge/README.md.

export const TRAINING_MIME = "application/vnd.torchclad.training.v1+json";
export const TRAINING_SCHEMA_VERSION = 1;

/**
 * At most this many step points per run cross the wire. The bridge is the one
 * layer that thins (telemetry.ts): it bounds the size of every display update
 * and of the saved notebook, so the renderer draws every point it receives.
 */
export const MAX_STEP_POINTS = 2000;

// The fields of a run, by type: the validator, emptyRun and the TrainingState
// type are all derived from these lists.
const RUN_STRINGS = ["engine", "model", "optimizer", "message", "started_at", "updated_at"] as const;
const RUN_NUMBERS = ["batch", "threads", "epochs", "total_steps", "epoch", "step", "elapsed_seconds"] as const;
/** Non-finite numbers (a diverged loss) are null. */
const RUN_NULLABLE = ["loss", "samples_per_second"] as const;
const EPOCH_NULLABLE = ["loss", "test_loss", "test_accuracy", "test_auc", "samples_per_second"] as const;

/** The metrics of one finished epoch. Non-finite numbers are null. */
export type EpochRecord = {
  epoch: number;
  /** The last step of the epoch. */
  step: number;
  /**
   * Area under the ROC curve on the test set, for binary classifiers; null
   * when not measured. Optional: older payloads do not have it.
   */
  test_auc?: number | null;
  // loss: the mean training loss of the epoch
} & { [K in Exclude<(typeof EPOCH_NULLABLE)[number], "test_auc">]: number | null };

/**
 * One training run: the whole run so far. status is "running", then the end
 * event's status: "finished", "stopped", "failed". loss is the latest mean
 * loss of the current epoch. steps: the step events, columnar, at most
 * MAX_STEP_POINTS (older points are thinned evenly by the bridge).
 */
export type TrainingState = {
  version: 1;
  run_id: string;
  status: string;
  steps: { step: number[]; epoch: number[]; loss: (number | null)[] };
  epoch_metrics: EpochRecord[];
} & { [K in (typeof RUN_STRINGS)[number]]: string } & { [K in (typeof RUN_NUMBERS)[number]]: number } & {
  [K in (typeof RUN_NULLABLE)[number]]: number | null;
};

/** How several runs in one display are compared. */
export interface Comparison {
  /** run_id of the run the others' speed-up is measured against (default: the first run). */
  baseline?: string;
  /** Title of the comparison, e.g. "clad vs autograd". */
  title?: string;
}

/** Several runs in one display (a comparison), sharing the axes. */
export interface TrainingComparison {
  version: 1;
  runs: TrainingState[];
  comparison?: Comparison | null;
}

/** What a display's TRAINING_MIME data may be: one run, a comparison, or (read, never sent) an array of runs. */
export type TrainingPayload = TrainingState | TrainingComparison | TrainingState[];

/** A run with no event applied yet: every field at its empty value. */
export function emptyRun(runId: string): TrainingState {
  const run: Record<string, unknown> = { version: TRAINING_SCHEMA_VERSION, run_id: runId, status: "running" };
  for (const k of RUN_STRINGS) run[k] = "";
  for (const k of RUN_NUMBERS) run[k] = 0;
  for (const k of RUN_NULLABLE) run[k] = null;
  run.steps = { step: [], epoch: [], loss: [] };
  run.epoch_metrics = [];
  return run as TrainingState;
}

/* ------------------------------------------------------------ throughput */

/** A run's samples/s as comparisons use it, and how it was measured. */
export interface Throughput {
  /** samples/s; null when the run has no rate yet. */
  value: number | null;
  /** true when the figure excludes the warm-up (the run has finished two or more epochs). */
  steady: boolean;
}

/**
 * A run's own throughput for comparisons: the median samples/s of the
 * epochs after the first. The first epoch pays the warm-up (thread pool
 * start, first-touch page faults, cold caches), so the engine a cell trains
 * first would otherwise look slower than it is. With one epoch, that epoch;
 * with none yet, the live value (both include the warm-up: steady = false).
 */
export function comparisonThroughput(run: TrainingState): Throughput {
  const after = run.epoch_metrics
    .slice(1)
    .map((e) => e.samples_per_second)
    .filter((x): x is number => x !== null);
  if (after.length) {
    const v = [...after].sort((a, b) => a - b);
    const m = v.length >> 1;
    return { value: v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2, steady: true };
  }
  return warmupThroughput(run);
}

/** The run's first epoch's samples/s (null if it has none), or the live value before any epoch ends. */
function warmupThroughput(run: TrainingState): Throughput {
  const first = run.epoch_metrics[0];
  return { value: first ? first.samples_per_second : run.samples_per_second, steady: false };
}

/**
 * The throughputs a comparison of runs sets side by side, like with like:
 * every run's steady-state figure when every run that has a figure has one;
 * otherwise every run's first epoch (or live value), so a run that trained
 * one epoch is not set against another's steady state. A run without any
 * figure yet (null) does not change the others'. The bridge's text summary
 * and the lab extension's speed-up bars both use this one rule.
 */
export function comparisonThroughputs(runs: TrainingState[]): Throughput[] {
  const own = runs.map(comparisonThroughput);
  return own.every((t) => t.steady || t.value === null) ? own : runs.map(warmupThroughput);
}

/** How comparisonThroughputs measured a set of runs, said in a few words for a display. */
export function throughputBasis(runs: TrainingState[]): string {
  return comparisonThroughputs(runs).some((t) => t.steady)
    ? "median samples/s of epochs 2 and later; epoch 1 is warm-up"
    : "first epoch of every run, warm-up included: train every run 2 or more epochs for a steady-state figure";
}

/* ------------------------------------------------------------ validation */

/** The payload after validation: the runs (normalised) and how they are compared. */
export interface TrainingDisplay {
  runs: TrainingState[];
  comparison: Comparison | null;
}

export type Validation = { ok: true; display: TrainingDisplay } | { ok: false; errors: string[] };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string" ? `the string ${JSON.stringify(v).slice(0, 40)}` : `a ${typeof v}`;
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function versionError(v: unknown, where: string): string | null {
  const V = TRAINING_SCHEMA_VERSION;
  if (v === V) return null;
  if (v === undefined) return `${where}version: missing (this renderer reads version ${V})`;
  return `${where}version: ${JSON.stringify(v)} is not supported (this renderer reads version ${V}; update the torchclad lab extension)`;
}

/** Validates the step columns; returns them normalised, or null after pushing errors. */
function validateSteps(steps: unknown, where: string, errors: string[]): TrainingState["steps"] | null {
  if (!isObj(steps)) {
    errors.push(`${where}steps: expected an object {step: [], epoch: [], loss: []}, got ${describe(steps)}`);
    return null;
  }
  const s = steps.step,
    l = steps.loss,
    e = steps.epoch;
  const before = errors.length;
  if (!Array.isArray(s)) errors.push(`${where}steps.step: expected an array, got ${describe(s)}`);
  if (!Array.isArray(l)) errors.push(`${where}steps.loss: expected an array, got ${describe(l)}`);
  if (e !== undefined && !Array.isArray(e)) errors.push(`${where}steps.epoch: expected an array, got ${describe(e)}`);
  if (!Array.isArray(s) || !Array.isArray(l) || errors.length > before) return null;
  if (s.length !== l.length) {
    errors.push(`${where}steps: step has ${s.length} points but loss has ${l.length}`);
    return null;
  }
  if (Array.isArray(e) && e.length !== s.length) {
    errors.push(`${where}steps: step has ${s.length} points but epoch has ${e.length}`);
    return null;
  }
  const bad = s.findIndex((x) => typeof x !== "number" || !Number.isFinite(x));
  if (bad >= 0) errors.push(`${where}steps.step[${bad}]: expected a number, got ${describe(s[bad])}`);
  const badL = l.findIndex((x) => x !== null && typeof x !== "number");
  if (badL >= 0) errors.push(`${where}steps.loss[${badL}]: expected a number or null, got ${describe(l[badL])}`);
  if (errors.length > before) return null;
  return {
    step: s as number[],
    epoch: Array.isArray(e) ? (e as unknown[]).map((x) => (typeof x === "number" ? x : 0)) : s.map(() => 0),
    loss: (l as unknown[]).map(finiteOrNull),
  };
}

/** Validates one run; pushes readable errors (prefixed with `where`) and returns a normalised copy. */
function validateRun(v: unknown, where: string, errors: string[]): TrainingState | null {
  if (!isObj(v)) {
    errors.push(`${where || "data"}: expected a training run object, got ${describe(v)}`);
    return null;
  }
  const before = errors.length;
  const ver = versionError(v.version, where);
  if (ver) errors.push(ver);
  if (typeof v.run_id !== "string" || v.run_id === "")
    errors.push(`${where}run_id: expected a non-empty string, got ${describe(v.run_id)}`);
  if (typeof v.status !== "string") errors.push(`${where}status: expected a string, got ${describe(v.status)}`);
  const present = (k: string) => v[k] !== undefined && v[k] !== null;
  for (const k of RUN_STRINGS)
    if (present(k) && typeof v[k] !== "string") errors.push(`${where}${k}: expected a string, got ${describe(v[k])}`);
  for (const k of RUN_NUMBERS)
    if (present(k) && typeof v[k] !== "number") errors.push(`${where}${k}: expected a number, got ${describe(v[k])}`);
  for (const k of RUN_NULLABLE) {
    if (present(k) && typeof v[k] !== "number")
      errors.push(`${where}${k}: expected a number or null, got ${describe(v[k])}`);
  }
  const steps = validateSteps(v.steps, where, errors);
  const em = v.epoch_metrics;
  const records: EpochRecord[] = [];
  if (em !== undefined && !Array.isArray(em)) {
    errors.push(`${where}epoch_metrics: expected an array, got ${describe(em)}`);
  } else if (Array.isArray(em)) {
    em.forEach((r, i) => {
      if (!isObj(r) || typeof r.epoch !== "number") {
        errors.push(
          `${where}epoch_metrics[${i}]: expected {epoch: number, ...}, got ${isObj(r) ? `epoch ${describe(r.epoch)}` : describe(r)}`,
        );
        return;
      }
      const rec: Record<string, unknown> = { epoch: r.epoch, step: typeof r.step === "number" ? r.step : 0 };
      for (const k of EPOCH_NULLABLE) rec[k] = finiteOrNull(r[k]); // test_auc: absent in older payloads
      records.push(rec as EpochRecord);
    });
  }
  if (errors.length > before || !steps) return null;
  const run = emptyRun(v.run_id as string) as unknown as Obj;
  run.status = v.status;
  for (const k of RUN_STRINGS) if (typeof v[k] === "string") run[k] = v[k];
  for (const k of RUN_NUMBERS) run[k] = finiteOrNull(v[k]) ?? 0;
  for (const k of RUN_NULLABLE) run[k] = finiteOrNull(v[k]);
  run.steps = steps;
  run.epoch_metrics = records;
  return run as unknown as TrainingState;
}

/**
 * Validates the MIME payload. Accepts one run (TrainingState), an array of
 * runs, or {version: 1, runs: [...], comparison?: {baseline?, title?}} (what
 * the bridge sends for several runs of one cell). Errors are readable
 * sentences naming the field.
 */
export function validate(data: unknown): Validation {
  const errors: string[] = [];
  let rawRuns: unknown[];
  let comparison: Comparison | null = null;
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      return { ok: false, errors: ["data: a string that is not JSON"] };
    }
  }
  if (Array.isArray(data)) {
    rawRuns = data;
  } else if (isObj(data) && "runs" in data) {
    const ver = versionError(data.version, "");
    if (ver) return { ok: false, errors: [ver] };
    if (!Array.isArray(data.runs))
      return { ok: false, errors: [`runs: expected an array of training runs, got ${describe(data.runs)}`] };
    rawRuns = data.runs;
    if (data.comparison !== undefined && data.comparison !== null) {
      if (!isObj(data.comparison))
        return { ok: false, errors: [`comparison: expected an object, got ${describe(data.comparison)}`] };
      const c = data.comparison;
      comparison = {};
      if (typeof c.baseline === "string") comparison.baseline = c.baseline;
      if (typeof c.title === "string") comparison.title = c.title;
    }
  } else if (isObj(data)) {
    rawRuns = [data];
  } else {
    return { ok: false, errors: [`data: expected a training run object, got ${describe(data)}`] };
  }
  if (rawRuns.length === 0) return { ok: false, errors: ["runs: no training run in this display"] };
  const runs: TrainingState[] = [];
  const many = rawRuns.length > 1 || !(isObj(data) && !("runs" in data));
  rawRuns.forEach((r, i) => {
    const run = validateRun(r, many ? `runs[${i}].` : "", errors);
    if (run) runs.push(run);
  });
  const seen = new Set<string>();
  for (const r of runs) {
    if (seen.has(r.run_id)) errors.push(`runs: run_id ${JSON.stringify(r.run_id)} appears twice`);
    seen.add(r.run_id);
  }
  if (comparison?.baseline !== undefined && !seen.has(comparison.baseline) && errors.length === 0) {
    errors.push(`comparison.baseline: no run has run_id ${JSON.stringify(comparison.baseline)}`);
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, display: { runs, comparison } };
}

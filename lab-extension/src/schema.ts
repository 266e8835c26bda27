// The payload of application/vnd.torchclad.training.v1+json, and its validation.
//
// The payload's types are kernel-bridge's (the producer owns the wire format:
// kernel-bridge/src/training-schema.ts), imported type-only from its built
// declarations, so they are erased at build time: nothing of kernel-bridge
// is in this extension's bundle. The renderer accepts one run, a comparison
// {"version": 1, "runs": [...], "comparison": {...}} (what the kernel sends for
// several runs of one cell), or an array of runs.
// Pure: no DOM, no plotly.
import type {
  Comparison,
  EpochRecord,
  TrainingComparison,
  TrainingPayload,
  TrainingState
} from '@torchclad/kernel-bridge/dist/training-schema';

export type { Comparison, EpochRecord, TrainingComparison, TrainingPayload, TrainingState };

// Values are not imported (that would bundle kernel-bridge); kept equal to
// kernel-bridge's by a test (schema.spec.ts).
export const TRAINING_MIME = 'application/vnd.torchclad.training.v1+json';
export const SCHEMA_VERSION = 1;

/** The payload after validation: the runs (normalised) and how they are compared. */
export interface TrainingDisplay {
  runs: TrainingState[];
  comparison: Comparison | null;
}

export type Validation =
  | { ok: true; display: TrainingDisplay }
  | { ok: false; errors: string[] };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string ${JSON.stringify(v).slice(0, 40)}` : `a ${typeof v}`;
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function versionError(v: unknown, where: string): string | null {
  if (v === SCHEMA_VERSION) return null;
  if (v === undefined) return `${where}version: missing (this renderer reads version ${SCHEMA_VERSION})`;
  return `${where}version: ${JSON.stringify(v)} is not supported (this renderer reads version ${SCHEMA_VERSION}; update the torchclad lab extension)`;
}

/** Validates one run; pushes readable errors (prefixed with `where`) and returns a normalised copy. */
function validateRun(v: unknown, where: string, errors: string[]): TrainingState | null {
  if (!isObj(v)) {
    errors.push(`${where || 'data'}: expected a training run object, got ${describe(v)}`);
    return null;
  }
  const before = errors.length;
  const ver = versionError(v.version, where);
  if (ver) errors.push(ver);
  if (typeof v.run_id !== 'string' || v.run_id === '') errors.push(`${where}run_id: expected a non-empty string, got ${describe(v.run_id)}`);
  if (typeof v.status !== 'string') errors.push(`${where}status: expected a string, got ${describe(v.status)}`);
  for (const k of ['engine', 'model', 'optimizer', 'message', 'started_at', 'updated_at']) {
    if (v[k] !== undefined && v[k] !== null && typeof v[k] !== 'string') errors.push(`${where}${k}: expected a string, got ${describe(v[k])}`);
  }
  for (const k of ['batch', 'threads', 'epochs', 'total_steps', 'epoch', 'step', 'elapsed_seconds']) {
    if (v[k] !== undefined && v[k] !== null && typeof v[k] !== 'number') errors.push(`${where}${k}: expected a number, got ${describe(v[k])}`);
  }
  for (const k of ['loss', 'samples_per_second']) {
    if (v[k] !== undefined && v[k] !== null && typeof v[k] !== 'number') errors.push(`${where}${k}: expected a number or null, got ${describe(v[k])}`);
  }
  const steps = v.steps;
  let stepCols: TrainingState['steps'] = { step: [], epoch: [], loss: [] };
  if (!isObj(steps)) {
    errors.push(`${where}steps: expected an object {step: [], epoch: [], loss: []}, got ${describe(steps)}`);
  } else {
    const s = steps.step, l = steps.loss, e = steps.epoch;
    if (!Array.isArray(s)) errors.push(`${where}steps.step: expected an array, got ${describe(s)}`);
    if (!Array.isArray(l)) errors.push(`${where}steps.loss: expected an array, got ${describe(l)}`);
    if (e !== undefined && !Array.isArray(e)) errors.push(`${where}steps.epoch: expected an array, got ${describe(e)}`);
    if (Array.isArray(s) && Array.isArray(l)) {
      if (s.length !== l.length) {
        errors.push(`${where}steps: step has ${s.length} points but loss has ${l.length}`);
      } else if (Array.isArray(e) && e.length !== s.length) {
        errors.push(`${where}steps: step has ${s.length} points but epoch has ${e.length}`);
      } else {
        const bad = s.findIndex(x => typeof x !== 'number' || !Number.isFinite(x));
        if (bad >= 0) errors.push(`${where}steps.step[${bad}]: expected a number, got ${describe(s[bad])}`);
        const badL = l.findIndex(x => x !== null && typeof x !== 'number');
        if (badL >= 0) errors.push(`${where}steps.loss[${badL}]: expected a number or null, got ${describe(l[badL])}`);
        stepCols = {
          step: s as number[],
          epoch: Array.isArray(e) ? (e as unknown[]).map(x => (typeof x === 'number' ? x : 0)) : s.map(() => 0),
          loss: (l as unknown[]).map(finiteOrNull)
        };
      }
    }
  }
  const em = v.epoch_metrics;
  const records: EpochRecord[] = [];
  if (em !== undefined && !Array.isArray(em)) {
    errors.push(`${where}epoch_metrics: expected an array, got ${describe(em)}`);
  } else if (Array.isArray(em)) {
    em.forEach((r, i) => {
      if (!isObj(r) || typeof r.epoch !== 'number') {
        errors.push(`${where}epoch_metrics[${i}]: expected {epoch: number, ...}, got ${isObj(r) ? `epoch ${describe(r.epoch)}` : describe(r)}`);
        return;
      }
      records.push({
        epoch: r.epoch,
        step: typeof r.step === 'number' ? r.step : 0,
        loss: finiteOrNull(r.loss),
        test_loss: finiteOrNull(r.test_loss),
        test_accuracy: finiteOrNull(r.test_accuracy),
        test_auc: finiteOrNull(r.test_auc),
        samples_per_second: finiteOrNull(r.samples_per_second)
      });
    });
  }
  if (errors.length > before) return null;
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : '');
  const n = (k: string) => (typeof v[k] === 'number' && Number.isFinite(v[k]) ? (v[k] as number) : 0);
  return {
    version: 1,
    run_id: v.run_id as string,
    engine: str('engine'),
    model: str('model'),
    optimizer: str('optimizer'),
    batch: n('batch'),
    threads: n('threads'),
    epochs: n('epochs'),
    total_steps: n('total_steps'),
    status: v.status as string,
    message: str('message'),
    epoch: n('epoch'),
    step: n('step'),
    loss: finiteOrNull(v.loss),
    samples_per_second: finiteOrNull(v.samples_per_second),
    steps: stepCols,
    epoch_metrics: records,
    started_at: str('started_at'),
    updated_at: str('updated_at'),
    elapsed_seconds: n('elapsed_seconds')
  };
}

/**
 * Validates the MIME payload. Accepts one run (TrainingState), an array of
 * runs, or {version: 1, runs: [...], comparison?: {baseline?, title?}}.
 * Errors are readable sentences naming the field.
 */
export function validate(data: unknown): Validation {
  const errors: string[] = [];
  let rawRuns: unknown[];
  let comparison: Comparison | null = null;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return { ok: false, errors: ['data: a string that is not JSON'] };
    }
  }
  if (Array.isArray(data)) {
    rawRuns = data;
  } else if (isObj(data) && 'runs' in data) {
    const ver = versionError(data.version, '');
    if (ver) return { ok: false, errors: [ver] };
    if (!Array.isArray(data.runs)) return { ok: false, errors: [`runs: expected an array of training runs, got ${describe(data.runs)}`] };
    rawRuns = data.runs;
    if (data.comparison !== undefined && data.comparison !== null) {
      if (!isObj(data.comparison)) return { ok: false, errors: [`comparison: expected an object, got ${describe(data.comparison)}`] };
      const c = data.comparison;
      comparison = {};
      if (typeof c.baseline === 'string') comparison.baseline = c.baseline;
      if (typeof c.title === 'string') comparison.title = c.title;
    }
  } else if (isObj(data)) {
    rawRuns = [data];
  } else {
    return { ok: false, errors: [`data: expected a training run object, got ${describe(data)}`] };
  }
  if (rawRuns.length === 0) return { ok: false, errors: ['runs: no training run in this display'] };
  const runs: TrainingState[] = [];
  const many = rawRuns.length > 1 || !(isObj(data) && !('runs' in data));
  rawRuns.forEach((r, i) => {
    const run = validateRun(r, many ? `runs[${i}].` : '', errors);
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

// The wire format of the training displays: the payload of
// application/vnd.torchclad.training.v1+json, version 1. The one definition:
// kernel-bridge produces it (telemetry.ts), the lab extension reads it
// (lab-extension/src/schema.ts imports these types with `import type`, from
// this package's dist/training-schema.d.ts, so nothing of this file is in the
// extension's bundle). Types only, plus two constants; no imports. The
// documentation of the fields: kernel-bridge/README.md.

export const TRAINING_MIME = "application/vnd.torchclad.training.v1+json";
export const TRAINING_SCHEMA_VERSION = 1;

/** The metrics of one finished epoch. Non-finite numbers are null. */
export interface EpochRecord {
  epoch: number;
  /** The last step of the epoch. */
  step: number;
  /** Mean training loss of the epoch. */
  loss: number | null;
  test_loss: number | null;
  test_accuracy: number | null;
  /**
   * Area under the ROC curve on the test set, for binary classifiers; null
   * when not measured. Optional: older payloads do not have it.
   */
  test_auc?: number | null;
  samples_per_second: number | null;
}

/** One training run: the whole run so far. */
export interface TrainingState {
  version: 1;
  run_id: string;
  engine: string;
  model: string;
  optimizer: string;
  batch: number;
  threads: number;
  epochs: number;
  total_steps: number;
  /** "running", then the end event's status: "finished", "stopped", "failed". */
  status: string;
  message: string;
  epoch: number;
  step: number;
  /** Latest mean loss of the current epoch. */
  loss: number | null;
  samples_per_second: number | null;
  /** Step events, columnar (at most MAX_STEP_POINTS: older points are thinned evenly). */
  steps: { step: number[]; epoch: number[]; loss: (number | null)[] };
  epoch_metrics: EpochRecord[];
  started_at: string;
  updated_at: string;
  elapsed_seconds: number;
}

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

/** At most this many step points per run are sent. */
export const MAX_STEP_POINTS = 2000;

// The payload of application/vnd.torchclad.training.v1+json, and its
// validation: kernel-bridge's one definition (kernel-bridge/src/training-schema.ts),
// re-exported from its built dist/training-schema.js. That file has no
// imports, so the bundle takes it alone: nothing else of kernel-bridge.
// Pure: no DOM, no plotly.
export {
  MAX_STEP_POINTS,
  TRAINING_MIME,
  TRAINING_SCHEMA_VERSION as SCHEMA_VERSION,
  comparisonThroughput,
  comparisonThroughputs,
  throughputBasis,
  validate,
} from '@torchclad/kernel-bridge/dist/training-schema';
export type {
  Comparison,
  EpochRecord,
  Throughput,
  TrainingComparison,
  TrainingDisplay,
  TrainingPayload,
  TrainingState,
  Validation,
} from '@torchclad/kernel-bridge/dist/training-schema';

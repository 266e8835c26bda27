import { TrainingState } from '../schema';

/** A run as kernel-bridge sends it, with `n` step points and `epochs` epoch records. */
export function run(overrides: Partial<TrainingState> = {}, n = 3, epochs = 1): TrainingState {
  const step = Array.from({ length: n }, (_, i) => (i + 1) * 10);
  return {
    version: 1,
    run_id: 'run-4242-1',
    engine: 'clad',
    model: 'mlp-784-64-10',
    optimizer: 'adam',
    batch: 64,
    threads: 1,
    epochs: 5,
    total_steps: 4690,
    status: 'running',
    message: '',
    epoch: 1,
    step: step[n - 1] ?? 0,
    loss: 0.53,
    samples_per_second: 41000,
    steps: { step, epoch: step.map(() => 1), loss: step.map((_, i) => 2.3 / (i + 1)) },
    epoch_metrics: Array.from({ length: epochs }, (_, i) => ({
      epoch: i + 1,
      step: 938 * (i + 1),
      loss: 0.48,
      test_loss: 0.45,
      test_accuracy: 0.84,
      samples_per_second: 40500,
    })),
    started_at: '2025-01-01T12:00:00.000Z',
    updated_at: '2025-01-01T12:00:03.100Z',
    elapsed_seconds: 3.1,
    ...overrides,
  };
}

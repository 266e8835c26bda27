/**
 * What kernel-bridge sends, as this renderer reads it: kernel-bridge's own
 * TelemetryDisplays (its built dist/, no copy) turns telemetry events into
 * display outputs; every payload must validate, and the comparison of two
 * runs of one cell must draw as one figure with a speed-up panel.
 */
import { TelemetryDisplays, TelemetryEvent } from '@torchclad/kernel-bridge/dist/telemetry';
import type { DisplayOptions, ExecutionSink, MimeBundle } from '@torchclad/kernel-bridge/dist/executor';
import { MAX_STEP_POINTS, TRAINING_MIME, validate } from '../schema';
import { buildFigure, speedups } from '../transform';

function record() {
  const outputs: { kind: string; id: string; data: unknown }[] = [];
  const push = (kind: string) => (data: MimeBundle, o?: DisplayOptions) =>
    outputs.push({ kind, id: o?.displayId ?? '', data: data[TRAINING_MIME] });
  const sink: ExecutionSink = {
    stream: () => undefined,
    result: () => undefined,
    display: push('display'),
    updateDisplay: push('update'),
  };
  return { outputs, sink };
}

/** The events of one run of `epochs` epochs of 10 steps, as the host sends them. */
function runEvents(run_id: string, engine: string, sps: number, auc: (e: number) => number | null): TelemetryEvent[] {
  const cfg = {
    run_id,
    engine,
    model: 'cnn-1x256',
    optimizer: 'adam',
    batch: 32,
    threads: 1,
    epochs: 2,
    total_steps: 20,
  };
  const ev: TelemetryEvent[] = [{ kind: 'start', ...cfg }];
  for (let epoch = 1; epoch <= 2; epoch++) {
    for (let s = 1; s <= 10; s++)
      ev.push({ kind: 'step', ...cfg, epoch, step: (epoch - 1) * 10 + s, loss: 1 / s, samples_per_second: sps });
    ev.push({
      kind: 'epoch',
      ...cfg,
      epoch,
      step: epoch * 10,
      loss: 0.3,
      test_loss: 0.35,
      test_accuracy: 0.8 + epoch / 100,
      test_auc: auc(epoch),
      samples_per_second: sps,
    });
  }
  ev.push({ kind: 'end', ...cfg, status: 'finished' });
  return ev;
}

describe("kernel-bridge's displays, read by the renderer", () => {
  test('two runs of one cell: one display whose every output validates; the last is a comparison with a speed-up', () => {
    const { outputs, sink } = record();
    const t = new TelemetryDisplays(0);
    for (const e of [...runEvents('c1', 'clad', 60000, () => null), ...runEvents('a1', 'autograd', 20000, () => null)])
      t.onEvent(e, sink);
    t.flush();
    expect(new Set(outputs.map((o) => o.id))).toEqual(new Set(['torchclad-training-c1']));
    expect(outputs[0].kind).toBe('display');
    for (const o of outputs) {
      const v = validate(o.data);
      expect(v.ok ? [] : v.errors).toEqual([]);
    }
    const v = validate(outputs[outputs.length - 1].data);
    if (!v.ok) throw new Error(v.errors.join('; '));
    expect(v.display.runs.map((r) => [r.run_id, r.engine, r.status])).toEqual([
      ['c1', 'clad', 'finished'],
      ['a1', 'autograd', 'finished'],
    ]);
    expect(v.display.comparison).toEqual({ baseline: 'c1', title: 'clad vs autograd' });
    const fig = buildFigure(v.display);
    expect(fig.title).toBe('clad vs autograd');
    expect(fig.hasSpeedup).toBe(true);
    expect(speedups(v.display)!.values).toEqual([1, 20000 / 60000]);
    // shared axes, one legend group per run
    const trains = fig.data.filter((d) => String(d.uid).endsWith(':train'));
    expect(trains.map((d) => [d.legendgroup, d.xaxis, d.yaxis])).toEqual([
      ['c1', 'x', 'y'],
      ['a1', 'x', 'y'],
    ]);
    // test_auc null throughout (a multi-class model): no AUC traces
    expect(fig.data.some((d) => String(d.uid).endsWith(':auc'))).toBe(false);
  });

  test('a binary classifier: test_auc from the epoch events is drawn with the accuracy against epoch', () => {
    const { outputs, sink } = record();
    const t = new TelemetryDisplays(0);
    for (const e of runEvents('b1', 'clad', 50000, (epoch) => 0.9 + epoch / 100)) t.onEvent(e, sink);
    const v = validate(outputs[outputs.length - 1].data);
    if (!v.ok) throw new Error(v.errors.join('; '));
    expect(v.display.runs[0].epoch_metrics.map((e) => e.test_auc)).toEqual([0.91, 0.92]);
    const fig = buildFigure(v.display);
    const auc = fig.data.find((d) => d.uid === 'b1:auc')!;
    expect(auc).toMatchObject({ x: [1, 2], y: [0.91, 0.92], xaxis: 'x2', yaxis: 'y2' });
    expect(fig.header[0].metrics).toContain('AUC 0.9200');
  });

  test.each([2001, 20000, 200000])(
    'a long run of %i steps: the bridge sends at most MAX_STEP_POINTS, evenly thinned; the renderer draws them all',
    (n) => {
      const { outputs, sink } = record();
      const t = new TelemetryDisplays(1e9); // one display, then updates only for epochs and the end
      const cfg = { run_id: 'long', engine: 'clad', epochs: 1, total_steps: n };
      t.onEvent({ kind: 'start', ...cfg }, sink);
      let most = 0;
      for (let s = 1; s <= n; s++) {
        t.onEvent({ kind: 'step', ...cfg, epoch: 1, step: s, loss: 1 / s }, sink);
        most = Math.max(most, t.state('long')!.steps.step.length);
      }
      t.onEvent({ kind: 'end', ...cfg, epoch: 1, step: n, status: 'finished' }, sink);
      expect(most).toBeLessThanOrEqual(MAX_STEP_POINTS);
      const v = validate(outputs[outputs.length - 1].data);
      if (!v.ok) throw new Error(v.errors.join('; '));
      const steps = v.display.runs[0].steps.step;
      expect(steps.length).toBeLessThanOrEqual(MAX_STEP_POINTS);
      expect(steps.length).toBeGreaterThanOrEqual(MAX_STEP_POINTS / 2);
      expect(steps[0]).toBe(1);
      expect(steps[steps.length - 1]).toBe(n); // the curve ends at the last step
      // evenly thinned over the run: no gap wider than 4x the mean gap
      const gaps = steps.slice(1).map((x, i) => x - steps[i]);
      expect(Math.min(...gaps)).toBeGreaterThan(0);
      expect(Math.max(...gaps)).toBeLessThanOrEqual((4 * (n - 1)) / (steps.length - 1));
      const fig = buildFigure(v.display);
      expect(fig.data.find((d) => d.uid === 'long:train')!.x).toEqual(steps);
      expect(fig.points).toBe(steps.length);
    },
  );
});

import { comparisonThroughput, comparisonThroughputs, validate, TrainingDisplay } from '../schema';
import { buildFigure, formatDuration, headerOf, runLabels, speedups, statusText } from '../transform';
import { run } from './fixtures';

function displayOf(data: unknown): TrainingDisplay {
  const r = validate(data);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.display;
}

describe('points', () => {
  test('every step point of the payload is drawn (the bridge is the layer that thins), in order', () => {
    const n = 2000; // the most the bridge sends per run (MAX_STEP_POINTS)
    const step = Array.from({ length: n }, (_, i) => 1 + 50 * i);
    const r = run({
      steps: { step, epoch: step.map((s) => Math.ceil(s / 20000)), loss: step.map((s) => 2 / Math.sqrt(s)) },
    });
    const fig = buildFigure(displayOf(r));
    const train = fig.data.find((t) => t.uid === 'run-4242-1:train')!;
    expect(train.x).toEqual(step);
    expect((train.y as number[])[n - 1]).toBeCloseTo(2 / Math.sqrt(step[n - 1]), 12);
    expect((train.customdata as number[]).slice(-1)[0]).toBe(5);
    expect(fig.points).toBe(n);
  });
});

describe('figure', () => {
  test('one run: loss vs step (train + test), accuracy and samples/s vs epoch', () => {
    const fig = buildFigure(displayOf(run({}, 3, 2)));
    expect(fig.data.map((t) => t.uid)).toEqual([
      'run-4242-1:train',
      'run-4242-1:test',
      'run-4242-1:acc',
      'run-4242-1:rate',
    ]);
    const [train, test, acc, rate] = fig.data;
    expect(train).toMatchObject({ x: [10, 20, 30], xaxis: 'x', yaxis: 'y', name: 'train loss' });
    expect(test).toMatchObject({ x: [938, 1876], y: [0.45, 0.45], yaxis: 'y' });
    expect(acc).toMatchObject({ x: [1, 2], y: [0.84, 0.84], xaxis: 'x2', yaxis: 'y2' });
    // the running run's live throughput is added at its fractional epoch (30/4690*5 < 2: not after epoch 2)
    expect(rate).toMatchObject({ x: [1, 2], y: [40500, 40500], xaxis: 'x3' });
    expect(fig.hasSpeedup).toBe(false);
    expect(fig.layout.xaxis4).toBeUndefined();
    expect(fig.title).toBe('mlp-784-64-10 · clad');
  });

  test('the live throughput point of a running run', () => {
    const fig = buildFigure(displayOf(run({ step: 2345, samples_per_second: 39000 }, 3, 1)));
    const rate = fig.data.find((t) => t.uid === 'run-4242-1:rate')!;
    expect(rate.x).toEqual([1, 2.5]);
    expect(rate.y).toEqual([40500, 39000]);
    const done = buildFigure(displayOf(run({ step: 2345, status: 'finished' }, 3, 1)));
    expect(done.data.find((t) => t.uid === 'run-4242-1:rate')!.x).toEqual([1]);
  });

  test('log-scale toggle', () => {
    const d = displayOf(run());
    expect((buildFigure(d).layout.yaxis as Record<string, unknown>).type).toBe('linear');
    expect((buildFigure(d, { logY: true }).layout.yaxis as Record<string, unknown>).type).toBe('log');
  });

  test('AUC traces only when some epoch has an AUC', () => {
    const r = run({}, 3, 2);
    r.epoch_metrics[1].test_auc = 0.91;
    const fig = buildFigure(displayOf(r));
    const auc = fig.data.find((t) => t.uid === 'run-4242-1:auc')!;
    expect(auc.y).toEqual([null, 0.91]);
    expect((fig.layout.yaxis2 as { title: { text: string } }).title.text).toMatch(/AUC/);
    expect(headerOf(displayOf(r).runs[0], 'clad', '#000').metrics).toContain('AUC 0.9100');
  });

  test('theme colours reach the layout', () => {
    const theme = { background: '#111', paper: '#222', font: '#eee', fontFamily: 'X', grid: '#333', palette: ['#abc'] };
    const fig = buildFigure(displayOf(run()), { theme });
    expect(fig.layout).toMatchObject({
      paper_bgcolor: '#222',
      plot_bgcolor: '#111',
      font: { color: '#eee', family: 'X' },
    });
    expect((fig.layout.xaxis as Record<string, unknown>).gridcolor).toBe('#333');
    expect((fig.data[0].line as Record<string, unknown>).color).toBe('#abc');
  });

  test('trace identity is stable across updates (Plotly.react updates in place)', () => {
    const a = buildFigure(displayOf(run({}, 3, 1)));
    const b = buildFigure(displayOf(run({}, 30, 2)));
    expect(b.data.map((t) => t.uid)).toEqual(a.data.map((t) => t.uid));
    expect(b.layout.uirevision).toBe(a.layout.uirevision);
  });
});

describe('multi-run merge', () => {
  const clad = run({ run_id: 'r1', engine: 'clad', samples_per_second: 60000 }, 5, 2);
  clad.epoch_metrics.forEach((e) => (e.samples_per_second = 60000));
  const torch = run({ run_id: 'r2', engine: 'libtorch', samples_per_second: 30000 }, 4, 2);
  torch.epoch_metrics.forEach((e) => (e.samples_per_second = 30000));

  test('runs share the axes, one colour and legend group per run', () => {
    const fig = buildFigure(displayOf([clad, torch]));
    const trains = fig.data.filter((t) => String(t.uid).endsWith(':train'));
    expect(trains.map((t) => t.name)).toEqual(['clad train loss', 'libtorch train loss']);
    expect(trains.every((t) => t.xaxis === 'x' && t.yaxis === 'y')).toBe(true);
    expect(trains.map((t) => t.legendgroup)).toEqual(['r1', 'r2']);
    const colours = trains.map((t) => (t.line as { color: string }).color);
    expect(colours[0]).not.toBe(colours[1]);
    expect(fig.header.map((h) => h.color)).toEqual(colours);
    expect(fig.layout.showlegend).toBe(true);
    expect(fig.title).toBe('2 runs: mlp-784-64-10');
  });

  test('layout: the legend is one row, the accuracy axis spans the data (not from 0), epochs have whole ticks', () => {
    const fig = buildFigure(displayOf([clad, torch]));
    const legend = fig.layout.legend as Record<string, unknown>;
    // with legend groups plotly's default ('grouped') stacks each group's items in a column
    expect(legend.orientation).toBe('h');
    expect(legend.traceorder).toBe('normal');
    const y2 = fig.layout.yaxis2 as Record<string, unknown>;
    expect(y2.rangemode).toBeUndefined();
    expect((fig.layout.xaxis2 as Record<string, unknown>).dtick).toBe(1);
    expect((fig.layout.xaxis3 as Record<string, unknown>).dtick).toBe(1);
    expect((fig.layout.yaxis3 as Record<string, unknown>).rangemode).toBe('tozero');
  });

  test('labels: engine when distinct, else engine and run id', () => {
    expect(runLabels(displayOf([clad, torch]).runs)).toEqual(['clad', 'libtorch']);
    expect(runLabels(displayOf([clad, { ...torch, engine: 'clad' }]).runs)).toEqual(['clad r1', 'clad r2']);
  });

  test('speed-up figure for a comparison of engines (baseline: first run)', () => {
    const fig = buildFigure(displayOf([clad, torch]));
    expect(fig.hasSpeedup).toBe(true);
    const bar = fig.data.find((t) => t.uid === 'speedup')!;
    expect(bar).toMatchObject({
      type: 'bar',
      x: ['clad', 'libtorch'],
      y: [1, 0.5],
      text: ['1.00×', '0.50×'],
      xaxis: 'x4',
    });
    expect((fig.layout.yaxis4 as { title: { text: string } }).title.text).toBe('speed-up vs clad');
  });

  test('the comparison names the baseline', () => {
    const sp = speedups(
      displayOf({ version: 1, runs: [clad, torch], comparison: { baseline: 'r2', title: 'MNIST' } }),
    )!;
    expect(sp.baseline).toBe('libtorch');
    expect(sp.values).toEqual([2, 1]);
    expect(buildFigure(displayOf({ version: 1, runs: [clad, torch], comparison: { title: 'MNIST' } })).title).toBe(
      'MNIST',
    );
  });

  test('no speed-up for one run, or for runs of one engine without a comparison', () => {
    expect(speedups(displayOf(clad))).toBeNull();
    expect(speedups(displayOf([clad, { ...torch, engine: 'clad' }]))).toBeNull();
    expect(
      speedups(displayOf({ version: 1, runs: [clad, { ...torch, engine: 'clad' }], comparison: {} })),
    ).not.toBeNull();
  });

  test('throughput: median of the epochs after the first (warm-up), else epoch 1, else live; unknown -> null', () => {
    expect(comparisonThroughput(displayOf(clad).runs[0])).toEqual({ value: 60000, steady: true });
    // a cold first epoch does not count once there are later ones
    const warm = run({ run_id: 'w', engine: 'autograd' }, 3, 4);
    [10000, 50000, 30000, 40000].forEach((v, i) => (warm.epoch_metrics[i].samples_per_second = v));
    expect(comparisonThroughput(displayOf(warm).runs[0])).toEqual({ value: 40000, steady: true });
    const sp = speedups(displayOf([clad, warm]))!;
    expect(sp.values).toEqual([1, 40000 / 60000]);
    expect(sp.steady).toBe(true);
    expect(sp.basis).toMatch(/epochs 2 and later/);
    expect(buildFigure(displayOf([clad, warm])).layout.annotations).toContainEqual(
      expect.objectContaining({ text: '<b>speed-up · steady state</b>' }),
    );
    // one epoch: that epoch, flagged as including the warm-up
    const one = run({ run_id: 'o', engine: 'x' }, 3, 1);
    expect(comparisonThroughput(displayOf(one).runs[0])).toEqual({ value: 40500, steady: false });
    // like with like: a one-epoch run puts every run on its first epoch, not
    // one run's steady state against the other's warm-up
    const mixed = displayOf([warm, one]);
    expect(comparisonThroughputs(mixed.runs)).toEqual([
      { value: 10000, steady: false },
      { value: 40500, steady: false },
    ]);
    const msp = speedups(mixed)!;
    expect(msp.values).toEqual([1, 40500 / 10000]);
    expect(msp.steady).toBe(false);
    expect(msp.basis).toMatch(/first epoch of every run, warm-up included/);
    expect(buildFigure(mixed).layout.annotations).toContainEqual(
      expect.objectContaining({ text: '<b>speed-up · incl. warm-up</b>' }),
    );
    const fresh = run({ run_id: 'r3', engine: 'x', samples_per_second: null }, 1, 0);
    expect(comparisonThroughput(displayOf(fresh).runs[0]).value).toBeNull();
    // a run with no figure yet leaves the others on their steady state
    const withFresh = speedups(displayOf([clad, warm, fresh]))!;
    expect(withFresh.values).toEqual([1, 40000 / 60000, null]);
    expect(withFresh.steady).toBe(true);
    expect(withFresh.basis).toMatch(/epochs 2 and later/);
    // a first epoch without a rate is n/a, not the run's live (steady) rate
    const noRate = run({ run_id: 'n', engine: 'y', samples_per_second: 55000 }, 3, 1);
    noRate.epoch_metrics[0].samples_per_second = null;
    expect(comparisonThroughputs(displayOf([one, noRate]).runs)[1]).toEqual({ value: null, steady: false });
  });

  test('10 runs x 2,000 steps: every point of every run drawn', () => {
    const step = Array.from({ length: 2000 }, (_, i) => i + 1);
    const runs = Array.from({ length: 10 }, (_, k) =>
      run({
        run_id: `r${k}`,
        engine: `e${k}`,
        steps: { step, epoch: step.map(() => 1), loss: step.map((s) => 1 / s + k) },
      }),
    );
    const fig = buildFigure(displayOf(runs));
    for (const t of fig.data.filter((t) => String(t.uid).endsWith(':train'))) expect(t.x).toEqual(step);
    expect(fig.points).toBe(20000);
  });
});

describe('status text and header', () => {
  test('running', () => {
    expect(statusText(run({ epoch: 1, step: 120 }))).toBe('running: epoch 1/5, step 120/4690 (2.6%) (3.1 s)');
    expect(statusText(run({ epochs: 0, total_steps: 0, step: 0, epoch: 0, elapsed_seconds: 0 }))).toBe(
      'running (0.0 s)',
    );
  });

  test('finished', () => {
    expect(statusText(run({ status: 'finished', epoch: 5, step: 4690, elapsed_seconds: 83 }))).toBe(
      'finished in 1 min 23 s: 5 epochs, 4690 steps',
    );
  });

  test('stopped', () => {
    expect(statusText(run({ status: 'stopped', epoch: 2, step: 1000 }))).toBe(
      'stopped at epoch 2/5, step 1000/4690 (21.3%) (interrupted)',
    );
  });

  test('failed, with the reason', () => {
    expect(statusText(run({ status: 'failed', epoch: 1, step: 5, message: 'loss is not finite' }))).toBe(
      'failed at epoch 1/5, step 5/4690 (0.1%): loss is not finite',
    );
  });

  test('an unknown status is shown as is', () => {
    expect(statusText(run({ status: 'paused', epochs: 0, total_steps: 0, step: 7 }))).toBe('paused: epoch 1, step 7');
  });

  test('header: model, engine, optimizer, batch, threads, status and metrics', () => {
    const h = headerOf(run({ threads: 4 }), 'clad', '#123');
    expect(h).toMatchObject({
      runId: 'run-4242-1',
      config: 'mlp-784-64-10 · clad · adam · batch 64 · 4 threads',
      status: 'running',
      metrics: 'loss 0.5300 · test loss 0.4500 · test acc 84.00% · 41,000 samples/s',
    });
    expect(headerOf(run({ status: 'weird' }), 'x', '#000').status).toBe('unknown');
    expect(headerOf(run({ loss: null, samples_per_second: null }, 1, 0), 'x', '#000').metrics).toBe('loss n/a');
  });

  test('durations', () => {
    expect(formatDuration(3.14)).toBe('3.1 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(3 * 3600 + 120)).toBe('3 h 2 min');
    expect(formatDuration(NaN)).toBe('');
  });
});

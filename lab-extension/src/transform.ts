// Telemetry -> plotly figure, header and status text.
//
// Pure: no DOM, no plotly import. The renderer (index.ts) reads the theme
// from JupyterLab's CSS variables, calls buildFigure, and hands the result to
// Plotly.react. Every step point of the payload is drawn: kernel-bridge is
// the one layer that thins points (at most MAX_STEP_POINTS per run cross the
// wire, see kernel-bridge/src/telemetry.ts), so there is no downsampling here.
import { TrainingDisplay, TrainingState, comparisonThroughputs, throughputBasis } from './schema';

/* ------------------------------------------------------------ status text */

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - 60 * m);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatNumber(v: number | null, digits = 4): string {
  if (v === null || !Number.isFinite(v)) return 'n/a';
  return v.toFixed(digits);
}

export function formatRate(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return 'n/a';
  return `${Math.round(v).toLocaleString('en-US')} samples/s`;
}

export type StatusKind = 'running' | 'finished' | 'stopped' | 'failed' | 'unknown';

export function statusKind(status: string): StatusKind {
  switch (status) {
    case 'running':
    case 'finished':
    case 'stopped':
    case 'failed':
      return status;
    default:
      return 'unknown';
  }
}

function progress(r: TrainingState): string {
  const parts: string[] = [];
  if (r.epochs) parts.push(`epoch ${r.epoch}/${r.epochs}`);
  else if (r.epoch) parts.push(`epoch ${r.epoch}`);
  if (r.total_steps) parts.push(`step ${r.step}/${r.total_steps} (${((100 * r.step) / r.total_steps).toFixed(1)}%)`);
  else if (r.step) parts.push(`step ${r.step}`);
  return parts.join(', ');
}

/**
 * One line on the state of a run, e.g. "running: epoch 1/5, step 120/4690
 * (2.6%)", "finished in 12.3 s: 5 epochs, 4690 steps",
 * "stopped at epoch 2/5, step 1000/4690 (21.3%)", "failed at step 5: loss is NaN".
 */
export function statusText(r: TrainingState): string {
  const where = progress(r);
  const took = formatDuration(r.elapsed_seconds);
  switch (statusKind(r.status)) {
    case 'running':
      return `running${where ? `: ${where}` : ''}${took ? ` (${took})` : ''}`;
    case 'finished': {
      const what = [r.epochs ? plural(r.epochs, 'epoch') : '', r.step ? plural(r.step, 'step') : '']
        .filter(Boolean)
        .join(', ');
      return `finished${took ? ` in ${took}` : ''}${what ? `: ${what}` : ''}`;
    }
    case 'stopped':
      return `stopped${where ? ` at ${where}` : ''}${r.message ? `: ${r.message}` : ' (interrupted)'}`;
    case 'failed':
      return `failed${where ? ` at ${where}` : ''}${r.message ? `: ${r.message}` : ''}`;
    default:
      return `${r.status || 'unknown status'}${where ? `: ${where}` : ''}`;
  }
}

export interface HeaderRun {
  runId: string;
  label: string;
  color: string;
  /** "mlp-784-64-10 · clad · adam · batch 64 · 1 thread" */
  config: string;
  status: StatusKind;
  statusText: string;
  /** "loss 0.5300 · test acc 84.00% · 41,000 samples/s" */
  metrics: string;
  message: string;
}

export function headerOf(r: TrainingState, label: string, color: string): HeaderRun {
  const config = [
    r.model,
    r.engine,
    r.optimizer,
    r.batch ? `batch ${r.batch}` : '',
    r.threads ? plural(r.threads, 'thread') : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const last = r.epoch_metrics[r.epoch_metrics.length - 1];
  const metrics = [`loss ${formatNumber(r.loss)}`];
  if (last && last.test_loss !== null) metrics.push(`test loss ${formatNumber(last.test_loss)}`);
  if (last && last.test_accuracy !== null) metrics.push(`test acc ${(100 * last.test_accuracy).toFixed(2)}%`);
  if (last && last.test_auc !== null && last.test_auc !== undefined) metrics.push(`AUC ${last.test_auc.toFixed(4)}`);
  if (r.samples_per_second !== null) metrics.push(formatRate(r.samples_per_second));
  const kind = statusKind(r.status);
  return {
    runId: r.run_id,
    label,
    color,
    config,
    status: kind,
    statusText: statusText(r),
    metrics: metrics.join(' · '),
    message: kind === 'failed' || kind === 'stopped' ? '' : r.message,
  };
}

/* ------------------------------------------------------------ figure */

export interface Theme {
  background: string;
  paper: string;
  font: string;
  fontFamily: string;
  grid: string;
  /** Trace colours, one per run. */
  palette: string[];
}

export const DEFAULT_THEME: Theme = {
  background: '#ffffff',
  paper: '#ffffff',
  font: 'rgba(0, 0, 0, 0.87)',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif',
  grid: '#e0e0e0',
  palette: [
    '#1f77b4',
    '#ff7f0e',
    '#2ca02c',
    '#d62728',
    '#9467bd',
    '#8c564b',
    '#e377c2',
    '#7f7f7f',
    '#bcbd22',
    '#17becf',
  ],
};

export interface FigureOptions {
  logY?: boolean;
  theme?: Theme;
  /** Plot height in px. */
  height?: number;
}

/** A plotly trace / layout, kept as plain data. */
export type Trace = Record<string, unknown>;

export interface Figure {
  data: Trace[];
  layout: Record<string, unknown>;
  header: HeaderRun[];
  title: string;
  /** Whether the speed-up panel is drawn. */
  hasSpeedup: boolean;
  /** Step points drawn, over all runs: every point of the payload. */
  points: number;
}

/** Legend labels: the engine when engines tell runs apart, else engine and run id. */
export function runLabels(runs: TrainingState[]): string[] {
  if (runs.length === 1) return [runs[0].engine || runs[0].run_id];
  const engines = runs.map((r) => r.engine);
  const distinct = new Set(engines).size === runs.length && engines.every(Boolean);
  return runs.map((r) => (distinct ? r.engine : [r.engine, r.run_id].filter(Boolean).join(' ')));
}

export interface Speedup {
  baseline: string;
  /** How the throughputs were measured (schema's throughputBasis), and whether every run's excludes warm-up. */
  basis: string;
  steady: boolean;
  labels: string[];
  runIds: string[];
  values: (number | null)[];
}

/**
 * Speed-up of each run's throughput (comparisonThroughputs: steady state when
 * every run has it, else every run's first epoch) over the baseline's; null when there is
 * no comparison (one run, and no `comparison` field with several runs of
 * different engines).
 */
export function speedups(display: TrainingDisplay): Speedup | null {
  const { runs, comparison } = display;
  if (runs.length < 2) return null;
  const engines = new Set(runs.map((r) => r.engine));
  if (!comparison && engines.size < 2) return null;
  const base = runs.find((r) => r.run_id === comparison?.baseline) ?? runs[0];
  const rates = comparisonThroughputs(runs);
  const bt = rates[runs.indexOf(base)].value;
  const labels = runLabels(runs);
  return {
    baseline: labels[runs.indexOf(base)],
    basis: throughputBasis(runs),
    steady: rates.some((t) => t.steady),
    labels,
    runIds: runs.map((r) => r.run_id),
    values: rates.map(({ value: t }) => (t !== null && bt !== null && bt > 0 ? t / bt : null)),
  };
}

function axis(theme: Theme, title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: { text: title, font: { size: 11 } },
    gridcolor: theme.grid,
    zerolinecolor: theme.grid,
    linecolor: theme.grid,
    automargin: true,
    ...extra,
  };
}

function panelTitle(text: string, x: number, y: number): Record<string, unknown> {
  return {
    text: `<b>${text}</b>`,
    x,
    y,
    xref: 'paper',
    yref: 'paper',
    xanchor: 'left',
    yanchor: 'bottom',
    showarrow: false,
    font: { size: 12 },
  };
}

/**
 * The whole figure for a display: loss vs step (train per step, test per
 * epoch), accuracy/AUC vs epoch, samples/s vs epoch, and the speed-up bars
 * when runs are compared. Runs share axes; one colour and legend group per run.
 */
export function buildFigure(display: TrainingDisplay, opts: FigureOptions = {}): Figure {
  const theme = opts.theme ?? DEFAULT_THEME;
  const { runs } = display;
  const labels = runLabels(runs);
  const colour = (i: number) => theme.palette[i % theme.palette.length];
  const multi = runs.length > 1;
  const data: Trace[] = [];
  let points = 0;
  const hasAuc = runs.some((r) => r.epoch_metrics.some((e) => e.test_auc !== null && e.test_auc !== undefined));

  runs.forEach((r, i) => {
    const c = colour(i);
    const group = r.run_id;
    const name = (what: string) => (multi ? `${labels[i]} ${what}` : what);
    // train loss per step: every point the bridge sent
    points += r.steps.step.length;
    data.push({
      type: 'scatter',
      mode: 'lines',
      uid: `${r.run_id}:train`,
      name: name('train loss'),
      legendgroup: group,
      x: r.steps.step,
      y: r.steps.loss,
      customdata: r.steps.epoch,
      line: { color: c, width: 1.5 },
      connectgaps: false,
      hovertemplate: `${name('train loss')}<br>step %{x}, epoch %{customdata}<br>loss %{y:.4f}<extra></extra>`,
      xaxis: 'x',
      yaxis: 'y',
    });
    const em = r.epoch_metrics;
    // test loss per epoch, at the epoch's last step
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      uid: `${r.run_id}:test`,
      name: name('test loss'),
      legendgroup: group,
      x: em.map((e) => e.step),
      y: em.map((e) => e.test_loss),
      customdata: em.map((e) => e.epoch),
      line: { color: c, width: 2, dash: 'dash' },
      marker: { color: c, size: 6, symbol: 'circle-open' },
      hovertemplate: `${name('test loss')}<br>step %{x}, epoch %{customdata}<br>loss %{y:.4f}<extra></extra>`,
      xaxis: 'x',
      yaxis: 'y',
    });
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      uid: `${r.run_id}:acc`,
      name: name('test accuracy'),
      legendgroup: group,
      showlegend: false,
      x: em.map((e) => e.epoch),
      y: em.map((e) => e.test_accuracy),
      line: { color: c, width: 2 },
      marker: { color: c, size: 6 },
      hovertemplate: `${name('test accuracy')}<br>epoch %{x}<br>%{y:.2%}<extra></extra>`,
      xaxis: 'x2',
      yaxis: 'y2',
    });
    if (hasAuc) {
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        uid: `${r.run_id}:auc`,
        name: name('test AUC'),
        legendgroup: group,
        showlegend: false,
        x: em.map((e) => e.epoch),
        y: em.map((e) => (e.test_auc === undefined ? null : e.test_auc)),
        line: { color: c, width: 2, dash: 'dot' },
        marker: { color: c, size: 6, symbol: 'diamond' },
        hovertemplate: `${name('test AUC')}<br>epoch %{x}<br>%{y:.4f}<extra></extra>`,
        xaxis: 'x2',
        yaxis: 'y2',
      });
    }
    // samples/s per epoch, plus the live value of a running run at its fractional epoch
    const tx: number[] = em.map((e) => e.epoch);
    const ty: (number | null)[] = em.map((e) => e.samples_per_second);
    if (r.status === 'running' && r.samples_per_second !== null && r.epochs > 0 && r.total_steps > 0) {
      const at = (r.step / r.total_steps) * r.epochs;
      if (tx.length === 0 || at > tx[tx.length - 1]) {
        tx.push(Number(at.toFixed(3)));
        ty.push(r.samples_per_second);
      }
    }
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      uid: `${r.run_id}:rate`,
      name: name('samples/s'),
      legendgroup: group,
      showlegend: false,
      x: tx,
      y: ty,
      line: { color: c, width: 2 },
      marker: { color: c, size: 6 },
      hovertemplate: `${name('samples/s')}<br>epoch %{x}<br>%{y:,.0f} samples/s<extra></extra>`,
      xaxis: 'x3',
      yaxis: 'y3',
    });
  });

  const sp = speedups(display);
  if (sp) {
    data.push({
      type: 'bar',
      uid: 'speedup',
      name: `speed-up vs ${sp.baseline}`,
      showlegend: false,
      x: sp.labels,
      y: sp.values,
      marker: { color: runs.map((_, i) => colour(i)) },
      text: sp.values.map((v) => (v === null ? 'n/a' : `${v.toFixed(2)}×`)),
      textposition: 'auto',
      hovertemplate: `%{x}<br>%{text} vs ${sp.baseline}<br>${sp.basis}<extra></extra>`,
      xaxis: 'x4',
      yaxis: 'y4',
    });
  }

  // Layout: loss (top, full width); accuracy | samples/s | speed-up below.
  const gap = 0.06;
  const bottomPanels = sp ? 3 : 2;
  const w = (1 - gap * (bottomPanels - 1)) / bottomPanels;
  const dom = (k: number): [number, number] => [k * (w + gap), k * (w + gap) + w];
  const topY: [number, number] = [0.6, 1];
  const botY: [number, number] = [0, 0.37];
  const first = runs[0];
  const title =
    display.comparison?.title ||
    (multi
      ? `${runs.length} runs: ${[...new Set(runs.map((r) => r.model).filter(Boolean))].join(', ')}`
      : [first.model, first.engine].filter(Boolean).join(' · '));
  const layout: Record<string, unknown> = {
    height: opts.height ?? 560,
    autosize: true,
    margin: { l: 56, r: 16, t: 28, b: 48 },
    paper_bgcolor: theme.paper,
    plot_bgcolor: theme.background,
    font: { color: theme.font, family: theme.fontFamily, size: 11 },
    hovermode: 'closest',
    showlegend: true,
    // one row: 'normal' order (with legend groups plotly's default, 'grouped', stacks each group's items vertically)
    legend: {
      orientation: 'h',
      traceorder: 'normal',
      x: 0,
      y: 1.01,
      yanchor: 'bottom',
      xanchor: 'left',
      bgcolor: 'rgba(0,0,0,0)',
      font: { size: 11 },
    },
    uirevision: runs.map((r) => r.run_id).join('|'),
    xaxis: axis(theme, 'step', { domain: [0, 1], anchor: 'y', rangemode: 'tozero' }),
    yaxis: axis(theme, opts.logY ? 'loss (log)' : 'loss', {
      domain: topY,
      anchor: 'x',
      type: opts.logY ? 'log' : 'linear',
      uirevision: opts.logY ? 'log' : 'linear',
      exponentformat: 'power',
    }),
    // epochs: whole-number ticks, no empty epoch 0; accuracy: the range of the data (from 0 it would be a flat line at the top)
    xaxis2: axis(theme, 'epoch', { domain: dom(0), anchor: 'y2', dtick: 1 }),
    yaxis2: axis(theme, hasAuc ? 'test accuracy / AUC' : 'test accuracy', {
      domain: botY,
      anchor: 'x2',
      tickformat: '.1%',
    }),
    xaxis3: axis(theme, 'epoch', { domain: dom(1), anchor: 'y3', dtick: 1 }),
    yaxis3: axis(theme, 'samples/s', { domain: botY, anchor: 'x3', rangemode: 'tozero', tickformat: '~s' }),
    annotations: [
      panelTitle('loss', 0, topY[1] - 0.005),
      panelTitle(hasAuc ? 'accuracy / AUC' : 'accuracy', dom(0)[0], botY[1] + 0.01),
      panelTitle('throughput', dom(1)[0], botY[1] + 0.01),
    ],
  };
  // the legend sits above the top panel; move the loss title inside the plot
  (layout.annotations as Record<string, unknown>[])[0] = { ...panelTitle('loss', 0.005, topY[1]), yanchor: 'top' };
  if (sp) {
    layout.xaxis4 = axis(theme, '', { domain: dom(2), anchor: 'y4', type: 'category' });
    layout.yaxis4 = axis(theme, `speed-up vs ${sp.baseline}`, {
      domain: botY,
      anchor: 'x4',
      rangemode: 'tozero',
      ticksuffix: '×',
    });
    (layout.annotations as Record<string, unknown>[]).push(
      panelTitle(sp.steady ? 'speed-up · steady state' : 'speed-up · incl. warm-up', dom(2)[0], botY[1] + 0.01),
    );
  }
  return {
    data,
    layout,
    header: runs.map((r, i) => headerOf(r, labels[i], colour(i))),
    title,
    hasSpeedup: sp !== null,
    points,
  };
}

/** The text of the error box for an invalid payload. */
export function errorText(errors: string[]): string {
  const shown = errors.slice(0, 8);
  const more = errors.length > shown.length ? [`... and ${errors.length - shown.length} more`] : [];
  return ['Cannot draw this torchclad training display:', ...shown.map((e) => `• ${e}`), ...more].join('\n');
}

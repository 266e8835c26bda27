// JupyterLab MIME renderer for application/vnd.torchclad.training.v1+json.
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import type * as PlotlyModule from 'plotly.js-dist-min';
import { TRAINING_MIME, TrainingDisplay, validate } from './schema';
import { rootRendererFactory } from './root-renderer';
import { DEFAULT_THEME, HeaderRun, Theme, buildFigure, errorText } from './transform';

export { TRAINING_MIME };

/** The CSS class of the renderer (tests select on it). */
export const CLASS_NAME = 'torchclad-training';

type Plotly = typeof PlotlyModule;
let plotlyPromise: Promise<Plotly> | null = null;

/** plotly.js is loaded on first use, as its own chunk. */
function loadPlotly(): Promise<Plotly> {
  if (!plotlyPromise) {
    plotlyPromise = import(/* webpackChunkName: "plotly" */ 'plotly.js-dist-min').then(
      (m) => ((m as unknown as { default?: Plotly }).default ?? m) as Plotly,
    );
  }
  return plotlyPromise;
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v || fallback;
}

/** The plot's colours from JupyterLab's theme variables. */
function themeOf(node: HTMLElement): Theme {
  const s = getComputedStyle(node);
  const palette = [1, 2, 3, 4, 5, 6, 7].map((i) => cssVar(s, `--torchclad-trace-color${i}`, ''));
  return {
    background: cssVar(s, '--jp-layout-color0', DEFAULT_THEME.background),
    paper: cssVar(s, '--jp-layout-color0', DEFAULT_THEME.paper),
    font: cssVar(s, '--jp-ui-font-color1', DEFAULT_THEME.font),
    fontFamily: cssVar(s, '--jp-ui-font-family', DEFAULT_THEME.fontFamily),
    grid: cssVar(s, '--jp-border-color2', DEFAULT_THEME.grid),
    palette: palette.every(Boolean) ? palette : DEFAULT_THEME.palette,
  };
}

export class TrainingRenderer extends Widget implements IRenderMime.IRenderer {
  private readonly mimeType: string;
  private readonly headerNode: HTMLDivElement;
  private readonly plotNode: HTMLDivElement;
  private readonly errorNode: HTMLPreElement;
  private readonly logToggle: HTMLInputElement;
  private display: TrainingDisplay | null = null;
  private plotted = false;
  private themeKey = '';
  private resizeObserver: ResizeObserver | null = null;
  private themeObserver: MutationObserver | null = null;
  private pending: Promise<void> = Promise.resolve();

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.mimeType = options.mimeType;
    this.addClass(CLASS_NAME);
    const bar = document.createElement('div');
    bar.className = 'torchclad-training-bar';
    this.headerNode = document.createElement('div');
    this.headerNode.className = 'torchclad-training-header';
    const controls = document.createElement('label');
    controls.className = 'torchclad-training-controls';
    this.logToggle = document.createElement('input');
    this.logToggle.type = 'checkbox';
    this.logToggle.className = 'torchclad-training-log';
    this.logToggle.title = 'Draw the loss on a log scale';
    this.logToggle.addEventListener('change', () => void this.draw());
    controls.append(this.logToggle, document.createTextNode(' log-scale loss'));
    bar.append(this.headerNode, controls);
    this.plotNode = document.createElement('div');
    this.plotNode.className = 'torchclad-training-plot';
    this.errorNode = document.createElement('pre');
    this.errorNode.className = 'torchclad-training-error';
    this.errorNode.hidden = true;
    this.node.append(bar, this.plotNode, this.errorNode);
  }

  /** Called for the first output and again for every update_display_data of it. */
  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const result = validate(model.data[this.mimeType]);
    if (!result.ok) {
      this.showError(errorText(result.errors));
      return Promise.resolve();
    }
    this.display = result.display;
    return this.draw();
  }

  private showError(text: string): void {
    this.errorNode.textContent = text;
    this.errorNode.hidden = false;
    this.node.classList.add('torchclad-training-invalid');
  }

  private renderHeader(runs: HeaderRun[], title: string): void {
    const h = this.headerNode;
    h.textContent = '';
    if (runs.length > 1) {
      const t = document.createElement('div');
      t.className = 'torchclad-training-title';
      t.textContent = title;
      h.append(t);
    }
    for (const r of runs) {
      const row = document.createElement('div');
      row.className = 'torchclad-training-run';
      row.dataset.runId = r.runId;
      const swatch = document.createElement('span');
      swatch.className = 'torchclad-training-swatch';
      swatch.style.background = r.color;
      const badge = document.createElement('span');
      badge.className = `torchclad-training-status torchclad-status-${r.status}`;
      badge.textContent = r.status === 'unknown' ? 'status?' : r.status;
      const config = document.createElement('span');
      config.className = 'torchclad-training-config';
      config.textContent = `${r.runId}${r.config ? ` · ${r.config}` : ''}`;
      const status = document.createElement('span');
      status.className = 'torchclad-training-statustext';
      status.textContent = r.statusText;
      const metrics = document.createElement('span');
      metrics.className = 'torchclad-training-metrics';
      metrics.textContent = r.metrics;
      // two lines per run, the same for every run: what ran, then how it went
      const detail = document.createElement('div');
      detail.className = 'torchclad-training-detail';
      detail.append(status, metrics);
      row.append(swatch, badge, config, detail);
      if (r.message) {
        const m = document.createElement('span');
        m.className = 'torchclad-training-message';
        m.textContent = r.message;
        detail.append(m);
      }
      h.append(row);
    }
  }

  /** Draws (first time) or updates in place (Plotly.react), serialised. */
  private draw(): Promise<void> {
    this.pending = this.pending
      .then(() => this.drawNow())
      .catch((err) => {
        this.showError(
          `Cannot draw this torchclad training display: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
    return this.pending;
  }

  private async drawNow(): Promise<void> {
    const display = this.display;
    if (!display || this.isDisposed) return;
    const theme = themeOf(this.node);
    this.themeKey = JSON.stringify(theme);
    const fig = buildFigure(display, { logY: this.logToggle.checked, theme });
    this.errorNode.hidden = true;
    this.node.classList.remove('torchclad-training-invalid');
    this.renderHeader(fig.header, fig.title);
    // drawn/received: equal, the renderer draws every point (the bridge thins)
    this.node.dataset.points = `${fig.points}/${fig.points}`;
    const Plotly = await loadPlotly();
    if (this.isDisposed) return;
    const config = {
      responsive: false, // ResizeObserver below
      displaylogo: false,
      modeBarButtonsToRemove: ['select2d', 'lasso2d'],
      toImageButtonOptions: {
        format: 'png',
        filename: `torchclad-${display.runs.map((r) => r.run_id).join('_')}`,
        scale: 2,
      },
    };
    if (!this.plotted) {
      await Plotly.newPlot(this.plotNode, fig.data, fig.layout, config);
      this.plotted = true;
      this.observe(Plotly);
    } else {
      await Plotly.react(this.plotNode, fig.data, fig.layout, config);
    }
  }

  private observe(Plotly: Plotly): void {
    if (typeof ResizeObserver !== 'undefined' && !this.resizeObserver) {
      let width = 0;
      this.resizeObserver = new ResizeObserver((entries) => {
        const w = Math.round(entries[0]?.contentRect.width ?? 0);
        if (w > 0 && w !== width && this.plotted && !this.isDisposed) {
          width = w;
          void Plotly.Plots.resize(this.plotNode);
        }
      });
      this.resizeObserver.observe(this.plotNode);
    }
    // JupyterLab switches themes by changing data-jp-theme-name on <body>.
    if (typeof MutationObserver !== 'undefined' && !this.themeObserver) {
      this.themeObserver = new MutationObserver(() => {
        if (JSON.stringify(themeOf(this.node)) !== this.themeKey) void this.draw();
      });
      this.themeObserver.observe(document.body, {
        attributes: true,
        attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light'],
      });
    }
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.resizeObserver?.disconnect();
    this.themeObserver?.disconnect();
    if (this.plotted) void loadPlotly().then((P) => P.purge(this.plotNode));
    super.dispose();
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [TRAINING_MIME],
  defaultRank: 50,
  createRenderer: (options) => new TrainingRenderer(options),
};

const extension: IRenderMime.IExtension = {
  id: '@torchclad/lab-extension:training',
  rendererFactory,
  rank: 50,
  dataType: 'json',
};

/** ROOT objects (canvases, histograms, graphs) drawn by JSROOT: root-renderer.ts. */
const rootExtension: IRenderMime.IExtension = {
  id: '@torchclad/lab-extension:root',
  rendererFactory: rootRendererFactory,
  rank: 40,
  dataType: 'json',
};

export default [extension, rootExtension];

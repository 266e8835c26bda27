// JupyterLab MIME renderer for application/vnd.torchclad.root+json: a ROOT
// object (a TCanvas the cell drew, or a TH1/TGraph/... that was the cell's
// value) as TBufferJSON wrote it, drawn interactively by JSROOT (zoom,
// tooltips, log axes from its context menu). The kernel sends an image/png
// beside it for frontends without this extension.
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

export const ROOT_MIME = 'application/vnd.torchclad.root+json';
export const ROOT_CLASS_NAME = 'torchclad-root';

/** The part of JSROOT's API used here (the package's own types need moduleResolution bundler). */
export interface Jsroot {
  parse(json: string | object): unknown;
  draw(dom: HTMLElement, obj: unknown, option?: string): Promise<unknown>;
  cleanup(dom: HTMLElement): void;
  resize?(dom: HTMLElement): void;
}

let jsrootPromise: Promise<Jsroot> | null = null;

/** JSROOT is loaded on first use, as its own chunk. */
export function loadJsroot(): Promise<Jsroot> {
  if (!jsrootPromise) {
    jsrootPromise = import(/* webpackChunkName: "jsroot" */ 'jsroot' as string).then((m) =>
      (m as { default?: Jsroot }).default?.draw ? (m as { default: Jsroot }).default : (m as Jsroot),
    );
  }
  return jsrootPromise;
}

/** Size of the drawing: the canvas's own (metadata), else ROOT's default. */
export function drawingSize(metadata: unknown): { width: number; height: number } {
  const m = (metadata ?? {}) as { width?: unknown; height?: unknown };
  const ok = (v: unknown, d: number) => (typeof v === 'number' && v >= 50 && v <= 4000 ? Math.round(v) : d);
  return { width: ok(m.width, 700), height: ok(m.height, 500) };
}

export class RootRenderer extends Widget implements IRenderMime.IRenderer {
  private readonly mimeType: string;
  private readonly drawNode: HTMLDivElement;
  private readonly errorNode: HTMLPreElement;
  private drawn = false;

  constructor(
    options: IRenderMime.IRendererOptions,
    private readonly load: () => Promise<Jsroot> = loadJsroot,
  ) {
    super();
    this.mimeType = options.mimeType;
    this.addClass(ROOT_CLASS_NAME);
    this.drawNode = document.createElement('div');
    this.drawNode.className = 'torchclad-root-drawing';
    this.errorNode = document.createElement('pre');
    this.errorNode.className = 'torchclad-root-error';
    this.errorNode.hidden = true;
    this.node.append(this.drawNode, this.errorNode);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this.mimeType];
    const { width, height } = drawingSize((model.metadata ?? {})[this.mimeType]);
    this.drawNode.style.width = `${width}px`;
    this.drawNode.style.maxWidth = '100%';
    this.drawNode.style.height = `${height}px`;
    if (typeof data !== 'object' || data === null || typeof (data as { _typename?: unknown })._typename !== 'string') {
      this.showError('not a ROOT object: the data has no "_typename" (TBufferJSON output expected)');
      return;
    }
    try {
      const jsroot = await this.load();
      if (this.isDisposed) return;
      if (this.drawn) jsroot.cleanup(this.drawNode);
      // parse() resolves TBufferJSON's references ({"$ref": n}) and adds methods.
      const obj = jsroot.parse(JSON.stringify(data));
      await jsroot.draw(this.drawNode, obj, '');
      this.drawn = true;
      this.node.dataset.typename = String((data as { _typename: string })._typename);
      this.node.dataset.drawn = 'true';
    } catch (err) {
      this.showError(
        `JSROOT could not draw this ${(data as { _typename: string })._typename}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private showError(text: string): void {
    this.errorNode.textContent = text;
    this.errorNode.hidden = false;
  }

  override dispose(): void {
    if (this.isDisposed) return;
    if (this.drawn) void this.load().then((j) => j.cleanup(this.drawNode));
    super.dispose();
  }
}

export const rootRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [ROOT_MIME],
  defaultRank: 40, // ahead of image/png (90) that comes with it
  createRenderer: (options) => new RootRenderer(options),
};

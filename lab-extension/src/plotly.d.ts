// The part of plotly.js-dist-min's API the renderer uses (the package has no types).
declare module 'plotly.js-dist-min' {
  export interface PlotlyHTMLElement extends HTMLElement {
    on(event: string, handler: (e: any) => void): void;
    removeAllListeners?(event?: string): void;
  }
  export function newPlot(root: HTMLElement, data: any[], layout?: any, config?: any): Promise<PlotlyHTMLElement>;
  export function react(root: HTMLElement, data: any[], layout?: any, config?: any): Promise<PlotlyHTMLElement>;
  export function purge(root: HTMLElement): void;
  export const Plots: { resize(root: HTMLElement): Promise<void> | void };
}

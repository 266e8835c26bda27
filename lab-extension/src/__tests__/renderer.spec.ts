/**
 * @jest-environment jsdom
 */
// The widget with a mocked plotly: first render -> newPlot, later models -> Plotly.react
// on the same node (no re-creation); invalid payloads -> the error box.
const gd = { on: jest.fn() };
jest.mock('plotly.js-dist-min', () => ({
  newPlot: jest.fn(async () => gd),
  react: jest.fn(async () => gd),
  purge: jest.fn(),
  Plots: { resize: jest.fn() },
}));

import * as Plotly from 'plotly.js-dist-min';
import extensions, { CLASS_NAME, TRAINING_MIME, TrainingRenderer, rendererFactory } from '../index';
import { run } from './fixtures';

function model(data: unknown) {
  return { data: { [TRAINING_MIME]: data }, metadata: {}, trusted: true, setData: jest.fn() } as any;
}

function renderer(): TrainingRenderer {
  return rendererFactory.createRenderer({ mimeType: TRAINING_MIME } as any) as TrainingRenderer;
}

beforeEach(() => jest.clearAllMocks());

test('the extension registers the factory for the MIME type', () => {
  const [extension, root] = extensions;
  expect(extension.rendererFactory).toBe(rendererFactory);
  expect(root.rendererFactory.mimeTypes).toEqual(['application/vnd.torchclad.root+json']);
  expect(rendererFactory.mimeTypes).toEqual([TRAINING_MIME]);
  expect(rendererFactory.safe).toBe(true);
});

test('first model: newPlot; next models: Plotly.react on the same node', async () => {
  const r = renderer();
  expect(r.node.classList.contains(CLASS_NAME)).toBe(true);
  await r.renderModel(model(run({}, 3)));
  expect(Plotly.newPlot).toHaveBeenCalledTimes(1);
  const node = (Plotly.newPlot as jest.Mock).mock.calls[0][0];
  await r.renderModel(model(run({ step: 40 }, 4)));
  await r.renderModel(model(run({ status: 'finished' }, 5)));
  expect(Plotly.newPlot).toHaveBeenCalledTimes(1);
  expect(Plotly.react).toHaveBeenCalledTimes(2);
  const [node2, data] = (Plotly.react as jest.Mock).mock.calls[1];
  expect(node2).toBe(node);
  expect(data[0].x).toEqual([10, 20, 30, 40, 50]);
  expect(r.node.querySelector('.torchclad-status-finished')?.textContent).toBe('finished');
  expect(r.node.querySelector('.torchclad-training-config')?.textContent).toContain(
    'mlp-784-64-10 · clad · adam · batch 64 · 1 thread',
  );
  // per run two lines: swatch, badge, configuration; then status text and metrics
  const detail = r.node.querySelector('.torchclad-training-run > .torchclad-training-detail');
  expect([...(detail?.children ?? [])].map((c) => c.className)).toEqual([
    'torchclad-training-statustext',
    'torchclad-training-metrics',
  ]);
  r.dispose();
});

test('log-scale toggle redraws with a log axis', async () => {
  const r = renderer();
  await r.renderModel(model(run()));
  const box = r.node.querySelector('input.torchclad-training-log') as HTMLInputElement;
  box.checked = true;
  box.dispatchEvent(new Event('change'));
  await new Promise((res) => setTimeout(res, 0));
  const layout = (Plotly.react as jest.Mock).mock.calls[0][2];
  expect(layout.yaxis.type).toBe('log');
  r.dispose();
});

test('an invalid payload shows a readable error box, never a blank output', async () => {
  const r = renderer();
  await r.renderModel(model({ ...run(), version: 9 }));
  const err = r.node.querySelector('.torchclad-training-error') as HTMLElement;
  expect(err.hidden).toBe(false);
  expect(err.textContent).toMatch(/Cannot draw this torchclad training display:\n• version: 9 is not supported/);
  expect(Plotly.newPlot).not.toHaveBeenCalled();
  // a valid update afterwards replaces the error with the plot
  await r.renderModel(model(run()));
  expect(err.hidden).toBe(true);
  expect(Plotly.newPlot).toHaveBeenCalledTimes(1);
  r.dispose();
});

test('a plotly failure is shown in the error box', async () => {
  (Plotly.newPlot as jest.Mock).mockRejectedValueOnce(new Error('WebGL is off'));
  const r = renderer();
  await r.renderModel(model(run()));
  expect(r.node.querySelector('.torchclad-training-error')?.textContent).toMatch(/WebGL is off/);
  r.dispose();
});

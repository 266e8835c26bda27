/**
 * @jest-environment jsdom
 */
// The JSROOT renderer with the real JSROOT loaded in jsdom is not possible
// (it needs layout and SVG measurement); its drawing is checked in the
// browser test (test/browser). Here: what it passes to JSROOT, sizes, errors.
import { ROOT_MIME, RootRenderer, drawingSize, Jsroot } from '../root-renderer';

function fakeJsroot() {
  const calls: string[] = [];
  const jsroot: Jsroot = {
    parse: (json: string | object) => ({ parsed: typeof json === 'string' ? JSON.parse(json) : json }),
    draw: async (_dom, obj) => {
      calls.push(`draw ${(obj as { parsed: { _typename: string } }).parsed._typename}`);
      return null;
    },
    cleanup: () => calls.push('cleanup'),
  };
  return { jsroot, calls };
}

const model = (data: unknown, metadata: unknown = {}) =>
  ({ data: { [ROOT_MIME]: data }, metadata: { [ROOT_MIME]: metadata } }) as any;

test('draws the object with JSROOT at the canvas size; cleans up before redrawing', async () => {
  const { jsroot, calls } = fakeJsroot();
  const r = new RootRenderer({ mimeType: ROOT_MIME } as any, async () => jsroot);
  await r.renderModel(model({ _typename: 'TCanvas', fPrimitives: {} }, { width: 640, height: 480 }));
  expect(calls).toEqual(['draw TCanvas']);
  expect(r.node.dataset.typename).toBe('TCanvas');
  const drawing = r.node.querySelector('.torchclad-root-drawing') as HTMLElement;
  expect([drawing.style.width, drawing.style.height]).toEqual(['640px', '480px']);
  await r.renderModel(model({ _typename: 'TH1F' }));
  expect(calls).toEqual(['draw TCanvas', 'cleanup', 'draw TH1F']);
});

test('data without _typename, or a JSROOT failure, shows an error naming it', async () => {
  const { jsroot } = fakeJsroot();
  const r = new RootRenderer({ mimeType: ROOT_MIME } as any, async () => jsroot);
  await r.renderModel(model({ fName: 'x' }));
  expect(r.node.querySelector('.torchclad-root-error')!.textContent).toContain('no "_typename"');
  const failing = new RootRenderer({ mimeType: ROOT_MIME } as any, async () => ({
    ...jsroot,
    draw: async () => {
      throw new Error('bad object');
    },
  }));
  await failing.renderModel(model({ _typename: 'TGraph' }));
  expect(failing.node.querySelector('.torchclad-root-error')!.textContent).toBe(
    'JSROOT could not draw this TGraph: bad object',
  );
});

test('drawing size: metadata within bounds, else 700 x 500', () => {
  expect(drawingSize({ width: 800, height: 600 })).toEqual({ width: 800, height: 600 });
  expect(drawingSize({ width: 'x', height: 1e9 })).toEqual({ width: 700, height: 500 });
  expect(drawingSize(undefined)).toEqual({ width: 700, height: 500 });
});

// ROOT in the notebook, in a real JupyterLab in chromium with this checkout's
// kernel and lab extension: a canvas drawn in a cell appears below it, drawn
// by JSROOT (an SVG, not the PNG fallback), and zooms to the range the mouse
// drags over its frame; the value of a cell (a histogram) is drawn too, with
// the bin under the mouse in a tooltip; a canvas with SetLogy() gets a
// logarithmic y axis; Shift+Tab
// shows the declaration of a ROOT class from the kernel (inspect); Tab
// completes a member of a variable's class. Screenshots in test-artifacts/browser/.
import { mkdirSync } from 'fs';
import { join } from 'path';
import type { Locator, Page } from 'playwright-core';
import { ARTIFACTS, Lab, sleep } from './lab';
import { Notebook, codeCells, openNotebook, outputsText, runAllCells, saveAndFetch } from './notebook';

const TIMEOUT = 90_000;
const ROOT_MIME = 'application/vnd.torchclad.root+json';

const cell = (source: string) => ({ cell_type: 'code', source, outputs: [], execution_count: null, metadata: {} });
const NOTEBOOK: Notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: 'torchclad', display_name: 'ROOT C++ (Clad + LibTorch)', language: 'cpp' },
    language_info: { name: 'c++' },
  },
  cells: [
    cell(
      'TH1F gauss("gauss", "a gaussian;x;entries", 60, -4, 4);\ngauss.FillRandom("gaus", 5000);\nauto canvas = new TCanvas("canvas", "drawn in a cell", 640, 420);\ngauss.Draw();',
    ),
    cell(
      'auto flat = new TH1D("flat", "the value of a cell", 10, 0, 10);\nfor (int i = 0; i < 10; ++i) flat->Fill(i, i);\nflat',
    ),
    cell(
      'auto logc = new TCanvas("logc", "log y", 640, 420);\nlogc->SetLogy();\nauto falling = new TH1D("falling", "falling;x;entries", 20, 0, 10);\nfor (int i = 0; i < 20; ++i) falling->SetBinContent(i + 1, std::pow(10., 4 - 0.2 * i));\nfalling->Draw();',
    ),
    cell('// inspect and completion below'),
  ],
};

/** The labels of an axis ('x' or 'y') JSROOT drew in ROOT output `index`. */
function axisLabels(page: Page, index = 0, axis = 'x'): Promise<string[]> {
  return page.evaluate(
    ([i, a]) => {
      const root = document.querySelectorAll('.torchclad-root')[i as number];
      return [...(root?.querySelectorAll(`.${a}axis_container text`) ?? [])]
        .map((t) => t.textContent ?? '')
        .filter(Boolean);
    },
    [index, axis] as const,
  );
}
const xLabels = (page: Page) => axisLabels(page, 0, 'x');

/** The labels of an axis in one ROOT output with their centres on screen (px). */
function placedLabels(root: Locator, axis: 'x' | 'y'): Promise<{ text: string; x: number; y: number }[]> {
  return root.evaluate(
    (node, a) =>
      [...node.querySelectorAll(`.${a}axis_container text`)]
        .map((t) => {
          const r = (t as SVGGraphicsElement).getBoundingClientRect();
          return { text: t.textContent ?? '', x: r.x + r.width / 2, y: r.y + r.height / 2 };
        })
        .filter((l) => l.text),
    axis,
  );
}

/** Axis labels as numbers (JSROOT writes minus as U+2212). */
const numbers = (labels: string[]) => labels.map((l) => Number(l.replace('\u2212', '-'))).filter(Number.isFinite);

describe('ROOT graphics, inspect and completion in JupyterLab, in chromium', () => {
  const lab = new Lab();
  let page: Page;
  let saved: Notebook;
  const started = Date.now();

  beforeAll(async () => {
    page = await lab.start({ files: {}, notebooks: { 'root.ipynb': NOTEBOOK } });
    await openNotebook(lab, page, 'root.ipynb', TIMEOUT);
    await runAllCells(page, TIMEOUT);
    saved = await saveAndFetch(lab, page, 'root.ipynb');
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 3 * TIMEOUT);

  afterAll(async () => {
    try {
      if (page && !page.isClosed())
        await page.screenshot({ path: join(ARTIFACTS, 'root-last.png') }).catch(() => undefined);
      lab.saveLogs('root');
    } finally {
      await lab.stop();
      process.stdout.write(`ROOT graphics browser test: ${Date.now() - started} ms\n`);
    }
    expect(lab.leftAfterStop).toEqual([]);
  }, 60_000);

  test('the kernel sent the canvas (display_data) and the histogram (execute_result), each with a PNG fallback', () => {
    const [first, second] = codeCells(saved);
    const display = (first.outputs ?? []).filter((o) => o.output_type === 'display_data');
    expect(display).toHaveLength(1);
    expect((display[0].data![ROOT_MIME] as { _typename: string })._typename).toBe('TCanvas');
    expect(display[0].data!['image/png']).toEqual(expect.any(String));
    const result = (second.outputs ?? []).filter((o) => o.output_type === 'execute_result');
    expect(result).toHaveLength(1);
    expect((result[0].data![ROOT_MIME] as { _typename: string })._typename).toBe('TH1D');
  });

  test('JSROOT draws both (SVG, not the PNG), and the canvas zooms on a drag over its frame', async () => {
    const roots = page.locator('.torchclad-root[data-drawn="true"]');
    await roots.nth(2).waitFor({ timeout: 30000 });
    expect(
      await page.locator('.torchclad-root').evaluateAll((ns) => ns.map((n) => (n as HTMLElement).dataset.typename)),
    ).toEqual(['TCanvas', 'TH1D', 'TCanvas']);
    expect(await page.locator('.torchclad-root .torchclad-root-error:not([hidden])').count()).toBe(0);
    const first = roots.first();
    await first.scrollIntoViewIfNeeded();
    await sleep(500);
    await first.screenshot({ path: join(ARTIFACTS, 'root-canvas.png') });
    const before = await xLabels(page);
    expect(before.length).toBeGreaterThan(2);
    // The axis's own mapping from screen x to x, from its outermost numeric labels.
    const placed = (await placedLabels(first, 'x'))
      .map((l) => ({ ...l, v: Number(l.text.replace('\u2212', '-')) }))
      .filter((l) => Number.isFinite(l.v));
    const [lo, hi] = [placed[0], placed[placed.length - 1]];
    const xAt = (px: number) => lo.v + ((px - lo.x) * (hi.v - lo.v)) / (hi.x - lo.x);
    // drag across the middle of the frame (JSROOT's rectangle zoom on the x axis)
    const frame = first.locator('.root_frame').first();
    const box = (await frame.boundingBox())!;
    const y = box.y + box.height / 2;
    const [from, to] = [box.x + box.width * 0.45, box.x + box.width * 0.6];
    await page.mouse.move(from, y);
    await page.mouse.down();
    await page.mouse.move((from + to) / 2, y, { steps: 5 });
    await page.mouse.move(to, y, { steps: 5 });
    await page.mouse.up();
    let after = await xLabels(page);
    const deadline = Date.now() + 10000;
    while (JSON.stringify(after) === JSON.stringify(before) && Date.now() < deadline) {
      await sleep(200);
      after = await xLabels(page);
    }
    await first.screenshot({ path: join(ARTIFACTS, 'root-canvas-zoomed.png') });
    expect(after).not.toEqual(before);
    // The new axis spans what the drag covered (to a bin, 0.13, and a label step, 0.2).
    const [was, now] = [numbers(before), numbers(after)];
    const [x0, x1] = [xAt(from), xAt(to)];
    expect(Math.min(...was)).toBeLessThanOrEqual(-3);
    expect(Math.max(...was)).toBeGreaterThanOrEqual(3);
    expect(now.length).toBeGreaterThan(1);
    expect(Math.min(...now)).toBeGreaterThanOrEqual(x0 - 0.35);
    expect(Math.min(...now)).toBeLessThanOrEqual(x0 + 0.35);
    expect(Math.max(...now)).toBeLessThanOrEqual(x1 + 0.35);
    expect(Math.max(...now)).toBeGreaterThanOrEqual(x1 - 0.35);
  });

  test('the mouse over a bin shows its tooltip: histogram, bin range and content', async () => {
    const second = page.locator('.torchclad-root[data-drawn="true"]').nth(1);
    await second.scrollIntoViewIfNeeded();
    await sleep(300);
    const box = (await second.locator('.root_frame').first().boundingBox())!;
    // 10 bins over 0..10, bin i+1 holding weight i (so drawn with errors): the
    // mouse at x = 5.5, found from the axis's labels "5" and "6", is in [5, 6).
    const placed = await placedLabels(second, 'x');
    const [five, six] = ['5', '6'].map((t) => placed.find((l) => l.text === t)!);
    await page.mouse.move((five.x + six.x) / 2, box.y + box.height * 0.8, { steps: 4 });
    const hints = second.locator('.objects_hints');
    await hints.waitFor({ timeout: 10000 });
    const text = (await hints.textContent()) ?? '';
    await second.screenshot({ path: join(ARTIFACTS, 'root-tooltip.png') });
    expect(text).toContain('flat');
    expect(text).toContain('x = [5, 6)');
    expect(text).toContain('y = 5');
    await page.mouse.move(0, 0);
  });

  test('a canvas with SetLogy() is drawn with a logarithmic y axis', async () => {
    const third = page.locator('.torchclad-root[data-drawn="true"]').nth(2);
    await third.waitFor({ timeout: 30000 });
    await third.scrollIntoViewIfNeeded();
    await sleep(300);
    await third.screenshot({ path: join(ARTIFACTS, 'root-logy.png') });
    // The bins fall from 10^4 to 10^0.2. A log axis labels the decades 1, 10,
    // 10², 10³, 10⁴ (each exponent a text of its own), equally spaced; a
    // linear one could not place 1 and 10 a decade's height apart.
    const labels = await placedLabels(third, 'y');
    const decades = labels.filter((l) => /^(1|10)$/.test(l.text)).sort((a, b) => b.y - a.y);
    expect(decades.map((l) => l.text)).toEqual(['1', '10', '10', '10', '10']);
    expect(labels.map((l) => l.text)).toEqual(expect.arrayContaining(['2', '3', '4']));
    const gaps = decades.slice(1).map((l, k) => decades[k].y - l.y);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThan(3);
    expect(Math.min(...gaps)).toBeGreaterThan(20);
  });

  test('Shift+Tab shows the declaration of a ROOT class, with its reference page', async () => {
    const editor = page.locator('.jp-NotebookPanel .jp-CodeCell').nth(3).locator('.cm-content');
    await editor.click();
    await page.keyboard.press('Control+a');
    await page.keyboard.type('TGraph');
    await page.keyboard.press('Shift+Tab');
    const tooltip = page.locator('.jp-Tooltip');
    await tooltip.waitFor({ timeout: 20000 });
    await sleep(300);
    const shown = (await tooltip.textContent()) ?? '';
    await tooltip.screenshot({ path: join(ARTIFACTS, 'root-inspect-tooltip.png') });
    expect(shown).toContain('class TGraph');
    expect(shown).toContain('https://root.cern/doc/master/classTGraph.html');
    await page.keyboard.press('Escape');
  });

  test("Tab completes the members of a variable's class in the UI", async () => {
    const editor = page.locator('.jp-NotebookPanel .jp-CodeCell').nth(3).locator('.cm-content');
    await editor.click();
    await page.keyboard.press('Control+a');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('gauss.GetMe');
    await page.keyboard.press('Tab');
    const items = page.locator('.jp-Completer .jp-Completer-item');
    await items.first().waitFor({ timeout: 20000 });
    const labels = await page.locator('.jp-Completer .jp-Completer-match').allTextContents();
    await page.locator('.jp-Completer').screenshot({ path: join(ARTIFACTS, 'root-completion.png') });
    expect(labels).toEqual(expect.arrayContaining(['GetMean', 'GetMeanError']));
    await page.keyboard.press('Escape');
    if (labels.length === 0) throw new Error(`no completion; outputs:\n${await outputsText(page)}`);
  });
});

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
import type { Page } from 'playwright-core';
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
    // drag across the middle of the frame (JSROOT's rectangle zoom on the x axis)
    const frame = first.locator('.root_frame').first();
    const box = (await frame.boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.45, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.6, y, { steps: 5 });
    await page.mouse.up();
    let after = await xLabels(page);
    const deadline = Date.now() + 10000;
    while (JSON.stringify(after) === JSON.stringify(before) && Date.now() < deadline) {
      await sleep(200);
      after = await xLabels(page);
    }
    await first.screenshot({ path: join(ARTIFACTS, 'root-canvas-zoomed.png') });
    expect(after).not.toEqual(before);
    // The axis spanned -4..4; the drag covered 45%..60% of the frame: x from -0.4 to 0.8.
    const [was, now] = [numbers(before), numbers(after)];
    expect(Math.min(...was)).toBeLessThanOrEqual(-3);
    expect(Math.max(...was)).toBeGreaterThanOrEqual(3);
    expect(now.length).toBeGreaterThan(1);
    expect(Math.min(...now)).toBeGreaterThanOrEqual(-0.6);
    expect(Math.max(...now)).toBeLessThanOrEqual(1.0);
  });

  test('the mouse over a bin shows its tooltip: bin number, range and entries', async () => {
    const second = page.locator('.torchclad-root[data-drawn="true"]').nth(1);
    await second.scrollIntoViewIfNeeded();
    await sleep(300);
    const box = (await second.locator('.root_frame').first().boundingBox())!;
    // 10 bins over 0..10, bin i+1 holding i: 55% of the frame is x = 5.5, bin 6, 5 entries.
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.8, { steps: 4 });
    const hints = second.locator('.objects_hints');
    await hints.waitFor({ timeout: 10000 });
    const text = (await hints.textContent()) ?? '';
    await second.screenshot({ path: join(ARTIFACTS, 'root-tooltip.png') });
    expect(text).toContain('bin = 6');
    expect(text).toContain('entries = 5');
    await page.mouse.move(0, 0);
  });

  test('a canvas with SetLogy() is drawn with a logarithmic y axis', async () => {
    const third = page.locator('.torchclad-root[data-drawn="true"]').nth(2);
    await third.waitFor({ timeout: 30000 });
    await third.scrollIntoViewIfNeeded();
    await sleep(300);
    await third.screenshot({ path: join(ARTIFACTS, 'root-logy.png') });
    // The bins fall from 10^4 to 10^0.2: decades apart on a log axis, so the
    // y labels' values grow by factors of 10 (a linear axis steps by a constant).
    const ys = await third.evaluate((root) =>
      [...root.querySelectorAll('.yaxis_container text')].map((t) => ({
        text: t.textContent ?? '',
        y: (t as SVGGraphicsElement).getBoundingClientRect().y,
      })),
    );
    const labels = ys.map((l) => l.text).filter(Boolean);
    expect(labels.length).toBeGreaterThanOrEqual(3);
    const joined = labels.join(' ');
    expect(joined).toMatch(/10/);
    const values = numbers(labels).filter((v) => v > 0);
    if (values.length >= 3) {
      const sorted = [...values].sort((a, b) => a - b);
      const ratios = sorted.slice(1).map((v, k) => v / sorted[k]);
      expect(ratios.every((r) => Math.abs(r - 10) < 1e-6)).toBe(true);
    } else {
      // Labels written as powers (10^{n}): one per decade, at least three decades.
      expect(labels.filter((l) => /^10/.test(l)).length).toBeGreaterThanOrEqual(3);
    }
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

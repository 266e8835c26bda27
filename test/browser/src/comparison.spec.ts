// A cell that trains clad, then autograd: one display comparing the two runs
// (kernel-bridge puts every run of one cell into one display), drawn by the
// lab extension in a real JupyterLab in chromium: both runs on shared axes
// with a legend, a speed-up panel, the header's title; checked against the
// comparison the kernel sent, as saved. Screenshot in test-artifacts/browser/.
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { Page } from 'playwright-core';
import type { TrainingComparison } from '../../../kernel-bridge/src/training-schema';
import { ARTIFACTS, Lab, sleep } from './lab';
import {
  DrawnDisplay,
  Notebook,
  TRAINING_MIME,
  codeCells,
  drawn,
  openNotebook,
  runAllCells,
  saveAndFetch,
  splashGone,
} from './notebook';

const IDX = '/usr/share/datasets/fashion-mnist';
const TIMEOUT = 90_000;

/** One cell: the same small MLP from the same seed, trained with clad, then autograd (the 10,000 test images, 2 epochs). */
const CELL = [
  '#include "torchclad/torchclad.h"',
  `auto data = torchclad::Dataset::from_idx("${IDX}", "test");`,
  'torchclad::TrainOptions options;',
  'options.epochs = 2; options.batch = 64; options.optimizer = "adam"; options.seed = 42; options.progress = false;',
  'torchclad::Mlp clad_model({784, 64, 10});',
  'options.engine = "clad";',
  'auto clad_run = clad_model.fit(data, data, options);',
  'torchclad::Mlp autograd_model({784, 64, 10});',
  'options.engine = "autograd";',
  'auto autograd_run = autograd_model.fit(data, data, options);',
  'printf("%s %s\\n", clad_run.status.c_str(), autograd_run.status.c_str());',
].join('\n');

const NOTEBOOK: Notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: 'torchclad', display_name: 'ROOT C++ (Clad + LibTorch)', language: 'cpp' },
    language_info: { name: 'c++' },
  },
  cells: [{ cell_type: 'code', source: CELL, outputs: [], execution_count: null, metadata: {} }],
};

describe('one cell training clad and autograd: one comparison display, in JupyterLab in chromium', () => {
  const lab = new Lab();
  let page: Page;
  let saved: Notebook;
  let sent: TrainingComparison;
  let shown: DrawnDisplay[] = [];
  const started = Date.now();

  beforeAll(async () => {
    page = await lab.start({ files: {}, notebooks: { 'compare.ipynb': NOTEBOOK } });
    await openNotebook(lab, page, 'compare.ipynb', TIMEOUT);
    await runAllCells(page, TIMEOUT);
    shown = await drawn(page);
    saved = await saveAndFetch(lab, page, 'compare.ipynb');
    const outs = (codeCells(saved)[0].outputs ?? []).filter(
      (o) => o.output_type === 'display_data' && o.data && TRAINING_MIME in o.data,
    );
    if (outs.length !== 1)
      throw new Error(`the cell has ${outs.length} training displays in the saved notebook, expected 1`);
    sent = outs[0].data![TRAINING_MIME] as TrainingComparison;
    mkdirSync(ARTIFACTS, { recursive: true });
    const node = page.locator('.torchclad-training').first();
    await node.scrollIntoViewIfNeeded();
    await sleep(300);
    await node.screenshot({ path: join(ARTIFACTS, 'comparison-display.png') });
    writeFileSync(join(ARTIFACTS, 'comparison-saved.ipynb'), JSON.stringify(saved, null, 1));
  }, 3 * TIMEOUT);

  afterAll(async () => {
    try {
      if (page && !page.isClosed())
        await page.screenshot({ path: join(ARTIFACTS, 'comparison-last.png') }).catch(() => undefined);
      lab.saveLogs('comparison');
    } finally {
      await lab.stop();
      process.stdout.write(`comparison browser test: ${Date.now() - started} ms\n`);
    }
    expect(lab.leftAfterStop).toEqual([]);
  }, 60_000);

  test('the kernel sent one comparison of the two runs (clad first, the baseline), both finished', () => {
    expect(sent.version).toBe(1);
    expect(sent.runs.map((r) => [r.engine, r.status])).toEqual([
      ['clad', 'finished'],
      ['autograd', 'finished'],
    ]);
    expect(sent.comparison).toEqual({ baseline: sent.runs[0].run_id, title: 'clad vs autograd' });
    const stdout = (codeCells(saved)[0].outputs ?? [])
      .filter((o) => o.name === 'stdout')
      .map((o) => o.text)
      .join('');
    expect(stdout).toContain('finished finished');
  });

  test('one display in the page: both runs in the header, a title, both finished', () => {
    expect(shown).toHaveLength(1);
    const d = shown[0];
    expect(d.runIds).toEqual(sent.runs.map((r) => r.run_id));
    expect(d.title).toBe('clad vs autograd');
    expect(d.badges.map((b) => b.text)).toEqual(['finished', 'finished']);
    sent.runs.forEach((r, i) =>
      expect(d.metrics[i]).toContain(`test acc ${(100 * r.epoch_metrics.at(-1)!.test_accuracy!).toFixed(2)}%`),
    );
    expect(d.invalid).toBe(false);
    expect(d.errorShown).toBe(false);
  });

  test("shared axes: each run's loss trace holds its points; a legend per run; the speed-up bars", () => {
    const d = shown[0];
    expect(d.traces).not.toBeNull();
    for (const r of sent.runs) {
      const train = d.traces!.find((t) => t.uid === `${r.run_id}:train`);
      expect(train).toBeDefined();
      expect(train!.x).toEqual(r.steps.step);
      expect(train!.y).toEqual(r.steps.loss);
    }
    expect(d.legend).toEqual(['clad train loss', 'clad test loss', 'autograd train loss', 'autograd test loss']);
    const speedup = d.traces!.find((t) => t.uid === 'speedup');
    expect(speedup).toBeDefined();
    expect(speedup!.x).toEqual(['clad', 'autograd']);
    // 2 epochs: the bars compare epoch 2 (epoch 1 pays the warm-up)
    const steady = (r: TrainingComparison['runs'][number]) => {
      expect(r.epoch_metrics.length).toBe(2);
      return r.epoch_metrics[1].samples_per_second!;
    };
    const [c, a] = sent.runs.map(steady);
    expect(speedup!.y[0]).toBe(1);
    expect(speedup!.y[1] as number).toBeCloseTo(a / c, 9);
  });

  test("Settings > Theme > JupyterLab Dark: the plot is redrawn in the dark theme's colours", async () => {
    const colours = () =>
      page.evaluate(() => {
        const node = document.querySelector('.torchclad-training') as HTMLElement;
        const plot = node.querySelector('.torchclad-training-plot') as HTMLElement & {
          layout?: { paper_bgcolor?: string; font?: { color?: string } };
        };
        const css = getComputedStyle(node);
        return {
          paper: plot.layout?.paper_bgcolor ?? '',
          font: plot.layout?.font?.color ?? '',
          themePaper: css.getPropertyValue('--jp-layout-color0').trim(),
          themeFont: css.getPropertyValue('--jp-ui-font-color1').trim(),
        };
      });
    const light = await colours();
    expect(light.paper).toBe(light.themePaper);
    await page.locator('#jp-MainMenu .lm-MenuBar-itemLabel', { hasText: /^Settings$/ }).click();
    await page
      .locator('.lm-Menu .lm-Menu-item', { has: page.locator('.lm-Menu-itemLabel', { hasText: /^Theme$/ }) })
      .hover();
    await page
      .locator('.lm-Menu .lm-Menu-item', { has: page.locator('.lm-Menu-itemLabel', { hasText: /^JupyterLab Dark$/ }) })
      .click();
    await page.waitForFunction(() => document.body.dataset.jpThemeName === 'JupyterLab Dark', undefined, {
      timeout: 30000,
    });
    let dark = await colours();
    const deadline = Date.now() + 15000;
    while ((dark.paper !== dark.themePaper || dark.paper === light.paper) && Date.now() < deadline) {
      await sleep(250);
      dark = await colours();
    }
    expect(dark.themePaper).not.toBe(light.themePaper);
    expect(dark.paper).toBe(dark.themePaper);
    expect(dark.font).toBe(dark.themeFont);
    await splashGone(page); // the theme switch shows the splash again
    await page
      .locator('.torchclad-training')
      .first()
      .screenshot({ path: join(ARTIFACTS, 'comparison-display-dark.png') });
  }, 60_000);
});

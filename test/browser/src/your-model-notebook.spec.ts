// notebooks/your-model.ipynb in a real JupyterLab in chromium, with the real
// torchclad kernel: run through the menu (Run > Run All Cells), saved, then
// checked: no error output, the models defined in its %%clad cells trained,
// the comparison display (the defined model with Clad, the built-in Mlp with
// LibTorch autograd) drawn from the data the kernel sent, the reloaded model
// as accurate as the saved one. Screenshots in test-artifacts/browser/.
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { Page } from 'playwright-core';
import type { TrainingComparison } from '../../../kernel-bridge/src/training-schema';
import { ARTIFACTS, Lab, REPO, sleep } from './lab';
import {
  DrawnDisplay,
  Notebook,
  TRAINING_MIME,
  codeCells,
  drawn,
  openNotebook,
  runAllCells,
  saveAndFetch,
  text,
} from './notebook';

const NOTEBOOK = join(REPO, 'notebooks', 'your-model.ipynb');
const OPEN_TIMEOUT = 90_000;
/** Two %%clad compiles (~3 s each) and three short trainings (~25 s on 2 idle cores). */
const RUN_TIMEOUT = 200_000;

describe('notebooks/your-model.ipynb in JupyterLab, in chromium, with the torchclad kernel', () => {
  const lab = new Lab();
  let page: Page;
  let saved: Notebook;
  let shown: DrawnDisplay[] = [];
  let comparison: TrainingComparison;
  const started = Date.now();

  beforeAll(
    async () => {
      page = await lab.start({ files: { 'your-model.ipynb': NOTEBOOK } });
      await openNotebook(lab, page, 'your-model.ipynb', OPEN_TIMEOUT);
      await runAllCells(page, RUN_TIMEOUT);
      shown = await drawn(page);
      saved = await saveAndFetch(lab, page, 'your-model.ipynb');
      const cell = codeCells(saved).find((c) => text(c.source).includes('autograd_options.engine = "autograd"'));
      if (!cell) throw new Error('no cell trains the reference with autograd in the saved notebook');
      const outs = (cell.outputs ?? []).filter(
        (o) => o.output_type === 'display_data' && o.data && TRAINING_MIME in o.data,
      );
      if (outs.length !== 1) throw new Error(`the comparison cell has ${outs.length} training displays, expected 1`);
      comparison = outs[0].data![TRAINING_MIME] as TrainingComparison;
      mkdirSync(ARTIFACTS, { recursive: true });
      const node = page.locator('.torchclad-training').first();
      await node.scrollIntoViewIfNeeded();
      await sleep(300);
      await node.screenshot({ path: join(ARTIFACTS, 'your-model-comparison.png') });
      writeFileSync(join(ARTIFACTS, 'your-model-saved.ipynb'), JSON.stringify(saved, null, 1));
    },
    OPEN_TIMEOUT + RUN_TIMEOUT + 60_000,
  );

  afterAll(async () => {
    try {
      if (page && !page.isClosed())
        await page.screenshot({ path: join(ARTIFACTS, 'your-model-last.png') }).catch(() => undefined);
      lab.saveLogs('your-model');
    } finally {
      await lab.stop();
      process.stdout.write(`your-model browser test: ${Date.now() - started} ms\n`);
    }
    expect(lab.leftAfterStop).toEqual([]);
  }, 60_000);

  test('every cell ran without an error output, the %%clad cells included', () => {
    for (const cell of codeCells(saved)) {
      const errors = (cell.outputs ?? []).filter((o) => o.output_type === 'error');
      expect([text(cell.source).slice(0, 60), errors]).toEqual([text(cell.source).slice(0, 60), []]);
      expect(cell.execution_count).not.toBeNull();
    }
  });

  test('the defined model (Clad) and the built-in with autograd: one comparison, both finished', () => {
    expect(comparison.runs.map((r) => [r.engine, r.model, r.status])).toEqual([
      ['clad', 'mlp', 'finished'],
      ['autograd', 'mlp-784-128-64-10', 'finished'],
    ]);
  });

  test("the page draws that comparison: each run's loss points, both finished", () => {
    const d = shown.find((s) => s.runIds.length === 2);
    expect(d).toBeDefined();
    expect(d!.runIds).toEqual(comparison.runs.map((r) => r.run_id));
    expect(d!.badges.map((b) => b.text)).toEqual(['finished', 'finished']);
    for (const r of comparison.runs) {
      const train = d!.traces!.find((t) => t.uid === `${r.run_id}:train`);
      expect(train).toBeDefined();
      expect(train!.x).toEqual(r.steps.step);
      expect(train!.y).toEqual(r.steps.loss);
    }
    expect(d!.invalid).toBe(false);
    expect(d!.errorShown).toBe(false);
  });

  test('the gradient checks passed and the reloaded model is as accurate as the saved one', () => {
    const out = codeCells(saved)
      .flatMap((c) => c.outputs ?? [])
      .map((o) => text(o.text))
      .join('');
    expect(out.match(/worst relative error [0-9.e+-]+: passed/g)).toHaveLength(2);
    const m = /saved ([0-9.]+), loaded ([0-9.]+), 2 epochs of history/.exec(out);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(m![2]);
  });
});

// notebooks/mnist.ipynb in a real JupyterLab, in a real chromium, with the
// real torchclad kernel and the lab extension as installed in the .venv: the
// notebook is opened, run through the menu (Run > Run All Cells), watched
// while it trains, saved; then the drawn plot is checked against the data the
// kernel sent (as JupyterLab saved it, fetched through the contents API).
// Screenshots and logs go to test-artifacts/browser/.
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { Page } from 'playwright-core';
import type { TrainingState } from '../../../kernel-bridge/src/training-schema';
import { ARTIFACTS, Lab, REPO, sleep } from './lab';
import {
  DrawnDisplay,
  Notebook,
  TRAINING_MIME,
  codeCells,
  drawn,
  openNotebook,
  progress,
  runAllCells,
  saveAndFetch,
  text,
  watchFirstDisplay,
  watched,
} from './notebook';

const NOTEBOOK = join(REPO, 'notebooks', 'mnist.ipynb');
/** Opening the notebook and starting the kernel (JupyterLab's first load compiles nothing, but the machine may be busy). */
const OPEN_TIMEOUT = 90_000;
/** Running every cell: two trainings of 2 epochs on Fashion-MNIST (~60 s on 2 idle cores). */
const RUN_TIMEOUT = 200_000;

describe('notebooks/mnist.ipynb in JupyterLab, in chromium, with the torchclad kernel and the lab extension', () => {
  const lab = new Lab();
  let page: Page;
  const timings: Record<string, number> = {};
  const started = Date.now();
  let saved: Notebook;
  let clad: TrainingState;
  let autograd: TrainingState;
  let cladPrinted: number;
  /** What the test saw of the Clad display while the notebook ran: status and drawn step points. */
  const seen: { status: string; points: number }[] = [];
  let finalDrawn: DrawnDisplay[] = [];

  beforeAll(
    async () => {
      page = await lab.start({ files: { 'mnist.ipynb': NOTEBOOK } });
      timings.serverAndBrowser = Date.now() - started;

      await openNotebook(lab, page, 'mnist.ipynb', OPEN_TIMEOUT);
      timings.opened = Date.now() - started;

      const runStart = Date.now();
      await watchFirstDisplay(page); // the Clad run takes a few seconds: watched from inside the page too
      await runAllCells(page, RUN_TIMEOUT, async () => {
        const first = (await drawn(page, true))[0];
        if (first?.traces) {
          const train = first.traces.find((t) => t.uid.endsWith(':train'));
          seen.push({ status: first.badges[0]?.text ?? '', points: train?.x.length ?? 0 });
        }
      });
      timings.ran = Date.now() - runStart;
      seen.push(...(await watched(page)));
      finalDrawn = await drawn(page);
      saved = await saveAndFetch(lab, page, 'mnist.ipynb');
      const stateOf = (engine: string): TrainingState => {
        const cell = codeCells(saved).find((c) => text(c.source).includes(`engine = "${engine}"`));
        if (!cell) throw new Error(`no cell sets engine = "${engine}" in the saved notebook`);
        const out = (cell.outputs ?? []).filter(
          (o) => o.output_type === 'display_data' && o.data && TRAINING_MIME in o.data,
        );
        if (out.length !== 1)
          throw new Error(`the ${engine} cell has ${out.length} training displays in the saved notebook, expected 1`);
        return out[0].data![TRAINING_MIME] as TrainingState;
      };
      clad = stateOf('clad');
      autograd = stateOf('autograd');
      const printed = /clad test accuracy: ([0-9.]+)/.exec(
        codeCells(saved)
          .flatMap((c) => c.outputs ?? [])
          .map((o) => text(o.text))
          .join(''),
      );
      cladPrinted = printed ? Number(printed[1]) : NaN;

      // the screenshots: the Clad display in view, and each display alone
      mkdirSync(ARTIFACTS, { recursive: true });
      const cladNode = page.locator('.torchclad-training', {
        has: page.locator(`.torchclad-training-run[data-run-id="${clad.run_id}"]`),
      });
      await cladNode.scrollIntoViewIfNeeded();
      await sleep(500);
      await page.screenshot({ path: join(ARTIFACTS, 'mnist-notebook.png') });
      await cladNode.screenshot({ path: join(ARTIFACTS, 'mnist-clad-display.png') });
      await page
        .locator('.torchclad-training', {
          has: page.locator(`.torchclad-training-run[data-run-id="${autograd.run_id}"]`),
        })
        .screenshot({ path: join(ARTIFACTS, 'mnist-autograd-display.png') });
      writeFileSync(join(ARTIFACTS, 'mnist-saved.ipynb'), JSON.stringify(saved, null, 1));
    },
    OPEN_TIMEOUT + RUN_TIMEOUT + 60_000,
  );

  afterAll(async () => {
    try {
      if (page && !page.isClosed()) {
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, 'mnist-last.png') }).catch(() => undefined);
      }
      lab.saveLogs('mnist');
    } finally {
      await lab.stop();
      timings.total = Date.now() - started;
      writeFileSync(join(ARTIFACTS, 'mnist-timings.json'), JSON.stringify(timings, null, 1) + '\n');
      process.stdout.write(`browser test timings (ms): ${JSON.stringify(timings)}\n`);
    }
    expect(lab.leftAfterStop).toEqual([]);
  }, 60_000);

  const cladDisplay = () => {
    const d = finalDrawn.filter((x) => x.runIds.includes(clad.run_id));
    expect(d).toHaveLength(1);
    return d[0];
  };

  test("each training cell shows one training display, and the saved notebook holds the kernel's final data", () => {
    expect(finalDrawn.map((d) => d.runIds)).toEqual([[clad.run_id], [autograd.run_id]]);
    for (const s of [clad, autograd]) {
      expect(s.status).toBe('finished');
      expect(s.epoch_metrics).toHaveLength(s.epochs);
      expect(s.step).toBe(s.total_steps);
      expect(s.steps.step.length).toBe(s.steps.loss.length);
    }
    expect(clad.engine).toBe('clad');
    expect(autograd.engine).toBe('autograd');
  });

  test('(a) the plotly traces hold exactly the points the kernel sent', () => {
    const d = cladDisplay();
    expect(d.traces).not.toBeNull();
    const trace = (what: string) => {
      const t = d.traces!.find((x) => x.uid === `${clad.run_id}:${what}`);
      if (!t) throw new Error(`no trace ${clad.run_id}:${what}; traces: ${d.traces!.map((x) => x.uid).join(', ')}`);
      return t;
    };
    const n = clad.steps.step.length;
    // fewer points than the drawing limit: every point is drawn
    expect(n).toBeGreaterThan(20);
    expect(n).toBeLessThanOrEqual(2000);
    expect(d.points).toBe(`${n}/${n}`);
    const train = trace('train');
    expect(train.x).toEqual(clad.steps.step);
    expect(train.y).toEqual(clad.steps.loss);
    expect(train.x.at(-1)).toBe(clad.total_steps);
    expect(train.y.at(-1)).toBe(clad.steps.loss.at(-1));
    const epochs = clad.epoch_metrics.map((e) => e.epoch);
    expect(trace('test').x).toEqual(clad.epoch_metrics.map((e) => e.step));
    expect(trace('test').y).toEqual(clad.epoch_metrics.map((e) => e.test_loss));
    expect(trace('acc').x).toEqual(epochs);
    expect(trace('acc').y).toEqual(clad.epoch_metrics.map((e) => e.test_accuracy));
    expect(trace('rate').y).toEqual(clad.epoch_metrics.map((e) => e.samples_per_second));
  });

  test('(b) the header says finished and shows the final test accuracy', () => {
    const d = cladDisplay();
    expect(d.badges).toEqual([{ text: 'finished', className: 'torchclad-training-status torchclad-status-finished' }]);
    expect(d.statusTexts[0]).toMatch(new RegExp(`^finished in .+: ${clad.epochs} epochs, ${clad.total_steps} steps$`));
    const acc = clad.epoch_metrics.at(-1)!.test_accuracy!;
    expect(acc).toBeGreaterThan(0.75);
    expect(d.metrics[0]).toContain(`test acc ${(100 * acc).toFixed(2)}%`);
    // the kernel's last epoch record is the accuracy the notebook computes itself afterwards
    expect(Math.abs(acc - cladPrinted)).toBeLessThanOrEqual(1e-4);
  });

  test('(c) no error output, no invalid display', async () => {
    for (const c of codeCells(saved)) {
      const errors = (c.outputs ?? []).filter((o) => o.output_type === 'error');
      expect(errors.map((e) => `${e.ename}: ${e.evalue}`)).toEqual([]);
    }
    // JupyterLab draws an error as stderr text (its traceback); the only stderr
    // this notebook writes is the trainer's per-epoch log
    const stderr = await page
      .locator('.jp-NotebookPanel .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
      .allTextContents();
    const epochLine =
      /^epoch \d+\/\d+ +train loss [0-9.]+ +test loss [0-9.]+ +test accuracy [0-9.]+% +[0-9,]+ samples\/s$/;
    const other = stderr.flatMap((t) => t.split('\n')).filter((l) => l.trim() !== '' && !epochLine.test(l.trim()));
    expect(other).toEqual([]);
    expect(
      await page
        .locator('.jp-NotebookPanel .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
        .count(),
    ).toBe(0);
    for (const d of finalDrawn) {
      expect(d.invalid).toBe(false);
      expect(d.errorShown).toBe(false);
    }
  });

  test('the display grew live while the Clad run trained, updated in place', () => {
    const n = clad.steps.step.length;
    const running = seen.filter((s) => s.status === 'running');
    expect(running.length).toBeGreaterThan(0);
    // on failure, the distinct states seen say what the page drew while the run went
    const states = [...new Set(seen.map((s) => `${s.status}:${s.points}`))];
    expect({ partial: running.some((s) => s.points > 0 && s.points < n), states }).toMatchObject({ partial: true });
    // the plot div the test tagged while the run was going is the one that shows the finished run
    expect(cladDisplay().marked).toBe(true);
  });

  test(
    'reopened with its kernel shut down, the display is drawn from the saved output alone',
    async () => {
      const before = Date.now();
      // close the notebook's page, shut the kernel down (its session, as JupyterLab's "Shut Down Kernel" does)
      await page.goto('about:blank');
      const ran = (await (await lab.api('GET', '/api/kernels')).json()) as { id: string }[];
      expect(ran.length).toBeGreaterThan(0);
      for (const s of (await (await lab.api('GET', '/api/sessions')).json()) as { id: string }[]) {
        expect((await lab.api('DELETE', `/api/sessions/${s.id}`)).ok).toBe(true);
      }
      expect(await (await lab.api('GET', '/api/kernels')).json()).toEqual([]);
      // open the saved file again; any code sent to a kernel from now on would be an execute_request
      const executes: string[] = [];
      page.on('websocket', (ws) =>
        ws.on('framesent', (f) => {
          if (String(f.payload).includes('execute_request')) executes.push(String(f.payload).slice(0, 200));
        }),
      );
      await openNotebook(lab, page, 'mnist.ipynb', OPEN_TIMEOUT);
      const run = page.locator(`.torchclad-training-run[data-run-id="${clad.run_id}"]`);
      await run.waitFor({ timeout: 30_000 });
      await page.waitForFunction(
        (id) => {
          const node = document
            .querySelector(`.torchclad-training-run[data-run-id="${id}"]`)
            ?.closest('.torchclad-training');
          return !!(node?.querySelector('.torchclad-training-plot') as { data?: unknown[] } | null)?.data;
        },
        clad.run_id,
        { timeout: 30_000 },
      );
      const reopened = (await drawn(page)).filter((x) => x.runIds.includes(clad.run_id));
      expect(reopened).toHaveLength(1);
      const d = reopened[0];
      // a new page (not the plot div drawn while training) with a new kernel that ran nothing
      expect(d.marked).toBe(false);
      const now = (await (await lab.api('GET', '/api/kernels')).json()) as { id: string }[];
      expect(now.map((k) => k.id).filter((id) => ran.some((r) => r.id === id))).toEqual([]);
      expect(executes).toEqual([]);
      expect((await progress(page)).prompts.map((p) => p.replace(/:$/, ''))).toEqual(
        codeCells(saved).map((c) => `[${c.execution_count}]`),
      );
      // the plot: the train trace holds the saved points
      const train = d.traces?.find((t) => t.uid === `${clad.run_id}:train`);
      if (!train) throw new Error(`no train trace after reopening; traces: ${d.traces?.map((t) => t.uid).join(', ')}`);
      const n = clad.steps.step.length;
      expect(train.x).toHaveLength(n);
      expect(train.y).toHaveLength(n);
      expect(train.x.at(-1)).toBe(clad.total_steps);
      expect(train.y.at(-1)).toBe(clad.steps.loss.at(-1));
      expect(train.y).toEqual(clad.steps.loss);
      expect(d.points).toBe(`${n}/${n}`);
      // the header: finished, the final test accuracy
      expect(d.badges).toEqual([
        { text: 'finished', className: 'torchclad-training-status torchclad-status-finished' },
      ]);
      expect(d.statusTexts[0]).toMatch(
        new RegExp(`^finished in .+: ${clad.epochs} epochs, ${clad.total_steps} steps$`),
      );
      expect(d.metrics[0]).toContain(`test acc ${(100 * clad.epoch_metrics.at(-1)!.test_accuracy!).toFixed(2)}%`);
      expect(d.invalid).toBe(false);
      expect(d.errorShown).toBe(false);
      await page.locator('.torchclad-training', { has: run }).scrollIntoViewIfNeeded();
      await sleep(500);
      await page.screenshot({ path: join(ARTIFACTS, 'mnist-reopened.png') });
      timings.reopened = Date.now() - before;
    },
    OPEN_TIMEOUT + 90_000,
  );
});

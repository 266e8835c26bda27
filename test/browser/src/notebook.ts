// Driving a notebook in JupyterLab through the page, as a person does, and
// reading what the torchclad lab extension drew.
import type { Page } from 'playwright-core';
import { Lab, sleep } from './lab';

export const TRAINING_MIME = 'application/vnd.torchclad.training.v1+json';

export interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
export interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
  metadata?: Record<string, unknown>;
}
export interface Notebook {
  cells: Cell[];
  metadata?: Record<string, unknown>;
  nbformat?: number;
  nbformat_minor?: number;
}

/** What the page shows of one training display. */
export interface DrawnDisplay {
  runIds: string[];
  badges: { text: string; className: string }[];
  statusTexts: string[];
  metrics: string[];
  points: string;
  invalid: boolean;
  errorShown: boolean;
  /** plotly's traces (the graph div's `.data`), or null before the first plot. */
  traces: { uid: string; name: string; type: string; x: unknown[]; y: unknown[] }[] | null;
  /** Set on the plot's div the first time the test saw it while the run was going. */
  marked: boolean;
  /** The header's title (several runs), or ''. */
  title: string;
  /** The legend entries plotly drew. */
  legend: string[];
}

export const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join('') : (v ?? ''));
export const codeCells = (nb: Notebook) => nb.cells.filter((c) => c.cell_type === 'code');

/** Every training display on the page, in document order. `mark` tags the plot divs of running displays. */
export function drawn(page: Page, mark = false): Promise<DrawnDisplay[]> {
  return page.evaluate((mark) => {
    return [...document.querySelectorAll<HTMLElement>('.torchclad-training')].map((node) => {
      const plot = node.querySelector('.torchclad-training-plot') as
        (HTMLElement & { data?: any[]; __torchcladSeen?: boolean }) | null;
      const badges = [...node.querySelectorAll('.torchclad-training-status')].map((b) => ({
        text: b.textContent ?? '',
        className: b.className,
      }));
      if (plot && mark && badges.some((b) => b.text === 'running') && plot.data) plot.__torchcladSeen = true;
      const err = node.querySelector<HTMLElement>('.torchclad-training-error');
      return {
        runIds: [...node.querySelectorAll<HTMLElement>('.torchclad-training-run')].map((r) => r.dataset.runId ?? ''),
        badges,
        statusTexts: [...node.querySelectorAll('.torchclad-training-statustext')].map((s) => s.textContent ?? ''),
        metrics: [...node.querySelectorAll('.torchclad-training-metrics')].map((s) => s.textContent ?? ''),
        points: node.dataset.points ?? '',
        invalid: node.classList.contains('torchclad-training-invalid'),
        errorShown: !!err && !err.hidden,
        traces: plot?.data
          ? plot.data.map((t) => ({
              uid: String(t.uid),
              name: String(t.name),
              type: String(t.type),
              x: Array.from(t.x ?? []),
              y: Array.from(t.y ?? []),
            }))
          : null,
        marked: !!plot?.__torchcladSeen,
        title: node.querySelector('.torchclad-training-title')?.textContent ?? '',
        legend: [...node.querySelectorAll('.legend .legendtext')].map((l) => l.textContent ?? ''),
      };
    });
  }, mark);
}

/**
 * Records the first training display's status and its train trace's point
 * count inside the page: after every plotly draw of it (so a state drawn only
 * briefly, when updates arrive in a burst on a busy machine, is still seen),
 * and every 50 ms. Tags its plot div while it runs (as drawn(page, true) does).
 * Read the records with watched(page).
 */
export function watchFirstDisplay(page: Page): Promise<void> {
  return page.evaluate(() => {
    const seen: { status: string; points: number }[] = [];
    (window as unknown as { __torchcladWatched: typeof seen }).__torchcladWatched = seen;
    type PlotDiv = HTMLElement & {
      data?: any[];
      __torchcladSeen?: boolean;
      __torchcladHooked?: boolean;
      on?: (event: string, f: () => void) => void;
    };
    const record = () => {
      const node = document.querySelector<HTMLElement>('.torchclad-training');
      if (!node) return;
      const plot = node.querySelector('.torchclad-training-plot') as PlotDiv | null;
      const status = node.querySelector('.torchclad-training-status')?.textContent ?? '';
      const train = plot?.data?.find((t) => String(t.uid).endsWith(':train'));
      if (plot && plot.data && status === 'running') plot.__torchcladSeen = true;
      if (plot && typeof plot.on === 'function' && !plot.__torchcladHooked) {
        plot.__torchcladHooked = true;
        plot.on('plotly_afterplot', record);
      }
      seen.push({ status, points: train?.x?.length ?? 0 });
    };
    setInterval(record, 50);
  });
}

export function watched(page: Page): Promise<{ status: string; points: number }[]> {
  return page.evaluate(
    () => (window as unknown as { __torchcladWatched?: { status: string; points: number }[] }).__torchcladWatched ?? [],
  );
}

/** The prompts of the code cells ("[ ]:", "[*]:", "[3]:") and the kernel's status. */
export function progress(page: Page): Promise<{ prompts: string[]; kernel: string }> {
  return page.evaluate(() => ({
    prompts: [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')].map((p) =>
      (p.textContent ?? '').trim(),
    ),
    kernel:
      document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator')?.getAttribute('data-status') ?? '',
  }));
}

/** The text of all outputs on the page, for error messages. */
export function outputsText(page: Page): Promise<string> {
  return page.evaluate(() =>
    [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]
      .map((o) => `[${o.getAttribute('data-mime-type')}] ${(o.textContent ?? '').slice(0, 500)}`)
      .join('\n'),
  );
}

/** Clicks a menu of JupyterLab's menu bar, then the item whose label matches `item`. */
export async function clickMenu(page: Page, menu: string, item: RegExp): Promise<void> {
  await page.locator('#jp-MainMenu .lm-MenuBar-itemLabel', { hasText: new RegExp(`^${menu}$`) }).click();
  await page.locator('.lm-Menu .lm-Menu-item', { has: page.locator('.lm-Menu-itemLabel', { hasText: item }) }).click();
}

/**
 * Resolves once JupyterLab's splash (the logo shown while it starts, and
 * again while it switches themes) is gone: screenshots come after it.
 */
export async function splashGone(page: Page, timeout = 30000): Promise<void> {
  await page.locator('#jupyterlab-splash').waitFor({ state: 'detached', timeout });
}

/** Opens `name` in JupyterLab; resolves when its kernel ("ROOT C++ (Clad + LibTorch)") is idle and the splash is gone. */
export async function openNotebook(lab: Lab, page: Page, name: string, timeout: number): Promise<void> {
  await page.goto(`${lab.base}/lab/tree/${name}?token=${lab.token}`, { timeout });
  await page
    .locator('.jp-NotebookPanel .jp-KernelName', { hasText: 'ROOT C++ (Clad + LibTorch)' })
    .waitFor({ timeout });
  await page
    .locator('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]')
    .waitFor({ state: 'attached', timeout });
  await splashGone(page, timeout);
}

/**
 * Run > Run All Cells; resolves when every code cell has its execution
 * count. `tick` is called about every 300 ms meanwhile. Fails, with the
 * outputs, when the kernel goes idle with cells not run (a cell failed) or
 * after `timeout` ms.
 */
export async function runAllCells(page: Page, timeout: number, tick?: () => Promise<void>): Promise<void> {
  await clickMenu(page, 'Run', /^Run All Cells$/);
  const start = Date.now();
  let stalled = 0;
  for (;;) {
    const p = await progress(page);
    if (tick) await tick();
    if (p.prompts.length > 0 && p.prompts.every((s) => /^\[\d+\]:?$/.test(s))) return;
    // idle, nothing running or queued, and not all cells ran: a cell failed (the rest were not run)
    stalled =
      p.kernel === 'idle' && !p.prompts.some((s) => s.includes('*')) && Date.now() - start > 5000 ? stalled + 1 : 0;
    if (stalled >= 10)
      throw new Error(
        `the notebook stopped before every cell ran (prompts ${p.prompts.join(' ')}); outputs:\n${await outputsText(page)}`,
      );
    if (Date.now() - start > timeout) {
      throw new Error(
        `the notebook did not finish within ${timeout / 1000} s (prompts ${p.prompts.join(' ')}); outputs:\n${await outputsText(page)}`,
      );
    }
    await sleep(300);
  }
}

/**
 * File > Save Notebook, then the notebook as saved, through the contents REST
 * API. The file is read only once JupyterLab says the save finished (the
 * tab's dirty mark gone): the server writes in place and, with its backup
 * copy ("atomic writing"), a read that meets a half-written file puts the
 * backup back, losing the save.
 */
export async function saveAndFetch(lab: Lab, page: Page, name: string): Promise<Notebook> {
  const dirtyTab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty').filter({ hasText: name });
  // ran cells leave the notebook modified; without the mark, the wait below would prove nothing
  await dirtyTab
    .first()
    .waitFor({ state: 'attached', timeout: 5000 })
    .catch(() => {
      throw new Error(`${name}'s tab has no unsaved-changes mark (.jp-mod-dirty) before File > Save Notebook`);
    });
  await clickMenu(page, 'File', /^Save( Notebook)?$/);
  await dirtyTab
    .first()
    .waitFor({ state: 'detached', timeout: 30000 })
    .catch(async () => {
      const dialog = await page.locator('.jp-Dialog').allInnerTexts();
      throw new Error(
        `${name} still has unsaved changes 30 s after File > Save Notebook${dialog.length ? `; a dialog is open: ${dialog.join(' | ')}` : ''}`,
      );
    });
  const deadline = Date.now() + 10000;
  for (;;) {
    const r = await lab.api('GET', `/api/contents/${name}?type=notebook&content=1`);
    if (!r.ok && Date.now() > deadline)
      throw new Error(`GET /api/contents/${name} after its save: HTTP ${r.status}: ${await r.text()}`);
    const nb = r.ok ? ((await r.json()) as { content: Notebook }).content : undefined;
    if (nb && codeCells(nb).every((c) => typeof c.execution_count === 'number')) return nb;
    if (Date.now() > deadline)
      throw new Error(`the saved ${name} has cells without outputs after File > Save Notebook finished`);
    await sleep(250);
  }
}

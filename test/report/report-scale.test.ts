/**
 * 10,000 experiments: the report stays one file under 10 MB (histories downsampled to a point budget), and the
 * table is virtualised: the DOM holds only the rows in view, the count says 10,000, scrolling reaches the last run,
 * and sorting and filtering still match the files. Load time is a benchmark (scripts/bench.ts, report-10k), not
 * asserted here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import { chromiumMissing, launch, openReport, REQUIRE_BROWSER, type OpenedPage } from './browser.js';
import { writeLargeIncrement, type LargeRun } from './large.js';

if (chromiumMissing && REQUIRE_BROWSER) throw new Error(`The report tests need Chromium under CI: ${chromiumMissing}`);

const N = 10_000;
let root: string;
let c: TestClient;
let runs: LargeRun[];
let result: Record<string, any>;
let file: string;

beforeAll(async () => {
  root = scratchDir();
  runs = writeLargeIncrement(root, N).runs;
  c = await inMemoryClient(root);
  result = await c.ok('render_report', { increment: '1' });
  file = path.join(root, result.reports[0].file);
}, 240_000);

afterAll(async () => {
  await c?.close();
  // 40,000 files: not left behind in the temp folder.
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** Scrolls the table to a fraction of its height and returns the runs in view, by position. */
async function rowsAt(page: Page, where: 'top' | 'bottom'): Promise<{ pos: number; run: string }[]> {
  return page.evaluate(async (w) => {
    const vp = document.getElementById('runs-viewport')!;
    vp.scrollTop = w === 'top' ? 0 : vp.scrollHeight;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const view = vp.getBoundingClientRect();
    return [...vp.querySelectorAll<HTMLElement>('.grid-row[data-pos]')]
      .filter((r) => !r.hidden)
      .filter((r) => {
        const b = r.getBoundingClientRect();
        return b.bottom > view.top + 30 && b.top < view.bottom;
      })
      .map((r) => ({ pos: Number(r.dataset.pos), run: r.dataset.run! }))
      .sort((a, b) => a.pos - b.pos);
  }, where);
}

describe('a report of 10,000 experiments', () => {
  it('is one file under 10 MB with every run and downsampled curves', () => {
    const r = result.reports[0];
    expect(r.experiments).toBe(N);
    expect(r.bytes).toBe(fs.statSync(file).size);
    expect(r.bytes).toBeLessThan(10 * 1024 * 1024);
    // 10,000 loss curves of 60 points each share a 200,000-point budget: 20 points each.
    expect(r.points_logged).toBe(N * 60);
    expect(r.points_kept).toBe(N * 20);
  });

  it('is only counted in the index when another increment is rendered', async () => {
    const small = (await c.ok('create_increment', { title: 'Small', primary_metric: 'accuracy' })).increment;
    await c.ok('track_experiment', { increment: small, name: 'a', metrics: { accuracy: 0.8 } });
    const r = await c.ok('render_report', { increment: small });
    expect(r.reports.map((x: { increment: string }) => x.increment)).toEqual([small]);
    const index = fs.readFileSync(path.join(root, '.specweave/report.html'), 'utf8');
    const large = /<tr><td><a href="increments\/0001-large-sweep\/report.html">[\s\S]*?<\/tr>/.exec(index)![0];
    expect(large).toContain('<td>10000</td><td><span class="muted">see its report</span></td>');
    const smallRow = new RegExp(`<tr><td><a href="increments/${small}/report.html">[\\s\\S]*?</tr>`).exec(index)![0];
    expect(smallRow).toContain('<td>1</td><td>1</td><td>a <span class="muted">0.8 accuracy (test)</span></td>');
  });

  describe.skipIf(chromiumMissing)('in Chromium', () => {
    let browser: Browser;
    let opened: OpenedPage;
    beforeAll(async () => {
      browser = await launch();
      opened = await openReport(browser, file);
    }, 120_000);
    afterAll(async () => {
      await opened?.close();
      await browser?.close();
    });

    it('keeps only the visible rows in the DOM and scrolls to the last run', async () => {
      const page = opened.page;
      expect(opened.errors).toEqual([]);
      expect(opened.requests).toEqual([]);
      expect(await page.locator('#row-count').getAttribute('data-total')).toBe(String(N));
      expect(await page.locator('#row-count').textContent()).toBe('10,000 of 10,000 runs');
      expect(await page.locator('.grid-row[data-pos]').count()).toBeLessThan(80);
      const byCv = [...runs].sort((a, b) => b.cvMean - a.cvMean);
      const top = await rowsAt(page, 'top');
      expect(top[0]).toEqual({ pos: 0, run: byCv[0]!.name });
      const bottom = await rowsAt(page, 'bottom');
      expect(bottom.at(-1)).toEqual({ pos: N - 1, run: byCv[N - 1]!.name });
      expect(await page.locator('.grid-row[data-pos]').count()).toBeLessThan(80);
    });

    it('sorts and filters 10,000 rows to what the files say', async () => {
      const page = opened.page;
      await page.click('.grid-head [data-col="test"]');
      const byTest = [...runs].sort((a, b) => a.test - b.test);
      expect((await rowsAt(page, 'top'))[0]!.run).toBe(byTest[0]!.name);
      expect((await rowsAt(page, 'bottom')).at(-1)!.run).toBe(byTest[N - 1]!.name);
      await page.selectOption('#status-filter', 'failed');
      const failed = runs.filter((r) => r.status === 'failed');
      expect(await page.locator('#row-count').getAttribute('data-shown')).toBe(String(failed.length));
      await page.selectOption('#status-filter', '');
      await page.fill('#filter', 'rmsprop');
      const rms = runs.filter((r) => r.optimizer === 'rmsprop').length;
      await expect.poll(() => page.locator('#row-count').getAttribute('data-shown')).toBe(String(rms));
      expect(await page.locator('#parcoords').getAttribute('data-lines')).toBe(String(rms));
    });

    it("draws a ticked run's downsampled curve: 20 points, first and last step kept", async () => {
      const page = opened.page;
      const row = (await rowsAt(page, 'top'))[3]!;
      await page.click(`.grid-row[data-run="${row.run}"] input.pick`);
      const d = (await page.locator(`#curves-svg path.curve[data-run="${row.run}"]`).getAttribute('d'))!;
      expect(d.match(/[ML]/g)!.length).toBe(20);
      expect(opened.errors).toEqual([]);
    });
  });
});

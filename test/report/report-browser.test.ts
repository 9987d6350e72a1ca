/**
 * The increment report in a real headless Chromium (Debian's, driven by playwright-core): a 30-run increment
 * written through the MCP tools, rendered by render_report, opened from file://. It loads with no console error and
 * no request; the table has one row per experiment folder; sorting and filters give the order and the rows the
 * files say; a run's curve appears when it is ticked, with its logged points; screenshots are not blank.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryClient, stdioClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import { chromiumMissing, launch, openReport, pixelStats, REQUIRE_BROWSER, type OpenedPage } from './browser.js';
import { writeFixtureIncrement, type Fixture } from './fixture.js';

if (chromiumMissing && REQUIRE_BROWSER) throw new Error(`The report tests need Chromium under CI: ${chromiumMissing}`);

interface OnDisk {
  name: string;
  test: number | undefined;
  status: string;
  tags: string[];
  params: Record<string, unknown>;
  trainLossSteps: number;
}

/** What the experiment files hold, read back independently of the server (metrics.json, params.json, history). */
function readExperiments(incDir: string): OnDisk[] {
  const root = path.join(incDir, 'experiments');
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => {
      const dir = path.join(root, d.name);
      const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
      const meta = fs.readFileSync(path.join(dir, 'metadata.yaml'), 'utf8');
      const history = fs
        .readFileSync(path.join(dir, 'history.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      return {
        name: d.name,
        test: metrics.roc_auc,
        status: /^status: "(\w+)"/m.exec(meta)![1]!,
        tags: [...meta.matchAll(/^ {2}- "([^"]+)"$/gm)].map((m) => m[1]!),
        params: JSON.parse(fs.readFileSync(path.join(dir, 'params.json'), 'utf8')),
        trainLossSteps: new Set(history.filter((p) => p.metric === 'train_loss').map((p) => p.step)).size,
      };
    });
}

/** The table's order: scrolls the virtualised viewport top to bottom and collects each position's run. */
async function tableOrder(page: Page): Promise<string[]> {
  const seen = await page.evaluate(async () => {
    const vp = document.getElementById('runs-viewport')!;
    const out: Record<string, string> = {};
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    for (let top = 0; ; top += 200) {
      vp.scrollTop = top;
      await frame();
      for (const row of vp.querySelectorAll<HTMLElement>('.grid-row[data-pos]')) if (!row.hidden) out[row.dataset.pos!] = row.dataset.run!;
      if (top >= vp.scrollHeight) break;
    }
    vp.scrollTop = 0;
    await frame();
    return out;
  });
  return Object.keys(seen)
    .map(Number)
    .sort((a, b) => a - b)
    .map((k) => seen[k]!);
}

const shownCount = (page: Page) => page.locator('#row-count').getAttribute('data-shown').then(Number);

describe.skipIf(chromiumMissing)('the increment report in Chromium', () => {
  let root: string;
  let c: TestClient;
  let fixture: Fixture;
  let disk: OnDisk[];
  let ranking: string[];
  let browser: Browser;
  let opened: OpenedPage;
  let file: string;

  beforeAll(async () => {
    root = scratchDir();
    c = await inMemoryClient(root);
    fixture = await writeFixtureIncrement(c, root);
    const out = await c.ok('render_report', { increment: fixture.increment });
    file = path.join(root, out.reports[0].file);
    disk = readExperiments(fixture.dir);
    const cmp = await c.ok('compare_experiments', { increment: fixture.increment, top: 100 });
    ranking = cmp.top.map((t: { experiment: string }) => t.experiment);
    browser = await launch();
    opened = await openReport(browser, file);
  }, 120_000);

  afterAll(async () => {
    await opened?.close();
    await browser?.close();
    await c?.close();
  });

  it('loads with no console error and no network request', async () => {
    expect(opened.errors).toEqual([]);
    expect(opened.requests).toEqual([]);
    // The policy is in force: default-src 'none' and nothing inline but the hashed script and style.
    const csp = await opened.page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/);
  });

  it('has one row per experiment folder, in ranking order', async () => {
    expect(disk.length).toBe(30);
    expect(await opened.page.locator('#row-count').getAttribute('data-total')).toBe('30');
    expect(await shownCount(opened.page)).toBe(30);
    const order = await tableOrder(opened.page);
    expect(order).toEqual(ranking);
    expect(new Set(order)).toEqual(new Set(disk.map((d) => d.name)));
    // The best run is marked, and so are the baselines.
    expect(await opened.page.locator(`.grid-row.best[data-run="${fixture.best}"]`).count()).toBe(1);
    const baselines = await opened.page.locator('.grid-row .badge.baseline').count();
    expect(baselines).toBe(2);
  });

  it('sorts by the test metric both ways, missing values last, ties in table order', async () => {
    const page = opened.page;
    const byTest = (dir: 1 | -1) =>
      [...disk]
        .sort((a, b) => {
          if (a.test === undefined || b.test === undefined) return a.test === b.test ? 0 : a.test === undefined ? 1 : -1;
          return (a.test - b.test) * dir || ranking.indexOf(a.name) - ranking.indexOf(b.name);
        })
        .map((d) => d.name);
    await page.click('.grid-head [data-col="test"]');
    expect(await tableOrder(page)).toEqual(byTest(1));
    await page.click('.grid-head [data-col="test"]');
    expect(await tableOrder(page)).toEqual(byTest(-1));
    // A string column sorts by code point.
    await page.click('.grid-head [data-col="name"]');
    expect(await tableOrder(page)).toEqual(disk.map((d) => d.name).sort((a, b) => (a < b ? -1 : 1)));
    // From the keyboard: focus a header, Enter sorts by it.
    await page.focus('.grid-head [data-col="rank"]');
    await page.keyboard.press('Enter');
    expect(await page.locator('.grid-head [data-col="rank"]').getAttribute('aria-sort')).toBe('ascending');
    expect(await tableOrder(page)).toEqual(ranking);
  });

  it('filters by text, status and tag to exactly the runs the files match', async () => {
    const page = opened.page;
    await page.fill('#filter', 'xgboost');
    await expect.poll(() => shownCount(page)).toBe(disk.filter((d) => d.name.includes('xgboost')).length);
    expect((await tableOrder(page)).every((n) => n.includes('xgboost'))).toBe(true);
    // A param value matches too: penalty "l1" appears only in params.
    await page.fill('#filter', 'l1');
    const withL1 = disk.filter(
      (d) => d.name.includes('l1') || Object.values(d.params).some((v) => typeof v === 'string' && v.includes('l1')),
    );
    expect(withL1.length).toBeGreaterThan(0);
    await expect.poll(() => tableOrder(page)).toEqual(ranking.filter((n) => withL1.some((d) => d.name === n)));
    await page.fill('#filter', '');
    await expect.poll(() => shownCount(page)).toBe(30);

    await page.selectOption('#status-filter', 'failed');
    const failed = disk.filter((d) => d.status === 'failed').map((d) => d.name);
    expect(failed.length).toBe(1);
    expect(await tableOrder(page)).toEqual(failed);
    await page.selectOption('#status-filter', '');

    await page.selectOption('#tag-filter', { label: 'tuned' });
    const tuned = ranking.filter((n) => disk.find((d) => d.name === n)!.tags.includes('tuned'));
    expect(tuned.length).toBeGreaterThan(2);
    expect(await tableOrder(page)).toEqual(tuned);
    await page.selectOption('#tag-filter', '');
    expect(await shownCount(page)).toBe(30);
  });

  it('hides the params every run shares when "differences only" is on', async () => {
    const page = opened.page;
    const headers = () => page.locator('.grid-head [data-col]').allTextContents();
    const all = await headers();
    expect(all).toEqual(expect.arrayContaining(['seed', 'learning_rate', 'model', 'penalty']));
    await page.check('#diff-only');
    const diff = await headers();
    // seed is 42 in every run except the majority baseline, which has none: it differs. Filter to candidates.
    expect(diff).toEqual(expect.arrayContaining(['learning_rate', 'model']));
    await page.selectOption('#tag-filter', { label: 'candidate' });
    const amongCandidates = await headers();
    expect(amongCandidates).not.toContain('seed');
    expect(amongCandidates).toContain('learning_rate');
    await page.uncheck('#diff-only');
    expect(await headers()).toContain('seed');
    await page.selectOption('#tag-filter', '');
  });

  it("draws a run's curve when it is ticked, with every logged point", async () => {
    const page = opened.page;
    await page.selectOption('#curve-metric', { label: 'train_loss' });
    const pick = disk.find((d) => d.name !== fixture.best && d.trainLossSteps > 0 && ranking.indexOf(d.name) < 10)!;
    const curve = page.locator(`#curves-svg path.curve[data-run="${pick.name}"]`);
    expect(await curve.count()).toBe(0);
    await page.click(`.grid-row[data-run="${pick.name}"] input.pick`);
    expect(await curve.count()).toBe(1);
    const d = (await curve.getAttribute('d'))!;
    // 30 runs keep every point (the budget allows 500 a curve): one M/L per logged step.
    expect(d.match(/[ML]/g)!.length).toBe(pick.trainLossSteps);
    expect(await page.locator('#curves-legend').textContent()).toContain(pick.name);
    await page.click(`.grid-row[data-run="${pick.name}"] input.pick`);
    expect(await curve.count()).toBe(0);
  });

  it('shows the CV folds, the best model plots as images, the gates and the notes', async () => {
    const page = opened.page;
    const foldRows = await page.locator('#folds-svg g.fold-row').count();
    expect(foldRows).toBe(30);
    expect(await page.locator(`#folds-svg g.fold-row[data-run="${fixture.best}"] circle`).count()).toBe(5);
    const svgs = fs.readdirSync(path.join(fixture.dir, 'experiments', fixture.best)).filter((f) => f.endsWith('.svg'));
    expect(svgs.length).toBeGreaterThan(2);
    expect(await page.locator('#best-plots img').count()).toBe(svgs.length);
    // Every plot decoded as an image (an SVG that failed to load has naturalWidth 0).
    const widths = await page.locator('#best-plots img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
    expect(widths.every((w) => w > 0)).toBe(true);
    const v = await c.ok('validate_increment', { increment: fixture.increment });
    // The same checks validate_increment gives, in order, word for word.
    const gateRows = await page.locator('#gates tr').allTextContents();
    expect(gateRows).toEqual([
      'gatestatusmessage',
      ...v.checks.map((ch: { id: string; status: string; message: string }) => `${ch.id}${ch.status}${ch.message}`),
    ]);
    expect(
      await page
        .locator('#gates .st-' + v.verdict)
        .first()
        .textContent(),
    ).toBe(v.verdict.toUpperCase());
    expect(await page.locator('#notes li').count()).toBeGreaterThan(0);
    // The registry's current version, read through list_models as the reference.
    const models = await c.ok('list_models', {});
    expect(JSON.stringify(models)).toContain(fixture.model.version);
    const registry = await page.locator('#registry tr').allTextContents();
    expect(registry).toEqual([
      'modelstageversionexperimentincrement',
      `${fixture.model.name}staging${fixture.model.version}${fixture.best}${fixture.increment}`,
    ]);
    expect(opened.errors).toEqual([]);
    expect(opened.requests).toEqual([]);
  });

  it('renders screenshots that are not blank', async () => {
    const shot = await opened.page.screenshot({ fullPage: false });
    const blank = await browser.newPage();
    await blank.setContent('<html><body></body></html>');
    const empty = await blank.screenshot();
    await blank.close();
    const s = pixelStats(shot);
    const e = pixelStats(empty);
    expect(e.variance).toBe(0);
    expect(s.variance).toBeGreaterThan(100);
    expect(s.colours).toBeGreaterThan(50);
    // Each section draws something of its own.
    for (const id of ['#curves-svg', '#parcoords', '#folds-svg']) {
      const part = pixelStats(await opened.page.locator(id).screenshot());
      expect(part.variance, id).toBeGreaterThan(50);
    }
  });

  it('is the same file when the built bundle renders it over stdio (npm run build first)', async () => {
    const stdio = await stdioClient(['--root', root]);
    try {
      const before = fs.readFileSync(file, 'utf8');
      const out = await stdio.ok('render_report', { increment: fixture.increment });
      expect(out.reports[0].bytes).toBe(Buffer.byteLength(before));
      expect(fs.readFileSync(file, 'utf8')).toBe(before);
    } finally {
      await stdio.close();
    }
  });

  it('writes a project index that links to the report and loads cleanly', async () => {
    const index = path.join(root, '.specweave/report.html');
    const page = await openReport(browser, index, { ready: false });
    const href = await page.page.locator('#increments a').getAttribute('href');
    expect(href).toBe(`increments/${fixture.increment}/report.html`);
    expect(fs.existsSync(path.join(root, '.specweave', href!))).toBe(true);
    expect(await page.page.locator('#increments tr').count()).toBe(2);
    expect(await page.page.locator('#increments').textContent()).toContain(fixture.best);
    expect(await page.page.locator('#registry').textContent()).toContain(`${fixture.model.name}staging${fixture.model.version}`);
    expect(page.errors).toEqual([]);
    expect(page.requests).toEqual([]);
    await page.close();
  });
});

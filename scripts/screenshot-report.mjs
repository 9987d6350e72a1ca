// Writes docs/img/report.png, the README's picture of the report: the test suite's realistic increment (30 runs of
// four model families, 5-fold CV, loss curves, baselines, an evaluated and registered best model; see
// test/report/fixture.ts) rendered by render_report and photographed in Debian's headless chromium.
//   node scripts/screenshot-report.mjs [--out docs/img/report.png] [--keep]
import { build } from 'esbuild';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const out = path.resolve(root, arg('out') ?? 'docs/img/report.png');
const chromiumPath = process.env.SPECWEAVE_CHROMIUM ?? '/usr/bin/chromium';
if (!fs.existsSync(chromiumPath)) {
  console.error(`No Chromium at ${chromiumPath}: apt-get install chromium (or set SPECWEAVE_CHROMIUM).`);
  process.exit(1);
}

// The fixture and the in-memory MCP client are TypeScript: bundle a tiny entry that uses them.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'swml-shot-'));
// Bundled next to the repository's node_modules (in .bench/, ignored by git) so its packages resolve.
const entry = path.join(root, '.bench', 'screenshot-make.mjs');
await build({
  stdin: {
    contents: `
      import { inMemoryClient } from './test/helpers/client.ts';
      import { writeFixtureIncrement } from './test/report/fixture.ts';
      export async function make(dir) {
        const c = await inMemoryClient(dir);
        const f = await writeFixtureIncrement(c, dir);
        const r = await c.ok('render_report', { increment: f.increment });
        await c.close();
        return { file: r.reports[0].file, best: f.best };
      }`,
    resolveDir: root,
    loader: 'ts',
  },
  outfile: entry,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  // test/helpers/project.ts finds the bundle from __dirname, which vitest provides.
  define: { __dirname: JSON.stringify(path.join(root, 'test/helpers')) },
});
const project = path.join(work, 'project');
fs.mkdirSync(project);
const { make } = await import(pathToFileURL(entry).href);
const { file } = await make(project);

const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1360, height: 1000 }, deviceScaleFactor: 1 });
await page.goto(pathToFileURL(path.join(project, file)).href);
await page.waitForSelector('body[data-ready="1"]');
// Three more runs ticked and the validation loss shown: what a reader comparing runs would look at.
await page.selectOption('#curve-metric', { label: 'val_loss' });
for (const pos of [1, 2, 4]) await page.click(`.grid-row[data-pos="${pos}"] input.pick`);
await page.evaluate(() => document.getElementById('runs-viewport').style.setProperty('height', '330px'));
await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
const bottom = await page.evaluate(() => document.getElementById('curves-legend').getBoundingClientRect().bottom + window.scrollY);
fs.mkdirSync(path.dirname(out), { recursive: true });
await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: 1360, height: Math.ceil(bottom) + 16 } });
await browser.close();
if (!process.argv.includes('--keep')) fs.rmSync(work, { recursive: true, force: true });
console.log(
  `${path.relative(root, out)} (${fs.statSync(out).size} bytes)${process.argv.includes('--keep') ? `; project kept in ${project}` : ''}`,
);

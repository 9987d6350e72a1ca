/**
 * Headless Chromium for the report tests: Debian's chromium driven by playwright-core (which downloads nothing).
 * Absent, the tests skip with the reason, except under CI or SPECWEAVE_REQUIRE_PYENV=1, where they fail. Every page
 * opened records its console errors, page errors and every request that is not the report file itself.
 */
import * as fs from 'node:fs';
import { inflateSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = process.env.SPECWEAVE_CHROMIUM ?? '/usr/bin/chromium';
export const REQUIRE_BROWSER = !!process.env.CI || process.env.SPECWEAVE_REQUIRE_PYENV === '1';
export const chromiumMissing = fs.existsSync(CHROMIUM)
  ? null
  : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set SPECWEAVE_CHROMIUM)`;

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

export interface OpenedPage {
  page: Page;
  /** Console messages of type error, and uncaught page errors. */
  errors: string[];
  /** Every request other than the page's own file:// URL (data: URIs included, for the record). */
  requests: string[];
  close(): Promise<void>;
}

/** Opens a report file and waits until its script says it is ready (or, with no script, until load). */
export async function openReport(
  browser: Browser,
  file: string,
  opts: { viewport?: { width: number; height: number }; ready?: boolean } = {},
): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 900 } });
  const url = pathToFileURL(file).href;
  const errors: string[] = [];
  const requests: string[] = [];
  // Any request leaving the page is recorded and refused: the report must need none.
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    requests.push(u);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => {
    const u = r.url();
    if (u !== url && !u.startsWith('data:') && !requests.includes(u)) requests.push(u);
  });
  await page.goto(url);
  if (opts.ready !== false) await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  return { page, errors, requests, close: () => context.close() };
}

/** A tiny PNG decoder (8-bit RGB/RGBA, non-interlaced: what Chromium writes), enough to measure a screenshot. */
export function decodePng(png: Buffer): { width: number; height: number; channels: number; pixels: Uint8Array } {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6))
        throw new Error(`unsupported PNG (depth ${depth}, colour ${colour})`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x += 1) {
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0;
      let v = line[x]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      pixels[y * stride + x] = v & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** The variance of the grey level over all pixels, and how many distinct colours there are (up to a cap). */
export function pixelStats(png: Buffer): { variance: number; colours: number; width: number; height: number } {
  const { width, height, channels, pixels } = decodePng(png);
  let sum = 0;
  let sq = 0;
  const colours = new Set<number>();
  const n = width * height;
  for (let i = 0; i < n; i += 1) {
    const o = i * channels;
    const grey = (pixels[o]! + pixels[o + 1]! + pixels[o + 2]!) / 3;
    sum += grey;
    sq += grey * grey;
    if (colours.size < 5000) colours.add((pixels[o]! << 16) | (pixels[o + 1]! << 8) | pixels[o + 2]!);
  }
  const mean = sum / n;
  return { variance: sq / n - mean * mean, colours: colours.size, width, height };
}

/**
 * Minimal SVG building blocks shared by the plots. Output is plain SVG 1.1 with inline attributes only — no
 * scripts, no CSS, no external fonts — so GitHub and browsers render the files as they are. Every number is
 * printed with fixed rounding, so the same input always gives the same bytes.
 */

export const FONT = 'font-family="Helvetica, Arial, sans-serif"';
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Escapes text for use in element content and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A coordinate rounded to 0.01 px, without "-0". */
export function px(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** A value for a tick or a label: up to 4 significant digits, exponent form for very large or small values. */
export function label(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** Shortens a long label so it fits; the full text goes into a <title> tooltip by the caller. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function document(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

export function text(
  x: number,
  y: number,
  content: string,
  opts: { size?: number; anchor?: 'start' | 'middle' | 'end'; rotate?: boolean; color?: string; weight?: string } = {},
): string {
  const rot = opts.rotate ? ` transform="rotate(-90 ${px(x)} ${px(y)})"` : '';
  const weight = opts.weight ? ` font-weight="${opts.weight}"` : '';
  return `<text x="${px(x)}" y="${px(y)}" ${FONT} font-size="${opts.size ?? 12}" text-anchor="${opts.anchor ?? 'start'}" fill="${opts.color ?? '#222222'}"${weight}${rot}>${esc(content)}</text>`;
}

/** About five round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** [min, max] of finite values, widened a little (and to a unit range when all values are equal). */
export function extent(values: Iterable<number>, pad = 0.05): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
  x: [number, number];
  y: [number, number];
}

export function sx(f: Frame, v: number): number {
  return f.left + ((v - f.x[0]) / (f.x[1] - f.x[0])) * f.width;
}

export function sy(f: Frame, v: number): number {
  return f.top + f.height - ((v - f.y[0]) / (f.y[1] - f.y[0])) * f.height;
}

/** Plot area border, grid lines, tick labels and axis titles. */
export function axes(f: Frame, xTitle: string, yTitle: string): string[] {
  const out: string[] = [];
  for (const t of ticks(f.x[0], f.x[1])) {
    const x = sx(f, t);
    out.push(`<line x1="${px(x)}" y1="${px(f.top)}" x2="${px(x)}" y2="${px(f.top + f.height)}" stroke="#e5e5e5" stroke-width="1"/>`);
    out.push(text(x, f.top + f.height + 16, label(t), { size: 11, anchor: 'middle' }));
  }
  for (const t of ticks(f.y[0], f.y[1])) {
    const y = sy(f, t);
    out.push(`<line x1="${px(f.left)}" y1="${px(y)}" x2="${px(f.left + f.width)}" y2="${px(y)}" stroke="#e5e5e5" stroke-width="1"/>`);
    out.push(text(f.left - 6, y + 4, label(t), { size: 11, anchor: 'end' }));
  }
  out.push(
    `<rect x="${px(f.left)}" y="${px(f.top)}" width="${px(f.width)}" height="${px(f.height)}" fill="none" stroke="#444444" stroke-width="1"/>`,
  );
  out.push(text(f.left + f.width / 2, f.top + f.height + 34, xTitle, { anchor: 'middle' }));
  out.push(text(f.left - 44, f.top + f.height / 2, yTitle, { anchor: 'middle', rotate: true }));
  return out;
}

/** A polyline path through the finite points. */
export function path(
  f: Frame,
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  color: string,
  opts: { dash?: boolean; width?: number } = {},
): string {
  const parts: string[] = [];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    parts.push(`${parts.length === 0 ? 'M' : 'L'}${px(sx(f, x))} ${px(sy(f, y))}`);
  }
  if (parts.length === 0) return '';
  const dash = opts.dash ? ` stroke-dasharray="5 4"` : '';
  return `<path d="${parts.join(' ')}" fill="none" stroke="${color}" stroke-width="${opts.width ?? 2}"${dash}/>`;
}

/** Legend box in the given corner of the frame. */
export function legend(
  f: Frame,
  entries: Array<{ label: string; color: string; dash?: boolean }>,
  corner: 'br' | 'tr' | 'bl' = 'br',
): string[] {
  if (entries.length === 0) return [];
  const shown = entries.slice(0, 12);
  const w = Math.min(260, 34 + Math.max(...shown.map((e) => e.label.length)) * 6.5);
  const h = 8 + shown.length * 16;
  const x0 = corner === 'bl' ? f.left + 8 : f.left + f.width - w - 8;
  const y0 = corner === 'tr' ? f.top + 8 : f.top + f.height - h - 8;
  const out = [`<rect x="${px(x0)}" y="${px(y0)}" width="${px(w)}" height="${px(h)}" fill="#ffffff" fill-opacity="0.9" stroke="#cccccc"/>`];
  shown.forEach((e, i) => {
    const y = y0 + 14 + i * 16;
    out.push(
      `<line x1="${px(x0 + 6)}" y1="${px(y - 4)}" x2="${px(x0 + 24)}" y2="${px(y - 4)}" stroke="${e.color}" stroke-width="2"${e.dash ? ' stroke-dasharray="5 4"' : ''}/>`,
    );
    out.push(text(x0 + 30, y, clip(e.label, 36), { size: 11 }));
  });
  return out;
}

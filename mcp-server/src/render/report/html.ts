/**
 * The pieces every report page shares: a strict Content-Security-Policy that names the page's one inline script
 * and one inline style by hash (nothing else runs, nothing is fetched, images only as data: URIs), HTML escaping,
 * and JSON that is safe inside a <script> data block. Pure.
 */
import { createHash } from 'node:crypto';

/** Escapes text for element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` written as \u escapes, so no file content
 * (a run name, a note, an SVG) can close the block or open a tag; U+2028/U+2029 escaped for old parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * default-src 'none': no fetch, no frame, no font, no connection. The inline script and style are allowed by their
 * hashes only; images only from data: URIs (the evaluation plots).
 */
export function contentSecurityPolicy(script: string | null, style: string): string {
  return [
    "default-src 'none'",
    script === null ? null : `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ]
    .filter(Boolean)
    .join('; ');
}

export interface PageParts {
  title: string;
  style: string;
  /** Static, already-escaped body markup. */
  body: string;
  /** JSON for the data block, when the page has a script. */
  data?: unknown;
  script?: string;
}

export function page(p: PageParts): string {
  const script = p.script ?? null;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(script, p.style))}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(p.title)}</title>`,
    `<style>${p.style}</style>`,
    '</head>',
    '<body>',
    p.body,
    p.data === undefined ? '' : `<script id="report-data" type="application/json">${jsonForScript(p.data)}</script>`,
    script === null ? '' : `<script>${script}</script>`,
    '</body>',
    '</html>',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

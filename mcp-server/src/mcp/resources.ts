/**
 * MCP resources: registers core/resources.ts' kinds with the SDK, pages resources/list (a project can hold tens of
 * thousands of experiments), turns the paths a tool result names into resource links, and offers the report as an
 * MCP Apps view (`ui://`) to hosts that render one.
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, ListResourcesRequestSchema, McpError, type ResourceLink } from '@modelcontextprotocol/sdk/types.js';
import path from 'node:path';
import { MlError } from '../core/errors.js';
import { listIncrements } from '../core/increments.js';
import type { Project } from '../core/project.js';
import {
  PROJECT_REPORT_URI,
  RESOURCE_KINDS,
  projectReportExists,
  readProjectReport,
  resourceForPath,
  type ResourceContent,
  type ResourceEntry,
} from '../core/resources.js';
import { entryInfo, isFile, readText } from '../core/store/disk.js';

/** resources/list returns at most this many per page, with a cursor for the next. */
export const RESOURCE_PAGE_SIZE = 500;

/** A tool result links to at most this many files: enough for every file one call writes, never a flood. */
export const MAX_RESOURCE_LINKS = 20;

/** The MCP Apps view of the latest report, and the tools whose results it renders. */
export const REPORT_APP_URI = 'ui://specweave-ml/report.html';
export const MCP_APP_MIME = 'text/html;profile=mcp-app';
export const TOOLS_WITH_REPORT_VIEW = new Set(['render_report']);

/** Resource errors travel as JSON-RPC errors (resources have no isError channel); -32002 is "resource not found". */
function protocolError(e: unknown): never {
  if (e instanceof McpError) throw e;
  if (e instanceof MlError) {
    throw new McpError(e.code === 'NOT_FOUND' ? -32002 : ErrorCode.InvalidParams, e.describe());
  }
  throw e;
}

function toSdkContents(c: ResourceContent) {
  return c.blob !== undefined
    ? { uri: c.uri, mimeType: c.mimeType, blob: c.blob }
    : { uri: c.uri, mimeType: c.mimeType, text: c.text ?? '' };
}

export function registerResources(server: McpServer, project: Project): void {
  for (const kind of RESOURCE_KINDS) {
    server.registerResource(
      kind.name,
      new ResourceTemplate(kind.template, { list: undefined }),
      { mimeType: kind.mimeType, description: kind.description },
      async (_uri, vars) => {
        try {
          return { contents: [toSdkContents(await kind.read(project, vars as Record<string, string>))] };
        } catch (e) {
          protocolError(e);
        }
      },
    );
  }
  server.registerResource(
    'project-report',
    PROJECT_REPORT_URI,
    { mimeType: 'text/html', description: "The project's index report (.specweave/report.html), written by render_report." },
    async () => {
      try {
        return { contents: [toSdkContents(await readProjectReport(project))] };
      } catch (e) {
        protocolError(e);
      }
    },
  );
  server.registerResource(
    'report-view',
    REPORT_APP_URI,
    {
      mimeType: MCP_APP_MIME,
      description: 'The latest report written by render_report, as an MCP Apps view for hosts that render one.',
      _meta: { ui: { prefersBorder: true } },
    },
    async () => ({ contents: [{ uri: REPORT_APP_URI, mimeType: MCP_APP_MIME, text: await latestReportHtml(project) }] }),
  );
  // The SDK's own list handler returns everything in one response; this one pages with an opaque cursor.
  server.server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
    try {
      const all = await listAllResources(project);
      const start = decodeCursor(request.params?.cursor, all.length);
      const page = all.slice(start, start + RESOURCE_PAGE_SIZE);
      const next = start + RESOURCE_PAGE_SIZE < all.length ? encodeCursor(start + RESOURCE_PAGE_SIZE) : undefined;
      return { resources: page, ...(next ? { nextCursor: next } : {}) };
    } catch (e) {
      protocolError(e);
    }
  });
}

async function listAllResources(project: Project): Promise<ResourceEntry[]> {
  const out: ResourceEntry[] = [];
  if (await projectReportExists(project))
    out.push({ uri: PROJECT_REPORT_URI, name: 'report.html', title: 'Project report', mimeType: 'text/html' });
  for (const kind of RESOURCE_KINDS) if (kind.list) out.push(...(await kind.list(project)));
  out.push({ uri: REPORT_APP_URI, name: 'report-view', title: 'Report (MCP Apps view)', mimeType: MCP_APP_MIME });
  return out;
}

const encodeCursor = (offset: number) => Buffer.from(JSON.stringify({ offset })).toString('base64url');

function decodeCursor(cursor: string | undefined, total: number): number {
  if (cursor === undefined) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { offset: unknown };
    if (Number.isInteger(offset) && (offset as number) >= 0 && (offset as number) <= total) return offset as number;
  } catch {
    // fall through to the error below
  }
  throw new McpError(
    ErrorCode.InvalidParams,
    'Invalid resources/list cursor: pass the nextCursor of the previous page unchanged, or none.',
  );
}

/** The newest report.html in the project (an increment's or the index), or a page saying how to make one. */
async function latestReportHtml(project: Project): Promise<string> {
  const candidates = [path.join(project.specweaveDir, 'report.html')];
  for (const inc of await listIncrements(project)) candidates.push(path.join(inc.dir, 'report.html'));
  let newest: { file: string; mtimeMs: number } | undefined;
  for (const file of candidates) {
    const info = await entryInfo(file);
    if (info?.kind === 'file' && (!newest || info.mtimeMs > newest.mtimeMs)) newest = { file, mtimeMs: info.mtimeMs };
  }
  if (newest && (await isFile(newest.file))) {
    const html = await readText(newest.file, { maxBytes: 16 * 1024 * 1024 });
    if (html !== undefined) return html;
  }
  return (
    '<!doctype html><meta charset="utf-8"><title>specweave-ml report</title>' +
    '<p>No report yet: call the <code>render_report</code> tool to write one.</p>'
  );
}

/**
 * Resource links for the `.specweave/` paths a tool result names (any string value under a key such as path, report,
 * file or files), in the order met, without duplicates, at most MAX_RESOURCE_LINKS.
 */
export async function resourceLinksFor(project: Project, data: unknown): Promise<ResourceLink[]> {
  const paths: string[] = [];
  collectPaths(data, paths, 0);
  const links: ResourceLink[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    if (links.length >= MAX_RESOURCE_LINKS) break;
    const r = await resourceForPath(project, p).catch(() => undefined);
    if (!r || seen.has(r.uri)) continue;
    seen.add(r.uri);
    links.push({ type: 'resource_link', uri: r.uri, name: r.name });
  }
  return links;
}

const MAX_WALK_DEPTH = 6;
const MAX_PATHS = 200;

function collectPaths(value: unknown, out: string[], depth: number): void {
  if (out.length >= MAX_PATHS || depth > MAX_WALK_DEPTH || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) collectPaths(v, out, depth + 1);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') {
      if (v.startsWith('.specweave/') && /(^|_)(path|report|file|files|summary|output|index)$/.test(key)) out.push(v);
    } else if (Array.isArray(v) && /(^|_)(files|paths|reports|changes)$/.test(key)) {
      for (const item of v) if (typeof item === 'string' && item.startsWith('.specweave/')) out.push(item);
      collectPaths(v, out, depth + 1);
    } else {
      collectPaths(v, out, depth + 1);
    }
  }
}

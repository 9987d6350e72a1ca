/**
 * The project's records as MCP resources (`specweave://…`): what exists, how each is named, and its content. One
 * list of definitions (RESOURCE_KINDS); mcp/resources.ts registers them with the SDK. Reads go through the sandboxed
 * store like every tool's, so a resource can never show a file outside `.specweave/`.
 */
import path from 'node:path';
import { invalid, MlError, notFound } from './errors.js';
import { experimentsDir, listIncrements, readIncrementMetadata, resolveIncrement, type Increment } from './increments.js';
import { listExperimentNames, readExperiment } from './experiments.js';
import type { Project } from './project.js';
import { readModel, readRegistry } from './registry/index.js';
import { isDirectory, isFile, listEntries, readChunks } from './store/disk.js';

export const RESOURCE_SCHEME = 'specweave://';

/** The largest file a resource read returns; an HTML report of 10,000 experiments stays under 10 MB. */
export const MAX_RESOURCE_BYTES = 16 * 1024 * 1024;

export interface ResourceEntry {
  uri: string;
  name: string;
  title?: string;
  mimeType: string;
  description?: string;
}

export interface ResourceContent {
  uri: string;
  mimeType: string;
  text?: string;
  /** base64, for files that are not UTF-8 text (plots, models). */
  blob?: string;
}

export interface ResourceKind {
  /** Name shown in resources/templates/list. */
  name: string;
  /** RFC 6570 template, as the SDK matches it. */
  template: string;
  mimeType: string;
  description: string;
  /** Every resource of this kind that exists now; kinds too numerous to list (files) leave it out. */
  list?(project: Project): Promise<ResourceEntry[]>;
  read(project: Project, vars: Record<string, string>): Promise<ResourceContent>;
}

const JSON_TYPE = 'application/json';
const uri = (...parts: string[]) => RESOURCE_SCHEME + parts.map(encodeURIComponent).join('/');

export const incrementUri = (id: string) => uri('increments', id);
export const experimentUri = (id: string, name: string) => uri('increments', id, 'experiments', name);
export const comparisonUri = (id: string) => `${incrementUri(id)}/comparison`;
export const incrementReportUri = (id: string) => `${incrementUri(id)}/report`;
export const PROJECT_REPORT_URI = `${RESOURCE_SCHEME}report`;
export const modelUri = (name: string) => uri('registry', name);
/** Any file under `.specweave/`, by its path relative to that folder. */
export const fileUri = (relToSpecweave: string) => `${RESOURCE_SCHEME}files/${relToSpecweave.split('/').map(encodeURIComponent).join('/')}`;

const comparisonFile = (inc: Increment) => path.join(experimentsDir(inc), 'comparison.md');
const incrementReportFile = (inc: Increment) => path.join(inc.dir, 'report.html');
const projectReportFile = (project: Project) => path.join(project.specweaveDir, 'report.html');

/** One entry per increment that has the file `fileOf` names (a comparison, a report). */
async function perIncrementFile(
  project: Project,
  fileOf: (inc: Increment) => string,
  entry: (inc: Increment) => ResourceEntry,
): Promise<ResourceEntry[]> {
  const out: ResourceEntry[] = [];
  for (const inc of await listIncrements(project)) if (await isFile(fileOf(inc))) out.push(entry(inc));
  return out;
}

function json(u: string, value: unknown): ResourceContent {
  return { uri: u, mimeType: JSON_TYPE, text: `${JSON.stringify(value, null, 2)}\n` };
}

/** A template variable as the caller sent it, decoded; refuses what no name of ours can contain. */
function variable(vars: Record<string, string>, key: string): string {
  const raw = vars[key];
  let value: string;
  try {
    value = decodeURIComponent(Array.isArray(raw) ? String(raw[0]) : String(raw ?? ''));
  } catch {
    throw invalid(`The resource URI's ${key} is not valid percent-encoding.`, 'Use a URI from resources/list or a tool result.');
  }
  if (!value || /[\\/\0]/.test(value) || value === '.' || value === '..') {
    throw invalid(`Invalid ${key} ${JSON.stringify(value)} in the resource URI.`, 'Use a URI from resources/list or a tool result.');
  }
  return value;
}

async function fileContent(u: string, file: string, mimeType: string, missing: () => MlError): Promise<ResourceContent> {
  if (!(await isFile(file))) throw missing();
  const buffer = await readWhole(file);
  return { uri: u, mimeType, text: buffer.toString('utf8') };
}

async function readWhole(file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of readChunks(file, { maxBytes: MAX_RESOURCE_BYTES })) chunks.push(c);
  return Buffer.concat(chunks);
}

const TEXT_TYPES: Record<string, string> = {
  '.md': 'text/markdown',
  '.json': JSON_TYPE,
  '.jsonl': 'application/jsonl',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.csv': 'text/csv',
  '.txt': 'text/plain',
  '.html': 'text/html',
  '.svg': 'image/svg+xml',
  '.py': 'text/x-python',
  '.toml': 'application/toml',
};
const BINARY_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif' };

export const RESOURCE_KINDS: ResourceKind[] = [
  {
    name: 'increment',
    template: `${RESOURCE_SCHEME}increments/{increment}`,
    mimeType: JSON_TYPE,
    description: "An increment: its metadata.json (ML settings, criteria, status), its files and its experiments' names.",
    async list(project) {
      return (await listIncrements(project)).map((inc) => ({
        uri: incrementUri(inc.id),
        name: inc.id,
        title: `Increment ${inc.id}`,
        mimeType: JSON_TYPE,
      }));
    },
    async read(project, vars) {
      const inc = await resolveIncrement(project, variable(vars, 'increment'));
      const [meta, files, experiments] = await Promise.all([
        readIncrementMetadata(project, inc),
        listEntries(inc.dir),
        listExperimentNames(inc),
      ]);
      return json(incrementUri(inc.id), {
        increment: inc.id,
        path: project.relative(inc.dir),
        metadata: meta.raw,
        files,
        experiments: experiments.map((name) => ({ name, uri: experimentUri(inc.id, name) })),
      });
    },
  },
  {
    name: 'experiment',
    template: `${RESOURCE_SCHEME}increments/{increment}/experiments/{experiment}`,
    mimeType: JSON_TYPE,
    description: 'One experiment: params, summary metrics, status, tags, notes, times, git, environment and artifacts.',
    async list(project) {
      const out: ResourceEntry[] = [];
      for (const inc of await listIncrements(project)) {
        for (const name of await listExperimentNames(inc)) {
          out.push({ uri: experimentUri(inc.id, name), name: `${inc.id}/${name}`, mimeType: JSON_TYPE });
        }
      }
      return out;
    },
    async read(project, vars) {
      const inc = await resolveIncrement(project, variable(vars, 'increment'));
      const e = await readExperiment(project, inc, variable(vars, 'experiment'));
      const { extra, ...meta } = e.meta;
      return json(experimentUri(inc.id, e.name), {
        increment: inc.id,
        path: project.relative(e.dir),
        params: e.params,
        metrics: e.metrics,
        ...meta,
        ...(Object.keys(extra).length ? { extra } : {}),
      });
    },
  },
  {
    name: 'comparison',
    template: `${RESOURCE_SCHEME}increments/{increment}/comparison`,
    mimeType: 'text/markdown',
    description: "The increment's latest comparison.md, written by compare_experiments.",
    list: (project) =>
      perIncrementFile(project, comparisonFile, (inc) => ({
        uri: comparisonUri(inc.id),
        name: `${inc.id} comparison`,
        mimeType: 'text/markdown',
      })),
    async read(project, vars) {
      const inc = await resolveIncrement(project, variable(vars, 'increment'));
      return fileContent(comparisonUri(inc.id), comparisonFile(inc), 'text/markdown', () =>
        notFound(`Increment ${inc.id} has no comparison yet.`, 'Call compare_experiments first.'),
      );
    },
  },
  {
    name: 'report',
    template: `${RESOURCE_SCHEME}increments/{increment}/report`,
    mimeType: 'text/html',
    description: "The increment's self-contained HTML report (report.html), written by render_report.",
    list: (project) =>
      perIncrementFile(project, incrementReportFile, (inc) => ({
        uri: incrementReportUri(inc.id),
        name: `${inc.id} report`,
        mimeType: 'text/html',
      })),
    async read(project, vars) {
      const inc = await resolveIncrement(project, variable(vars, 'increment'));
      return fileContent(incrementReportUri(inc.id), incrementReportFile(inc), 'text/html', () =>
        notFound(`Increment ${inc.id} has no report.html yet.`, 'Call render_report first.'),
      );
    },
  },
  {
    name: 'registered-model',
    template: `${RESOURCE_SCHEME}registry/{model}`,
    mimeType: JSON_TYPE,
    description: 'A registered model: its versions with their lineage, which version holds each stage now, and the event history.',
    async list(project) {
      return (await readRegistry(project)).models.map((m) => ({
        uri: modelUri(m.name),
        name: m.name,
        title: `Model ${m.name}`,
        mimeType: JSON_TYPE,
      }));
    },
    async read(project, vars) {
      const model = await readModel(project, variable(vars, 'model'));
      return json(modelUri(model.name), model);
    },
  },
  {
    name: 'file',
    template: `${RESOURCE_SCHEME}files/{+path}`,
    mimeType: 'text/plain',
    description:
      'Any file under .specweave/, by its path relative to that folder (tool results link to the files they name). ' +
      'Text files come back as text, images as base64; files over 16 MiB are refused.',
    async read(project, vars) {
      return readSpecweaveFile(project, String(vars.path ?? ''));
    },
  },
];

/** The project index report; a fixed URI rather than a template. */
export async function readProjectReport(project: Project): Promise<ResourceContent> {
  return fileContent(PROJECT_REPORT_URI, projectReportFile(project), 'text/html', () =>
    notFound('The project has no report.html yet.', 'Call render_report first.'),
  );
}

export async function projectReportExists(project: Project): Promise<boolean> {
  return isFile(projectReportFile(project));
}

async function readSpecweaveFile(project: Project, encoded: string): Promise<ResourceContent> {
  let rel: string;
  try {
    rel = decodeURIComponent(encoded);
  } catch {
    throw invalid('The resource URI is not valid percent-encoding.', 'Use a URI from a tool result.');
  }
  const segments = rel.split('/');
  if (!rel || rel.includes('\0') || rel.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw invalid(
      `Invalid file path ${JSON.stringify(rel)} in the resource URI.`,
      'Use a path relative to .specweave/ with no "..", e.g. specweave://files/increments/0001-x/spec.md.',
    );
  }
  const file = path.join(project.specweaveDir, ...segments);
  const u = fileUri(rel);
  if (!(await isFile(file))) {
    throw notFound(`No file .specweave/${rel}.`, 'Use a URI from a tool result or resources/list; folders are not resources.');
  }
  const ext = path.extname(file).toLowerCase();
  const buffer = await readWhole(file);
  if (BINARY_TYPES[ext]) return { uri: u, mimeType: BINARY_TYPES[ext], blob: buffer.toString('base64') };
  const text = buffer.toString('utf8');
  // Bytes that are not UTF-8 (a pickled model, say) travel as base64 rather than as mangled text.
  if (!TEXT_TYPES[ext] && Buffer.byteLength(text) !== buffer.length) {
    return { uri: u, mimeType: 'application/octet-stream', blob: buffer.toString('base64') };
  }
  return { uri: u, mimeType: TEXT_TYPES[ext] ?? 'text/plain', text };
}

/**
 * The resource a project-relative path names, for the links tool results carry: an increment's or an experiment's
 * folder maps to its record, the comparison and the reports to theirs, any other file under `.specweave/` to the file
 * itself; other folders, missing paths and anything outside `.specweave/` have none.
 */
export async function resourceForPath(project: Project, relPath: string): Promise<{ uri: string; name: string } | undefined> {
  const p = relPath.replace(/\/+$/, '');
  const parts = p.split('/');
  if (parts[0] !== '.specweave' || parts.length < 2 || parts.some((s) => s === '..' || s === '.' || s === '')) return undefined;
  const abs = path.join(project.root, ...parts);
  if (await isDirectory(abs)) {
    if (parts[1] === 'registry' && parts.length === 3) return { uri: modelUri(parts[2]!), name: parts[2]! };
    if (parts[1] !== 'increments') return undefined;
    if (parts.length === 3) return { uri: incrementUri(parts[2]!), name: parts[2]! };
    if (parts.length === 5 && parts[3] === 'experiments')
      return { uri: experimentUri(parts[2]!, parts[4]!), name: `${parts[2]}/${parts[4]}` };
    return undefined;
  }
  if (!(await isFile(abs))) return undefined;
  if (p === '.specweave/report.html') return { uri: PROJECT_REPORT_URI, name: 'report.html' };
  if (parts[1] === 'increments' && parts.length === 4 && parts[3] === 'report.html') {
    return { uri: incrementReportUri(parts[2]!), name: `${parts[2]} report` };
  }
  if (parts[1] === 'increments' && parts.length === 5 && parts[3] === 'experiments' && parts[4] === 'comparison.md') {
    return { uri: comparisonUri(parts[2]!), name: `${parts[2]} comparison` };
  }
  const rel = parts.slice(1).join('/');
  return { uri: fileUri(rel), name: rel };
}

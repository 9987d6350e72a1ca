/**
 * The reading side of `import_runs`: detect the kind of store in a folder and read its runs. Nothing here writes;
 * the store turns ImportedRun values into experiments.
 */
import path from 'node:path';
import { invalid } from '../errors.js';
import { lstatChecked, withReadZone } from '../store/disk.js';
import { dvcImporter, scanDvc as scanDvcUnzoned } from './dvc.js';
import { mlflowImporter, scanMlflow as scanMlflowUnzoned } from './mlflow.js';
import { mlflowRestImporter } from './mlflow-rest.js';
import { mlflowSqliteImporter, scanMlflowSqlite as scanMlflowSqliteUnzoned, type MlflowSqliteScanOptions } from './mlflow-sqlite.js';
import type { DvcScanOptions, ImporterDefinition, ImportScan, MlflowScanOptions, SourceScanOptions, WandbScanOptions } from './types.js';
import { wandbImporter } from './wandb-importer.js';
import { scanWandb as scanWandbUnzoned } from './wandb.js';

export type * from './types.js';
export { toExperimentName, uniqueExperimentName } from '../names.js';

/**
 * Every importer, in the order detection tries them (the first whose detect says yes reads the source). import_runs'
 * format enum, its messages and the docs' list come from here: adding an importer is its file plus one line.
 */
export const IMPORTERS = [wandbImporter, mlflowImporter, mlflowSqliteImporter, dvcImporter, mlflowRestImporter] as const;

export type ImportFormat = (typeof IMPORTERS)[number]['format'];

/** The formats, for the tool's enum. */
export const IMPORT_FORMATS = IMPORTERS.map((i) => i.format) as [ImportFormat, ...ImportFormat[]];

/** "MLflow, W&B or DVC": the trackers the importers read, for messages. */
export const IMPORTED_TOOLS = orList([...new Set(IMPORTERS.map((i) => i.tool))]);

function orList(items: string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function importerFor(format: string): ImporterDefinition {
  const importer = IMPORTERS.find((i) => i.format === format);
  if (!importer) {
    throw invalid(
      `Unknown import format ${JSON.stringify(format)}.`,
      `Use ${orList(IMPORT_FORMATS.map((f) => JSON.stringify(f)))}, or leave it out to detect it.`,
    );
  }
  return importer;
}

/**
 * Runs a scan with the source registered as a read-only zone of its own (store/disk.ts): whatever its symlinks
 * say, nothing read leaves the source's real folder. Every entry point of this module goes through here.
 */
function inSourceZone<T>(
  absDir: string,
  projectRoot: string | undefined,
  sourceLabel: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const dir = path.resolve(absDir);
  return withReadZone(dir, projectRoot ?? dir, `the import source ${sourceLabel ?? path.basename(dir)}`, fn);
}

export function scanMlflow(absDir: string, options: MlflowScanOptions = {}): Promise<ImportScan> {
  return inSourceZone(absDir, undefined, options.sourceLabel, () => scanMlflowUnzoned(absDir, options));
}

/** The SQLite store `file` (default mlflow.db) inside absDir. */
export function scanMlflowSqlite(absDir: string, options: MlflowSqliteScanOptions = {}): Promise<ImportScan> {
  return inSourceZone(absDir, undefined, options.sourceLabel, () => scanMlflowSqliteUnzoned(absDir, options));
}

export function scanDvc(absDir: string, options: DvcScanOptions = {}): Promise<ImportScan> {
  return inSourceZone(absDir, options.projectRoot, options.sourceLabel, () => scanDvcUnzoned(absDir, options));
}

export function scanWandb(absDir: string, options: WandbScanOptions = {}): Promise<ImportScan> {
  return inSourceZone(absDir, undefined, options.sourceLabel, () => scanWandbUnzoned(absDir, options));
}

/**
 * Which store the folder (or the file `file` inside it) holds. Throws an INVALID_INPUT error listing what was
 * looked for when none fits.
 */
export function detectFormat(absDir: string, sourceLabel = absDir, file?: string): Promise<ImportFormat> {
  return inSourceZone(absDir, undefined, sourceLabel, () => detectFormatInZone(absDir, sourceLabel, file));
}

async function detectFormatInZone(absDir: string, sourceLabel: string, file?: string): Promise<ImportFormat> {
  const stats = await lstatChecked(absDir).catch(() => undefined);
  if (!stats?.isDirectory()) {
    throw invalid(
      `The import source ${sourceLabel} is not a folder.`,
      'Pass a folder inside the project, such as "mlruns", "wandb" or the DVC project folder.',
    );
  }
  const candidates = IMPORTERS.filter((i) => !file || ('readsFiles' in i && i.readsFiles));
  for (const importer of candidates) {
    if (await importer.detect(absDir, file)) return importer.format;
  }
  const lookedFor = candidates.map((i) => i.looksFor);
  if (file) {
    throw invalid(
      `${sourceLabel} is not a store any importer reads from a single file. Looked for:\n- ${lookedFor.join('\n- ')}`,
      'Pass the store folder (e.g. "mlruns", "wandb"), or the database file MLflow writes (mlflow.db).',
    );
  }
  const entries = await Promise.all(
    IMPORTERS.flatMap((i) => ('usualFolder' in i && i.usualFolder ? [i.usualFolder] : [])).map(async (name) => ({
      name,
      isDir: (await lstatChecked(path.join(absDir, name)).catch(() => undefined))?.isDirectory() === true,
    })),
  );
  const hints = entries.filter((e) => e.isDir).map((e) => e.name);
  throw invalid(
    `No ${IMPORTED_TOOLS} data found in ${sourceLabel}. Looked for:\n- ${lookedFor.join('\n- ')}`,
    hints.length
      ? `It holds ${hints.map((h) => `${h}/`).join(' and ')}: pass ${hints.map((h) => JSON.stringify(sourceLabel === '.' ? h : `${sourceLabel}/${h}`)).join(' or ')} as the source.`
      : 'Pass the store folder itself (e.g. "mlruns"), or give format explicitly.',
  );
}

/** Detects the format (unless given) and reads the source: the folder absDir, or the file options.file in it. */
export function scanSource(absDir: string, options: SourceScanOptions = {}): Promise<ImportScan> {
  return inSourceZone(absDir, options.projectRoot, options.sourceLabel ?? '.', () => scanSourceInZone(absDir, options));
}

async function scanSourceInZone(absDir: string, options: SourceScanOptions): Promise<ImportScan> {
  const sourceLabel = options.sourceLabel ?? '.';
  const importer = importerFor(options.format ?? (await detectFormatInZone(absDir, sourceLabel, options.file)));
  if (options.file && !importer.readsFiles) {
    throw invalid(
      `The ${importer.format} importer reads a folder, and ${sourceLabel} is a file.`,
      `Pass the folder holding the store, or a format that reads a single file (${IMPORTERS.filter((i) => 'readsFiles' in i && i.readsFiles)
        .map((i) => i.format)
        .join(', ')}).`,
    );
  }
  return importer.scan(absDir, { ...options, sourceLabel });
}

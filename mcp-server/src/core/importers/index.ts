/**
 * The reading side of `import_runs`: detect the kind of store in a folder and read its runs. Nothing here writes;
 * the store turns ImportedRun values into experiments.
 */
import path from 'node:path';
import { invalid } from '../errors.js';
import { lstatChecked, withReadZone } from '../store/disk.js';
import { scanDvc as scanDvcUnzoned } from './dvc.js';
import { listDir, readTextNoFollow } from './fs-read.js';
import { scanMlflow as scanMlflowUnzoned } from './mlflow.js';
import type { DvcScanOptions, ImportFormat, ImportScan, MlflowScanOptions, SourceScanOptions, WandbScanOptions } from './types.js';
import { scanWandb as scanWandbUnzoned, WANDB_RUN_FOLDER } from './wandb.js';

export type * from './types.js';
export { toExperimentName, uniqueExperimentName } from '../names.js';

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

export function scanDvc(absDir: string, options: DvcScanOptions = {}): Promise<ImportScan> {
  return inSourceZone(absDir, options.projectRoot, options.sourceLabel, () => scanDvcUnzoned(absDir, options));
}

export function scanWandb(absDir: string, options: WandbScanOptions = {}): Promise<ImportScan> {
  return inSourceZone(absDir, undefined, options.sourceLabel, () => scanWandbUnzoned(absDir, options));
}

const LOOKED_FOR = [
  'MLflow: a file store (mlruns/) with <experiment id>/meta.yaml folders or .trash/',
  'DVC: dvc.yaml, dvc.lock, .dvc/, params.yaml, dvclive/ or dvclive.json',
  'W&B: an offline-run-*/run-* folder with files/, or a wandb/ folder holding such folders',
];

/** Which store the folder holds. Throws an INVALID_INPUT error listing what was looked for when none fits. */
export function detectFormat(absDir: string, sourceLabel = absDir): Promise<ImportFormat> {
  return inSourceZone(absDir, undefined, sourceLabel, () => detectFormatInZone(absDir, sourceLabel));
}

async function detectFormatInZone(absDir: string, sourceLabel: string): Promise<ImportFormat> {
  const stats = await lstatChecked(absDir).catch(() => undefined);
  if (!stats?.isDirectory()) {
    throw invalid(
      `The import source ${sourceLabel} is not a folder.`,
      'Pass a folder inside the project, such as "mlruns", "wandb" or the DVC project folder.',
    );
  }
  const entries = await listDir(absDir);
  const names = new Map(entries.map((e) => [e.name, e]));
  const isDir = (name: string) => names.get(name)?.isDirectory() === true;
  const isFile = (name: string) => names.get(name)?.isFile() === true;

  // W&B: a run folder itself, or a folder of run folders.
  if (
    (WANDB_RUN_FOLDER.test(path.basename(absDir)) && isDir('files')) ||
    entries.some((e) => e.isDirectory() && WANDB_RUN_FOLDER.test(e.name))
  ) {
    return 'wandb';
  }
  if (isDir('files') && (await hasAny(path.join(absDir, 'files'), ['wandb-metadata.json', 'wandb-summary.json']))) return 'wandb';

  // MLflow: .trash, or an experiment folder (a meta.yaml with experiment_id), or the source is one experiment.
  if (isDir('.trash')) return 'mlflow';
  if (isFile('meta.yaml') && (await looksLikeMlflowMeta(path.join(absDir, 'meta.yaml')))) return 'mlflow';
  for (const e of entries) {
    if (e.isDirectory() && !e.name.startsWith('.') && (await looksLikeMlflowMeta(path.join(absDir, e.name, 'meta.yaml')))) return 'mlflow';
  }

  // DVC.
  if (isFile('dvc.yaml') || isFile('dvc.lock') || isDir('.dvc') || isFile('params.yaml') || isDir('dvclive') || isFile('dvclive.json'))
    return 'dvc';

  const hints = ['mlruns', 'wandb'].filter(isDir);
  throw invalid(
    `No MLflow, DVC or W&B data found in ${sourceLabel}. Looked for:\n- ${LOOKED_FOR.join('\n- ')}`,
    hints.length
      ? `It holds ${hints.map((h) => `${h}/`).join(' and ')}: pass ${hints.map((h) => JSON.stringify(sourceLabel === '.' ? h : `${sourceLabel}/${h}`)).join(' or ')} as the source.`
      : 'Pass the store folder itself (e.g. "mlruns"), or give format explicitly.',
  );
}

async function hasAny(absDir: string, names: string[]): Promise<boolean> {
  const entries = await listDir(absDir);
  return entries.some((e) => e.isFile() && names.includes(e.name));
}

async function looksLikeMlflowMeta(absPath: string): Promise<boolean> {
  try {
    const text = await readTextNoFollow(absPath);
    return /^experiment_id:/m.test(text) && !/^run_(?:id|uuid):/m.test(text);
  } catch {
    return false;
  }
}

/** Detects the format (unless given) and reads the source. */
export function scanSource(absDir: string, options: SourceScanOptions = {}): Promise<ImportScan> {
  return inSourceZone(absDir, options.projectRoot, options.sourceLabel ?? '.', () => scanSourceInZone(absDir, options));
}

async function scanSourceInZone(absDir: string, options: SourceScanOptions): Promise<ImportScan> {
  const sourceLabel = options.sourceLabel ?? '.';
  const format = options.format ?? (await detectFormatInZone(absDir, sourceLabel));
  switch (format) {
    case 'mlflow':
      return scanMlflowUnzoned(absDir, { sourceLabel, includeDeleted: options.includeDeleted ?? false });
    case 'dvc':
      return scanDvcUnzoned(absDir, { sourceLabel, projectRoot: options.projectRoot });
    case 'wandb':
      return scanWandbUnzoned(absDir, { sourceLabel });
    default:
      throw invalid(`Unknown import format ${JSON.stringify(format)}.`, 'Use "mlflow", "dvc" or "wandb", or leave it out to detect it.');
  }
}

/**
 * The reading side of `import_runs`: detect the kind of store in a folder and read its runs. Nothing here writes;
 * the store turns ImportedRun values into experiments.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { invalid } from '../errors.js';
import { scanDvc } from './dvc.js';
import { listDir, readTextNoFollow } from './fs-read.js';
import { scanMlflow } from './mlflow.js';
import type { ImportFormat, ImportScan, SourceScanOptions } from './types.js';
import { scanWandb, WANDB_RUN_FOLDER } from './wandb.js';

export type * from './types.js';
export { scanDvc } from './dvc.js';
export { scanMlflow } from './mlflow.js';
export { toExperimentName, uniqueExperimentName } from '../names.js';
export { scanWandb } from './wandb.js';

const LOOKED_FOR = [
  'MLflow: a file store (mlruns/) with <experiment id>/meta.yaml folders or .trash/',
  'DVC: dvc.yaml, dvc.lock, .dvc/, params.yaml, dvclive/ or dvclive.json',
  'W&B: an offline-run-*/run-* folder with files/, or a wandb/ folder holding such folders',
];

/** Which store the folder holds. Throws an INVALID_INPUT error listing what was looked for when none fits. */
export async function detectFormat(absDir: string, sourceLabel = absDir): Promise<ImportFormat> {
  const stats = await lstat(absDir).catch(() => undefined);
  if (!stats?.isDirectory()) {
    throw invalid(`The import source ${sourceLabel} is not a folder.`, 'Pass a folder inside the project, such as "mlruns", "wandb" or the DVC project folder.');
  }
  const entries = await listDir(absDir);
  const names = new Map(entries.map((e) => [e.name, e]));
  const isDir = (name: string) => names.get(name)?.isDirectory() === true;
  const isFile = (name: string) => names.get(name)?.isFile() === true;

  // W&B: a run folder itself, or a folder of run folders.
  if ((WANDB_RUN_FOLDER.test(path.basename(absDir)) && isDir('files')) || entries.some((e) => e.isDirectory() && WANDB_RUN_FOLDER.test(e.name))) {
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
  if (isFile('dvc.yaml') || isFile('dvc.lock') || isDir('.dvc') || isFile('params.yaml') || isDir('dvclive') || isFile('dvclive.json')) return 'dvc';

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
export async function scanSource(absDir: string, options: SourceScanOptions = {}): Promise<ImportScan> {
  const sourceLabel = options.sourceLabel ?? '.';
  const format = options.format ?? (await detectFormat(absDir, sourceLabel));
  switch (format) {
    case 'mlflow':
      return scanMlflow(absDir, { sourceLabel, includeDeleted: options.includeDeleted ?? false });
    case 'dvc':
      return scanDvc(absDir, { sourceLabel, projectRoot: options.projectRoot });
    case 'wandb':
      return scanWandb(absDir, { sourceLabel });
    default:
      throw invalid(`Unknown import format ${JSON.stringify(format)}.`, 'Use "mlflow", "dvc" or "wandb", or leave it out to detect it.');
  }
}

/**
 * The W&B importer's definition (see ImporterDefinition): a run folder itself, or a folder of run folders. The
 * reading is wandb.ts's.
 */
import path from 'node:path';
import { listDir } from './fs-read.js';
import type { ImporterDefinition } from './types.js';
import { scanWandb, WANDB_RUN_FOLDER } from './wandb.js';

export const wandbImporter: ImporterDefinition<'wandb'> = {
  format: 'wandb',
  tool: 'W&B',
  looksFor: 'W&B: an offline-run-*/run-* folder with files/, or a wandb/ folder holding such folders',
  usualFolder: 'wandb',
  async detect(absDir) {
    const entries = await listDir(absDir);
    const hasFolder = (name: string) => entries.some((e) => e.name === name && e.isDirectory());
    if (WANDB_RUN_FOLDER.test(path.basename(absDir)) && hasFolder('files')) return true;
    if (entries.some((e) => e.isDirectory() && WANDB_RUN_FOLDER.test(e.name))) return true;
    if (!hasFolder('files')) return false;
    const files = await listDir(path.join(absDir, 'files'));
    return files.some((e) => e.isFile() && (e.name === 'wandb-metadata.json' || e.name === 'wandb-summary.json'));
  },
  scan: (absDir, options) => scanWandb(absDir, { sourceLabel: options.sourceLabel }),
};

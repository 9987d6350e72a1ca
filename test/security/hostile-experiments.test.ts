/**
 * The hostile repository, part 2: every tool × a symbolic link at each place of an experiment (its folder, summary
 * files, history, lock, artifacts, predictions, evaluation outputs) and of the living docs (docs/internal and its
 * subfolders, ml-models.md, the ADR, the runbook, .sync.lock) × a link to an outside file and to an outside folder.
 */
import { INC, runMatrix, STORE_PLACEMENTS, TOOLS } from './hostile.js';

const EXPERIMENT_AND_DOCS = STORE_PLACEMENTS.filter((p) => p.at.startsWith(`${INC}/experiments/`) || p.at.startsWith('.specweave/docs'));

runMatrix('store-experiments-docs', EXPERIMENT_AND_DOCS, () => TOOLS);

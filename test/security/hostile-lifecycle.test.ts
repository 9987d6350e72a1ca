/**
 * The hostile repository, part 4: every tool × a symbolic link at each place of the model registry (the registry
 * folder, a model's folder, `versions/`, each version record, `events.jsonl`, the model's `.lock`, and a dead
 * writer's temp version file and lock tombstone); and scaffold_deployment × a link at its output folder inside the
 * project (the folder, `app.py`, `model/` and the model file in it, a monitoring file, `scaffold-manifest.json`):
 * the one place a tool writes outside .specweave.
 */
import { DEPLOY_PLACEMENTS, runMatrix, STORE_PLACEMENTS, TOOLS } from './hostile.js';

const REGISTRY = STORE_PLACEMENTS.filter((p) => p.at.startsWith('.specweave/registry'));

runMatrix('store-registry', REGISTRY, () => TOOLS);
runMatrix('deployment-output', DEPLOY_PLACEMENTS, () => ['scaffold_deployment']);

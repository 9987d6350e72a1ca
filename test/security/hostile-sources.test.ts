/**
 * The hostile repository, part 3: import_runs × a symbolic link at each file and folder of an MLflow store, a W&B
 * folder and a DVC project inside the project (the source folder itself included), and at the DVC project's `.git`
 * (a link to an outside repository's git directory, to an outside git file, and a real `gitdir:` file naming an
 * outside repository whose committed experiment holds the token and whose config would run an fsmonitor command).
 */
import { runMatrix, SOURCE_PLACEMENTS } from './hostile.js';

runMatrix('import-sources', SOURCE_PLACEMENTS, () => ['import_runs']);

/**
 * docs/importers.md, rendered from the importer list (pure: no I/O). test/importers/importers-doc.test.ts fails when
 * the committed page differs, and rewrites it with UPDATE_DOCS=1.
 */
import type { ImporterDefinition } from './types.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderImportersDoc(importers: readonly ImporterDefinition[]): string {
  const out = [
    '# Importers',
    '',
    '<!-- Generated from IMPORTERS in mcp-server/src/core/importers/index.ts by test/importers/importers-doc.test.ts (UPDATE_DOCS=1). Do not edit by hand. -->',
    '',
    '`import_runs {increment, source, format?}` brings the runs of another tracker into an increment as experiments.',
    '`source` is a folder inside the project, relative to its root, or a database file where the table says so. When',
    '`format` is left out, the importers are tried in this order and the first that recognises the source reads it;',
    'when none does, the error lists what each looked for. Each importer only reads its source, as a read-only zone of',
    'its own: nothing it reads may leave the source folder, whatever its symbolic links say. An `http(s)://` source is',
    'a running MLflow tracking server, read over its REST API by `mlflow-rest` (see [mlflow.md](mlflow.md#over-rest)).',
    '',
    '| format | tracker | looks for | source may be a file |',
    '| --- | --- | --- | --- |',
    ...importers.map((i) => `| \`${i.format}\` | ${cell(i.tool)} | ${cell(i.looksFor)} | ${i.readsFiles ? 'yes' : 'no'} |`),
    '',
    'Every importer gives each run a stable key in `source.key` (`mlflow:<run id>` for both MLflow stores, so a run',
    'imported from one is not imported again from the other); importing a source again skips the runs already there.',
    '',
    '## Adding an importer',
    '',
    'Write one file in `mcp-server/src/core/importers/` exporting an `ImporterDefinition` (`format`, `tool`,',
    '`looksFor`, `detect`, `scan`; see `types.ts`), add it to `IMPORTERS` in `index.ts` where detection should try it,',
    "then run `UPDATE_DOCS=1 npx vitest run test/importers/importers-doc.test.ts` and update the tool's schema snapshot",
    '(`npx vitest run test/tools/wire-contract.test.ts -u`): the format enum of `import_runs` comes from the list.',
    '',
  ];
  return out.join('\n');
}

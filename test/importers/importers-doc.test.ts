/** docs/importers.md is generated from the importer list; a stale copy fails here (UPDATE_DOCS=1 rewrites it). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderImportersDoc } from '../../mcp-server/src/core/importers/docs.js';
import { detectFormat, IMPORT_FORMATS, IMPORTERS } from '../../mcp-server/src/core/importers/index.js';
import { inMemoryClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

const DOC = path.join(__dirname, '../../docs/importers.md');

describe('the importer list is the one source', () => {
  it('docs/importers.md matches the definitions', () => {
    const fresh = renderImportersDoc(IMPORTERS);
    if (process.env.UPDATE_DOCS) fs.writeFileSync(DOC, fresh);
    expect(fs.readFileSync(DOC, 'utf8')).toBe(fresh);
  });

  it('formats are unique and each says what it looks for in one line', () => {
    expect(new Set(IMPORT_FORMATS).size).toBe(IMPORTERS.length);
    for (const i of IMPORTERS) expect(i.looksFor).toMatch(/^[^\n]{10,200}$/);
  });

  it("the tool's format enum and the 'nothing found' error list every importer", async () => {
    const root = scratchDir();
    const c = await inMemoryClient(root);
    const { tools } = await c.client.listTools();
    const schema = tools.find((t) => t.name === 'import_runs')!.inputSchema as any;
    expect(schema.properties.format.anyOf[0].enum).toEqual(IMPORT_FORMATS);
    await c.close();
    fs.mkdirSync(path.join(root, 'empty'));
    const error = await detectFormat(path.join(root, 'empty'), 'empty').catch((e: Error) => e.message);
    for (const i of IMPORTERS) expect(error).toContain(`\n- ${i.looksFor}`);
  });
});

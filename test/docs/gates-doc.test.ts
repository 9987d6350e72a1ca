/** docs/gates.md is generated from the gate definitions; a stale copy fails here (UPDATE_DOCS=1 rewrites it). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATES, THRESHOLDS } from '../../mcp-server/src/core/gates/index.js';
import { renderGatesDoc } from '../../mcp-server/src/render/gates-doc.js';
import { inMemoryClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

const DOC = path.join(__dirname, '../../docs/gates.md');

describe('the gate list is the one source', () => {
  it('docs/gates.md matches the definitions', () => {
    const fresh = renderGatesDoc(GATES);
    if (process.env.UPDATE_DOCS) fs.writeFileSync(DOC, fresh);
    expect(fs.readFileSync(DOC, 'utf8')).toBe(fresh);
  });

  it('gate ids and threshold keys are unique, and every summary is one sentence a user can act on', () => {
    expect(new Set(GATES.map((g) => g.id)).size).toBe(GATES.length);
    expect(new Set(THRESHOLDS.map((t) => t.key)).size).toBe(THRESHOLDS.length);
    for (const g of GATES) expect(g.summary).toMatch(/^\S[^\n]{20,220}\.$/);
  });

  it("a new increment's tests.md lists every gate with its thresholds", async () => {
    const root = scratchDir();
    const c = await inMemoryClient(root);
    const r = await c.ok('create_increment', { title: 'Gates' });
    await c.close();
    const tests = fs.readFileSync(path.join(root, r.path, 'tests.md'), 'utf8');
    for (const g of GATES) expect(tests).toContain(`- **${g.id}**: ${g.summary}`);
    expect(tests).toContain('(max_cv_std 0.05, max_cv_relative_std 0.1)');
  });
});

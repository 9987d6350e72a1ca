/** docs/gates.md from the list of gate definitions: what each gate checks and the thresholds it reads. Pure. */
import type { GateDefinition } from '../core/gates/types.js';

export function renderGatesDoc(gates: readonly GateDefinition[]): string {
  const out = [
    '# Quality gates',
    '',
    '<!-- Generated from mcp-server/src/core/gates/index.ts by test/docs/gates-doc.test.ts (UPDATE_DOCS=1 rewrites it). -->',
    '',
    '`validate_increment` runs these checks, in this order. Each returns `pass`, `warn` or `fail` with a message;',
    'the verdict is the worst of them, and an increment is ready when nothing fails. Every `warn` or `fail` names',
    'the threshold it applied and the `update_increment` call that changes it.',
    '',
    '| Gate | What it checks |',
    '|---|---|',
    ...gates.map((g) => `| \`${g.id}\` | ${g.summary.replace(/\|/g, '\\|')} |`),
    '',
    '## Thresholds',
    '',
    'Stored in `metadata.json` under `ml.thresholds`; missing keys take the default.',
    '',
    '| Key | Default | Gate | Meaning |',
    '|---|---:|---|---|',
    ...gates.flatMap((g) =>
      (g.thresholds ?? []).map((t) => `| \`${t.key}\` | ${t.default} | \`${g.id}\` | ${t.summary.replace(/\|/g, '\\|')} |`),
    ),
    '',
    '## Adding a gate',
    '',
    'Write `mcp-server/src/core/gates/<id>.ts` exporting a `GateDefinition` (id, summary, thresholds, a pure `check`',
    'over the `GateContext` that `core/validation.ts` loads), add it to the list in `core/gates/index.ts`, and run',
    '`UPDATE_DOCS=1 npx vitest run test/docs/gates-doc.test.ts`. The tests.md template of new increments and this',
    'page follow from the list.',
    '',
  ];
  return out.join('\n');
}

import { z } from 'zod';
import { resolveIncrement } from '../core/increments.js';
import { validateIncrement } from '../core/validation.js';
import { defineTool } from './define.js';
import { IncrementRef } from './schemas.js';

const Status = z.enum(['pass', 'warn', 'fail']);

export const validateIncrementTool = defineTool({
  name: 'validate_increment',
  title: 'Validate increment (ML quality gates)',
  description:
    'Check an increment against the ML quality gates: required files and valid metadata.json; experiments logged ' +
    'and none running; a baseline exists; the best candidate beats the best baseline by ml.thresholds.min_improvement ' +
    '(default 0.05; for accuracy-like scores, the share of the remaining gap to 1.0 closed); every success criterion ' +
    'of spec.md and metadata.json met by the best experiment; cross-validation spread under max_cv_std where fold ' +
    'scores are logged; the best model saved; explanation artifacts where spec.md asks for explainability; all tasks ' +
    'in tasks.md completed. Returns each check {id, status, message} and a verdict (fail if any check fails). ' +
    'Read-only. A failing gate is a normal result, not an error: fix what the message says and validate again.',
  input: { increment: IncrementRef },
  output: {
    increment: z.string(),
    verdict: Status,
    ready: z.boolean(),
    best_experiment: z.string().nullable(),
    primary_metric: z.string().nullable(),
    checks: z.array(z.object({ id: z.string(), status: Status, message: z.string() })),
    summary: z.object({ pass: z.number(), warn: z.number(), fail: z.number() }),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const v = await validateIncrement(project, inc);
    const icon = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;
    return {
      data: v,
      text: [
        `${v.increment}: ${v.verdict.toUpperCase()} (${v.summary.pass} pass, ${v.summary.warn} warn, ${v.summary.fail} fail); best experiment ${v.best_experiment ?? 'none'}.`,
        ...v.checks.map((c) => `${icon[c.status]} ${c.id}: ${c.message}`),
      ].join('\n'),
    };
  },
});

import { z } from 'zod';
import { completeIncrement } from '../core/completion.js';
import { resolveIncrement } from '../core/increments.js';
import { defineTool } from './define.js';
import { IncrementRef } from './schemas.js';

const Status = z.enum(['pass', 'warn', 'fail']);

export const completeIncrementTool = defineTool({
  name: 'complete_increment',
  title: 'Complete increment',
  description:
    'Close an ML increment. Runs the quality gates (as validate_increment) and refuses, writing nothing, when one ' +
    'fails, unless force: true with a reason, which is recorded. Writes COMPLETION-SUMMARY.md in the increment: the ' +
    'experiments with selection and test values, the best model and why, training time, model size, inference ' +
    'latency from a recorded load test, the gates, and deployment readiness (gates pass, a production version in ' +
    'the model registry, a load test). Syncs the living docs (as sync_docs), sets spec.md and metadata.json status ' +
    'to "completed" (metadata.json last, with the completion under ml.completion), then writes the HTML report ' +
    '(report.html, as render_report). A completed increment is refused: reopen it first.',
  input: {
    increment: IncrementRef,
    force: z.boolean().nullish().describe('Complete although gates fail; needs reason.'),
    reason: z
      .string()
      .max(2000)
      .nullish()
      .describe('Why failing gates are accepted (required with force); recorded in metadata.json and the summary.'),
  },
  output: {
    increment: z.string(),
    status: z.string(),
    completed_at: z.string(),
    forced: z.boolean(),
    reason: z.string().nullable(),
    verdict: Status,
    failing_gates: z.array(z.string()),
    best_experiment: z.string().nullable(),
    summary: z.string().describe('COMPLETION-SUMMARY.md, relative to the project root.'),
    docs: z.array(z.object({ path: z.string(), action: z.enum(['create', 'update', 'unchanged']) })),
    report: z.string().nullable(),
    report_note: z.string().nullable(),
    deployment_ready: z.boolean(),
    readiness: z.object({
      gates_pass: z.boolean(),
      production: z.object({ model: z.string(), version: z.string(), experiment: z.string() }).nullable(),
      production_note: z.string().nullable(),
      load_test: z.string().nullable(),
      ready: z.boolean(),
    }),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const r = await completeIncrement(project, inc, { force: args.force, reason: args.reason });
    return {
      data: r,
      text: [
        `${r.increment} completed${r.forced ? ` (forced past ${r.failing_gates.join(', ')}: ${r.reason})` : ''}; gates ${r.verdict.toUpperCase()}; best model ${r.best_experiment ?? 'none'}; deployment ${r.deployment_ready ? 'ready' : 'not ready'}.`,
        `Summary: ${r.summary}`,
        ...r.docs.map((d) => `${d.action}: ${d.path}`),
        r.report ? `Report: ${r.report}` : `Report: ${r.report_note ?? 'none'}`,
      ].join('\n'),
    };
  },
});

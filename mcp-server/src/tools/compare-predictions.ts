import { z } from 'zod';
import { compareExperimentPredictions } from '../core/evaluate-experiment.js';
import { resolveIncrement } from '../core/increments.js';
import { defineTool } from './define.js';
import { ExperimentName, IncrementRef, toWire } from './schemas.js';

const Num = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]).nullable();

export const comparePredictionsTool = defineTool({
  name: 'compare_predictions',
  title: 'Is A really better than B?',
  description:
    'Test whether experiment b differs from experiment a on the same test set, using the prediction files ' +
    'evaluate_predictions evaluated for each (call it for both first). McNemar\'s test for classifiers, a paired ' +
    'bootstrap of the metric for any task, and, where both logged per-fold cross-validation scores (history ' +
    '"cv_<metric>"), a paired t-test and the Wilcoxon signed-rank test. Returns the values, p-values, effect sizes ' +
    'and a plain-language verdict, and adds a section to experiments/comparison.md. metric defaults to ROC AUC ' +
    '(binary with scores), accuracy, RMSE or NDCG@k by task.',
  input: {
    increment: IncrementRef,
    a: ExperimentName.describe('The reference, e.g. the current best or a baseline.'),
    b: ExperimentName.describe('The challenger.'),
    metric: z.string().min(1).nullish(),
    alpha: z.number().gt(0).lt(1).nullish().describe('Significance level, default 0.05.'),
  },
  output: {
    increment: z.string(),
    a: z.string(),
    b: z.string(),
    metric: z.string(),
    direction: z.enum(['maximize', 'minimize']),
    n: z.number(),
    values: z.object({ a: Num, b: Num }),
    difference: Num,
    better: z.enum(['a', 'b']).nullable(),
    verdict: z.string(),
    p_values: z.record(z.string(), Num),
    effect_size: z.record(z.string(), Num),
    warnings: z.array(z.string()),
    report: z.string(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const { result: r, report } = await compareExperimentPredictions(project, inc, args);
    const p_values: Record<string, number | null> = {};
    if (r.pairedBootstrap) p_values.paired_bootstrap = r.pairedBootstrap.pValue;
    if (r.mcnemar) p_values.mcnemar = r.mcnemar.pValue;
    if (r.folds) {
      p_values.paired_t_test = r.folds.pairedTTest.pValue;
      p_values.wilcoxon = r.folds.wilcoxon.pValue;
    }
    const effect_size: Record<string, number | null> = { difference: r.effectSize.difference };
    if (r.effectSize.cohensDz !== undefined) effect_size.cohens_dz = r.effectSize.cohensDz;
    if (r.effectSize.oddsRatio !== undefined) effect_size.odds_ratio = r.effectSize.oddsRatio;
    const data = {
      increment: inc.id, a: r.a, b: r.b, metric: r.metric, direction: r.direction, n: r.n, values: r.values, difference: r.difference,
      better: r.better, verdict: r.verdict, p_values, effect_size, warnings: r.warnings, report,
    };
    const ps = Object.entries(p_values).map(([k, v]) => `${k} p=${v === null ? 'n/a' : v.toPrecision(3)}`).join(', ');
    return { data: toWire(data), text: [r.verdict, ps, ...r.warnings.map((w) => `warning: ${w}`), `Added to ${report}.`].filter(Boolean).join('\n') };
  },
});

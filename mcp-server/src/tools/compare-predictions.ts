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
    'evaluate_predictions evaluated for each (call it for both first). A paired bootstrap of the metric (decides), ' +
    "McNemar's test for classifiers, and, where both logged per-fold cross-validation scores (history " +
    '"cv_<metric>"), the corrected resampled t-test (Nadeau & Bengio) and the Wilcoxon signed-rank test. Each test ' +
    "says which model it favours in the metric's direction, by how much and with what interval; a disagreement " +
    'in direction is stated. Adds a section to experiments/comparison.md. metric defaults to ROC AUC (binary with ' +
    'scores), accuracy, RMSE or NDCG@k by task.',
  input: {
    increment: IncrementRef,
    a: ExperimentName.describe('The reference, e.g. the current best or a baseline.'),
    b: ExperimentName.describe('The challenger.'),
    metric: z.string().min(1).nullish(),
    alpha: z.number().gt(0).lt(1).nullish().describe('Significance level, default 0.05.'),
    cv_test_train_ratio: z
      .number()
      .gt(0)
      .nullish()
      .describe('n_test/n_train of one CV split, for the corrected t-test on fold scores. Default 1/(k-1) for k folds (plain k-fold).'),
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
    tests: z.array(
      z.object({
        test: z.enum(['paired_bootstrap', 'mcnemar', 'corrected_t_test', 'wilcoxon']),
        evidence: z.enum(['test set', 'cv folds']),
        favours: z.enum(['a', 'b']).nullable(),
        difference: Num,
        lower: Num,
        upper: Num,
        p_value: Num,
        significant: z.boolean(),
        can_reach_alpha: z.boolean(),
        note: z.string().optional(),
      }),
    ),
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
      p_values.corrected_t_test = r.folds.correctedTTest.pValue;
      p_values.wilcoxon = r.folds.wilcoxon.pValue;
    }
    const tests = r.findings.map((f) => ({
      test: f.test,
      evidence: f.evidence,
      favours: f.favours,
      difference: f.difference,
      lower: f.lower,
      upper: f.upper,
      p_value: f.pValue,
      significant: f.significant,
      can_reach_alpha: f.canReachAlpha,
      ...(f.note ? { note: f.note } : {}),
    }));
    const effect_size: Record<string, number | null> = { difference: r.effectSize.difference };
    if (r.effectSize.cohensDz !== undefined) effect_size.cohens_dz = r.effectSize.cohensDz;
    if (r.effectSize.oddsRatio !== undefined) effect_size.odds_ratio = r.effectSize.oddsRatio;
    const data = {
      increment: inc.id,
      a: r.a,
      b: r.b,
      metric: r.metric,
      direction: r.direction,
      n: r.n,
      values: r.values,
      difference: r.difference,
      better: r.better,
      verdict: r.verdict,
      tests,
      p_values,
      effect_size,
      warnings: r.warnings,
      report,
    };
    const ps = Object.entries(p_values)
      .map(([k, v]) => `${k} p=${v === null ? 'n/a' : v.toPrecision(3)}`)
      .join(', ');
    return {
      data: toWire(data),
      text: [r.verdict, ps, ...r.warnings.map((w) => `warning: ${w}`), `Added to ${report}.`].filter(Boolean).join('\n'),
    };
  },
});

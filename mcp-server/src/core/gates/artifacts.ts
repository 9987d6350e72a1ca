import { isExplanationFile, MODEL_FORMATS, modelFormatOf } from '../model-formats.js';
import { check, stripComments, type ArtifactOnDisk, type GateContext, type GateDefinition } from './types.js';

/** Why a recorded artifact cannot be trusted, or undefined when it is on disk, non-empty and unchanged. */
function problem(a: ArtifactOnDisk): string | undefined {
  if (typeof a.actual === 'string') return `${a.recorded.path} is ${a.actual}`;
  if (a.actual.bytes === 0) return `${a.recorded.path} is empty`;
  if (a.actual.sha256 !== a.recorded.sha256)
    return `${a.recorded.path} changed since it was recorded (sha256 ${a.actual.sha256.slice(0, 12)}… vs recorded ${a.recorded.sha256.slice(0, 12)}…)`;
  return undefined;
}

const rerecord = (ctx: GateContext) =>
  `record it again with track_experiment {"increment":"${ctx.incrementId}","name":"${ctx.best!.name}","artifacts":["<file>"]}`;

export const modelSavedGate: GateDefinition = {
  id: 'model-saved',
  summary: `The selected experiment recorded a non-empty model file (${MODEL_FORMATS.map((f) => f.format).join(', ')}) whose sha256 still matches.`,
  check(ctx) {
    if (!ctx.best) return check('model-saved', 'fail', 'No best experiment, so no saved model.');
    const models = ctx.bestArtifacts.filter((a) => modelFormatOf(a.recorded.path));
    const good = models.filter((a) => !problem(a));
    if (good.length)
      return check(
        'model-saved',
        'pass',
        `${ctx.best.name}: ${good.map((a) => `${a.recorded.path} (${modelFormatOf(a.recorded.path)}, ${a.recorded.bytes} bytes, sha256 verified)`).join(', ')}.`,
      );
    if (models.length)
      return check(
        'model-saved',
        'fail',
        `${ctx.best.name}: ${models.map((a) => problem(a)).join('; ')}. Save the model again and ${rerecord(ctx)}.`,
      );
    return check(
      'model-saved',
      'fail',
      `${ctx.best.name} has no recorded model file. Save the fitted model into its folder (e.g. model.joblib, model.onnx, model.pt) and ${rerecord(ctx)}; ` +
        'the Python client records it with exp.save_model(model, "model.joblib").',
    );
  },
};

const EXPLAIN_ASKED = /explainab|interpretab|\bshap\b|\blime\b|feature importance/i;

export const explainabilityGate: GateDefinition = {
  id: 'explainability',
  summary:
    'When spec.md asks for explainability, the selected experiment recorded non-empty explanation artifacts (SHAP, importances, partial dependence, a report).',
  check(ctx) {
    const asked = ctx.spec !== undefined && EXPLAIN_ASKED.test(stripComments(ctx.spec));
    if (!asked) return check('explainability', 'pass', 'spec.md does not ask for explainability.');
    if (!ctx.best) return check('explainability', 'fail', 'spec.md asks for explainability but there is no best experiment.');
    const explanations = ctx.bestArtifacts.filter((a) => isExplanationFile(a.recorded.path));
    const good = explanations.filter((a) => !problem(a));
    if (good.length) return check('explainability', 'pass', `${ctx.best.name}: ${good.map((a) => a.recorded.path).join(', ')}.`);
    const why = explanations.length ? explanations.map((a) => problem(a)).join('; ') : 'no explanation artifact is recorded';
    return check(
      'explainability',
      'fail',
      `spec.md asks for explainability but ${ctx.best.name} (the selected model) has none: ${why}. Write the explanation into that experiment's folder (shap_summary.png, permutation_importance.csv, …) and ${rerecord(ctx)}.`,
    );
  },
};

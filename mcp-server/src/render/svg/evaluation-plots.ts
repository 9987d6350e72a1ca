/** All plots for one evaluation, as files to write beside evaluation-report.md. */
import type { EvaluationResult } from '../../core/evaluation/types.js';
import { calibrationSvg } from './calibration.js';
import { confusionMatrixSvg } from './confusion-matrix.js';
import { prCurveSvg, rocCurveSvg } from './curves.js';
import { metricHistorySvg, type HistoryPoint } from './metric-history.js';
import { residualsSvg } from './residuals.js';

export interface PlotFile {
  /** File name inside the experiment folder. */
  fileName: string;
  title: string;
  svg: string;
}

/** The plots a result supports, in a fixed order; `history` adds the metric-over-steps chart when non-empty. */
export function renderEvaluationPlots(result: EvaluationResult, history: HistoryPoint[] = []): PlotFile[] {
  const plots: PlotFile[] = [];
  const add = (fileName: string, title: string, svg: string) => plots.push({ fileName, title, svg });
  if (result.confusionMatrix) add('confusion-matrix.svg', 'Confusion matrix', confusionMatrixSvg(result.confusionMatrix));
  if (result.curves && result.curves.roc.length > 0) {
    const ovr = result.task === 'multiclass' ? ' (one-vs-rest)' : '';
    add('roc-curve.svg', `ROC curve${ovr}`, rocCurveSvg(result.curves.roc, `ROC curve${ovr}`));
    const prevalence = result.perClass && result.task === 'binary' ? [positiveShare(result)] : undefined;
    add(
      'precision-recall-curve.svg',
      `Precision-recall curve${ovr}`,
      prCurveSvg(result.curves.pr, `Precision-recall curve${ovr}`, prevalence),
    );
  }
  if (result.calibration) add('calibration.svg', 'Calibration', calibrationSvg(result.calibration));
  if (result.residuals && result.residuals.total > 0) add('residuals.svg', 'Residuals against predictions', residualsSvg(result.residuals));
  if (history.length > 0) add('metrics-over-steps.svg', 'Metrics over steps', metricHistorySvg(history));
  return plots;
}

/** Share of positives: the precision of a random classifier, drawn as the PR baseline. */
function positiveShare(result: EvaluationResult): number {
  const pc = result.perClass!;
  const total = pc.reduce((s, c) => s + c.support, 0);
  return total > 0 ? pc[pc.length - 1]!.support / total : 0;
}

export type { HistoryPoint };

/** Shared result types of the evaluation engine. Plain data: everything here serialises to JSON as is. */

export type Task = 'binary' | 'multiclass' | 'regression' | 'ranking' | 'forecast';

/**
 * A metric value. `null` means the metric is undefined for this data (for example ROC AUC when only one class is
 * present in the true labels); a matching entry in `warnings` always says which metric and why. Metrics that
 * scikit-learn defines by convention in degenerate cases (precision with no predicted positives is 0, MCC with a
 * constant prediction is 0, R² with a constant target is 1 or 0) keep scikit-learn's value and also get a warning.
 */
export type MetricValue = number | null;

export type Metrics = Record<string, MetricValue>;

export interface ConfidenceInterval {
  /** The metric on the full data (same as in `metrics`). */
  estimate: number;
  lower: number;
  upper: number;
  /** e.g. 0.95 */
  confidence: number;
  /** Resamples drawn. */
  resamples: number;
  /** Resamples on which the metric was defined; the interval uses only these. */
  validResamples: number;
  seed: number;
  method: 'percentile';
}

export interface ClassReport {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Number of rows whose true label is this class. */
  support: number;
  /** One-vs-rest, when scores or probabilities were given; null where the class is absent or alone. */
  rocAuc?: MetricValue;
  averagePrecision?: MetricValue;
}

export interface ConfusionMatrix {
  /** Class labels, in the order of rows and columns. */
  labels: string[];
  /** matrix[i][j] = number of rows with true label i predicted as j. */
  matrix: number[][];
}

/** A curve for plotting: x/y pairs, thinned to at most about a thousand points. */
export interface Curve {
  label: string;
  x: number[];
  y: number[];
  /** Area summarising the curve (ROC AUC or average precision), null where undefined. */
  area: MetricValue;
}

export interface Curves {
  /** x = false positive rate, y = true positive rate. One curve per class for multiclass (one-vs-rest). */
  roc: Curve[];
  /** x = recall, y = precision. */
  pr: Curve[];
}

export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number;
  fractionPositive: number;
}

export interface Calibration {
  /** Non-empty bins only, like sklearn.calibration.calibration_curve(strategy="uniform"). */
  bins: CalibrationBin[];
  nBins: number;
  /** Expected calibration error: Σ (count/n) · |fractionPositive − meanPredicted| over the bins. */
  ece: number;
  /** "positive class probability" (binary) or "top-label confidence" (multiclass). */
  kind: 'binary' | 'top-label';
}

export interface ThresholdResult {
  target: { metric: 'precision' | 'recall'; value: number };
  /** False when no threshold reaches the target; the other fields are then null. */
  reached: boolean;
  /** Predict positive when score ≥ threshold. */
  threshold: number | null;
  precision: MetricValue;
  recall: MetricValue;
  f1: MetricValue;
  fpr: MetricValue;
  accuracy: MetricValue;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface Residuals {
  /** Deterministically thinned to at most 5,000 points (evenly spaced rows). */
  predicted: number[];
  residual: number[];
  /** Number of rows before thinning. */
  total: number;
}

export interface EvaluationResult {
  task: Task;
  /** Rows evaluated (queries for ranking are counted in `metrics.queries`). */
  n: number;
  /** Flat snake_case metric keys: what goes into metrics.json. */
  metrics: Metrics;
  /** Human-readable notes on undefined or conventional metric values, and on how the input was interpreted. */
  warnings: string[];
  /** Which file columns were used for which role. */
  columns: Record<string, string | string[]>;
  classes?: string[];
  positiveLabel?: string;
  perClass?: ClassReport[];
  confusionMatrix?: ConfusionMatrix;
  curves?: Curves;
  calibration?: Calibration;
  threshold?: ThresholdResult;
  residuals?: Residuals;
  /** Bootstrap confidence intervals of the headline metrics, keyed like `metrics`. */
  ci?: Record<string, ConfidenceInterval>;
}

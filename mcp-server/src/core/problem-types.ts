/**
 * What differs between kinds of ML problem: the metric to optimise, how to validate without leakage, which
 * baselines to beat and which candidates to try. The increment templates and the tool descriptions draw on this.
 */
export const PROBLEM_TYPES = [
  'classification',
  'regression',
  'ranking',
  'time-series',
  'anomaly-detection',
  'computer-vision',
  'nlp',
  'clustering',
] as const;
export type ProblemType = (typeof PROBLEM_TYPES)[number];

export interface ProblemProfile {
  label: string;
  primaryMetric: string;
  direction: 'maximize' | 'minimize';
  metrics: string[];
  validation: string;
  baselines: string[];
  candidates: string[];
  pitfalls: string[];
}

export const PROBLEM_PROFILES: Record<ProblemType, ProblemProfile> = {
  classification: {
    label: 'Classification',
    primaryMetric: 'f1',
    direction: 'maximize',
    metrics: ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'average_precision', 'log_loss'],
    validation: 'Stratified k-fold cross-validation on the training set; one untouched, stratified test set for the final numbers.',
    baselines: ['DummyClassifier(strategy="most_frequent")', 'DummyClassifier(strategy="stratified")'],
    candidates: ['Logistic regression', 'Random forest', 'Gradient boosting (XGBoost / LightGBM)'],
    pitfalls: [
      'Class imbalance makes accuracy misleading: report precision, recall, F1 and average precision.',
      'Choose the decision threshold on validation data, never on the test set.',
    ],
  },
  regression: {
    label: 'Regression',
    primaryMetric: 'rmse',
    direction: 'minimize',
    metrics: ['rmse', 'mae', 'r2', 'median_ae'],
    validation: 'k-fold cross-validation (grouped by entity where rows of one entity are correlated); a held-out test set.',
    baselines: ['DummyRegressor(strategy="mean")', 'DummyRegressor(strategy="median")'],
    candidates: ['Ridge / Lasso', 'Random forest', 'Gradient boosting (XGBoost / LightGBM)'],
    pitfalls: [
      'Skewed targets: consider a log transform and report MAE beside RMSE.',
      'Check residuals against predictions for structure.',
    ],
  },
  ranking: {
    label: 'Ranking / recommendation',
    primaryMetric: 'ndcg_at_10',
    direction: 'maximize',
    metrics: ['precision_at_10', 'recall_at_10', 'ndcg_at_10', 'map_at_10', 'mrr', 'coverage'],
    validation: 'Time-based split of interactions (train on the past, evaluate on the following period), per user or query.',
    baselines: ['Random items', 'Most popular items'],
    candidates: [
      'Item-item collaborative filtering',
      'Matrix factorisation (ALS)',
      'Gradient-boosted learning to rank (LightGBM LambdaRank)',
    ],
    pitfalls: ['Popularity bias: watch catalogue coverage.', 'Never let future interactions leak into features.'],
  },
  'time-series': {
    label: 'Time-series forecasting',
    primaryMetric: 'mape',
    direction: 'minimize',
    metrics: ['mape', 'smape', 'mae', 'rmse', 'mase'],
    validation: 'Rolling-origin (expanding window) evaluation; never a random split.',
    baselines: ['Naive (last value)', 'Seasonal naive (value one season ago)'],
    candidates: ['ETS / ARIMA (statsmodels)', 'Prophet', 'Gradient boosting on lag features'],
    pitfalls: [
      'Look-ahead leakage through features computed over the whole series.',
      'MAPE explodes near zero: report sMAPE and MASE too.',
    ],
  },
  'anomaly-detection': {
    label: 'Anomaly detection',
    primaryMetric: 'average_precision',
    direction: 'maximize',
    metrics: ['average_precision', 'precision', 'recall', 'f1', 'roc_auc'],
    validation: 'Time-ordered split where anomalies are labelled; otherwise review the top-scored cases by hand.',
    baselines: ['Z-score / IQR rule', 'Random scores'],
    candidates: ['Isolation Forest', 'Local Outlier Factor', 'One-class SVM / autoencoder'],
    pitfalls: ['Labels are rare and noisy: report precision at the alert budget you can afford.'],
  },
  'computer-vision': {
    label: 'Computer vision',
    primaryMetric: 'accuracy',
    direction: 'maximize',
    metrics: ['accuracy', 'f1_macro', 'top5_accuracy', 'val_loss'],
    validation: 'Fixed train / validation / test split with no near-duplicate images across splits.',
    baselines: ['Majority class', 'Linear probe on a frozen pretrained backbone'],
    candidates: ['Fine-tuned ResNet / EfficientNet (torchvision)', 'Vision transformer (timm / transformers)'],
    pitfalls: ['Augment the training set only.', 'Track validation loss per epoch to catch overfitting early.'],
  },
  nlp: {
    label: 'Natural language processing',
    primaryMetric: 'f1',
    direction: 'maximize',
    metrics: ['accuracy', 'f1', 'precision', 'recall', 'val_loss'],
    validation: 'Stratified split; deduplicate texts across splits.',
    baselines: ['Majority class', 'TF-IDF + logistic regression'],
    candidates: ['Fine-tuned DistilBERT / RoBERTa (transformers)', 'Sentence embeddings + linear model'],
    pitfalls: ['Duplicated or templated texts inflate scores.', 'Tokenizer and model versions must be pinned.'],
  },
  clustering: {
    label: 'Clustering',
    primaryMetric: 'silhouette',
    direction: 'maximize',
    metrics: ['silhouette', 'davies_bouldin', 'calinski_harabasz'],
    validation: 'Stability across resamples and seeds; agreement with any labels available (adjusted Rand index).',
    baselines: ['Single cluster', 'Random assignment'],
    candidates: ['k-means', 'Gaussian mixture', 'HDBSCAN / DBSCAN'],
    pitfalls: ['Scale features first.', 'Internal scores favour convex clusters; inspect clusters with domain experts.'],
  },
};

export function isProblemType(value: string): value is ProblemType {
  return (PROBLEM_TYPES as readonly string[]).includes(value);
}

/** Public surface of the evaluation engine (pure: no filesystem, no MCP). */
export * from './types.js';
export { PredictionsError } from './errors.js';
export { parsePredictions, type PredictionsTable, type Cell } from './predictions-file.js';
export { DEFAULT_COLUMNS, type ColumnOptions } from './prepare.js';
export {
  evaluatePredictionsFile,
  evaluateTable,
  evaluateBinary,
  evaluateMulticlass,
  evaluateRegression,
  evaluateRanking,
  bootstrapRocAuc,
  definedMetrics,
  type EvaluateOptions,
  type EvaluateFileInput,
  type BinaryInput,
  type MulticlassInput,
  type RegressionInput,
} from './evaluate.js';
export { comparePredictions, type CompareInput, type ComparisonResult } from './compare.js';
export { bootstrapCI, runResamples, DEFAULT_BOOTSTRAP, type BootstrapOptions, type WeightedStatistic } from './bootstrap.js';
export { tuneThreshold, type ThresholdTarget } from './threshold.js';
export { mcnemar, mcnemarFromCounts, pairedBootstrap, pairedTTest, wilcoxonSignedRank } from './tests.js';
export type { McNemarResult, PairedBootstrapResult, PairedTTestResult, WilcoxonResult } from './tests.js';
export { rankingMetrics, type RankingQuery } from './ranking.js';
export { scoreOrder, rocAucSorted, averagePrecisionSorted, LOG_LOSS_EPS } from './classification.js';
export { normalSf, normalCdf, chi2Sf, studentTTwoSided, studentTSf, betaInc, gammaQ, lnGamma } from './distributions.js';
export { mulberry32 } from './prng.js';

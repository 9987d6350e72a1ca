/**
 * Files that hold a fitted model, and files that hold an explanation of one. The model-saved and explainability
 * gates accept a recorded artifact only when its name says it is one of these.
 */
export interface ModelFormat {
  format: string;
  /** File name endings, lower case. */
  extensions: string[];
  /** Generic endings (.json, .txt, .model) count only when the file name also names the library. */
  namedOnly?: { extensions: string[]; name: RegExp };
}

export const MODEL_FORMATS: readonly ModelFormat[] = [
  { format: 'pickle', extensions: ['.pkl', '.pickle'] },
  { format: 'joblib', extensions: ['.joblib'] },
  { format: 'ONNX', extensions: ['.onnx'] },
  { format: 'PyTorch', extensions: ['.pt', '.pth'] },
  { format: 'safetensors', extensions: ['.safetensors'] },
  { format: 'XGBoost', extensions: ['.ubj', '.xgb'], namedOnly: { extensions: ['.json', '.model', '.bin'], name: /xgb|xgboost/i } },
  { format: 'LightGBM', extensions: ['.lgb', '.lgbm'], namedOnly: { extensions: ['.txt', '.model'], name: /lgb|lightgbm/i } },
  { format: 'CatBoost', extensions: ['.cbm'] },
  { format: 'Keras', extensions: ['.keras', '.h5', '.hdf5'] },
  // A library's own JSON serialisation (XGBoost's model.json, a hand-written model's parameters): only when named so.
  { format: 'JSON model', extensions: [], namedOnly: { extensions: ['.json'], name: /model/i } },
];

/** The model format a file name says it holds, or undefined. */
export function modelFormatOf(file: string): string | undefined {
  const name = file.split('/').pop()!.toLowerCase();
  for (const f of MODEL_FORMATS) {
    if (f.extensions.some((e) => name.endsWith(e))) return f.format;
    if (f.namedOnly && f.namedOnly.extensions.some((e) => name.endsWith(e)) && f.namedOnly.name.test(name)) return f.format;
  }
  return undefined;
}

/** Explanation artifacts: SHAP or LIME values, importances, partial dependence, an explainability report. */
const EXPLANATION = /shap|lime|explain|importance|interpret|partial[_-]?dependence|(^|[^a-z])pdp([^a-z]|$)|(^|[^a-z])ice([^a-z]|$)/i;

export function isExplanationFile(file: string): boolean {
  return EXPLANATION.test(file.split('/').pop()!);
}

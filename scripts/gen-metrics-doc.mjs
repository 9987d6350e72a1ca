// Writes docs/metrics.md from the metric vocabulary, python/specweave_ml/metrics.json, so the page can never
// drift from the data the server and the Python client read. `node scripts/gen-metrics-doc.mjs` rewrites the page;
// `--check` exits 1 when the committed page differs (test/core/vocabulary.test.ts checks the same).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const VOCABULARY_PATH = path.join(root, 'python/specweave_ml/metrics.json');
export const DOC_PATH = path.join(root, 'docs/metrics.md');

const bounds = ([lo, hi]) => `${lo === null ? '(−∞' : `[${lo}`}, ${hi === null ? '∞)' : `${hi}]`}`;
const code = (s) => `\`${s.replace(/\|/g, '\\|')}\``;
const cell = (s) => s.replace(/\|/g, '\\|');

/** The page's text for a parsed vocabulary. */
export function renderMetricsDoc(v) {
  const out = [];
  out.push('# Metric vocabulary');
  out.push('');
  out.push('<!-- Generated from python/specweave_ml/metrics.json by scripts/gen-metrics-doc.mjs. Do not edit by hand. -->');
  out.push('');
  out.push('One data file, `python/specweave_ml/metrics.json`, names every metric the plugin knows: its canonical key (the');
  out.push('key `evaluate_predictions` writes), which way it improves, its range, and the names people and libraries use');
  out.push('for it. The server bundles the file (`mcp-server/src/core/metrics/vocabulary.ts`) and the Python client ships it');
  out.push('(`specweave_ml.metrics`); both resolve names by the same rules, checked on one shared table of cases');
  out.push('(`test/fixtures/metric-phrasings.json`).');
  out.push('');
  out.push('## How a name is resolved');
  out.push('');
  out.push(`1. **Normalised**: ${v.normalisation}`);
  out.push('2. **Looked up** among the canonical keys, the aliases and the scikit-learn scorer names below. A name ending in');
  out.push('   `_at_<k>` (`Precision@10`, `ndcg_at_5`) matches its `@k` family with that k; `MAP@k` names the family itself.');
  out.push('3. Otherwise one layer is peeled and the rest is looked up again:');
  out.push(`   - a **split** prefix, optionally followed by an eval-set number (\`validation_0-\`): ${Object.entries(v.splits).map(([p, s]) => `${code(`${p}_`)} → ${s}`).join(', ')}.`);
  out.push('     `eval/`, `val/`, `test/`, `train/` are the same prefixes after normalisation.');
  out.push(`   - a **summary** suffix of cross-validation: ${Object.entries(v.stats).map(([p, s]) => `${code(`_${p}`)} → ${s}`).join(', ')}.`);
  out.push('   - GridSearchCV\'s `mean_test_<scorer>` / `std_test_<scorer>` (split cv) and `mean_train_…` (split train).');
  out.push('   - scikit-learn\'s `neg_` prefix, which sets **sign −1**: the logged value is the negated metric, so a logged');
  out.push('     `neg_root_mean_squared_error` of −55 is `rmse` 55.');
  out.push(`4. The result's canonical **name** puts the facets back in one spelling: the split as ${Object.entries(v.split_keys).map(([s, p]) => `${code(p)} (${s})`).join(', ')},`);
  out.push('   then the key, then `_<stat>`. `eval/accuracy` → `val_accuracy`; `mean_test_neg_log_loss` → `cv_log_loss_mean`.');
  out.push('');
  out.push('A name that resolves nowhere is **unknown**. It still ranks, by the name-based rule: it is minimised when one of');
  out.push(`its words (split on \`_\`) is ${v.fallback_minimize_words.map(code).join(', ')}; otherwise maximised.`);
  out.push('Where it matters (success criteria) an unknown name is reported with "did you mean" suggestions: the canonical');
  out.push('keys closest by edit distance (a swap of two neighbouring letters counts as one edit) or by shared words.');
  out.push('');
  out.push('**Direction of a logged value.** `direction` is the canonical metric\'s; the value logged under a name improves the');
  out.push('other way when its sign is −1 (`neg_*` scores are maximised), a `_std` improves downwards, and a `_count` has no');
  out.push('direction.');
  out.push('');
  out.push('## Success criteria');
  out.push('');
  out.push('A criterion is `<metric> <comparison> <number>` (`macro F1 > 0.9`, `RMSE below 50`, `MAE under 3`, `log loss no');
  out.push('more than 0.3`) or `<comparison> <number> <metric>` (`at least 0.8 accuracy`). Comparisons: `>`, `>=`, `=>`,');
  out.push('`≥`, `<`, `<=`, `=<`, `≤`, and the words above, over, exceeds, greater/more/higher/larger than, at least, no less');
  out.push('than, below, under, less/lower/smaller than, at most, no more than. Bullets, check boxes, bold and a leading');
  out.push('`Success metrics:` are ignored.');
  out.push('');
  out.push('- A value written beside the metric (`precision@10=0.28 > 0.25 target`, `Recall@10 (0.12) > 0.15`) is an');
  out.push('  **observation**, kept as `observed`, never part of the metric name.');
  out.push('- **Percentages.** Metrics marked *fraction* below are stored as fractions, as scikit-learn computes them, so');
  out.push('  `MAPE < 10%` means `mape < 0.1` and `at least 80% accuracy` means `accuracy >= 0.8`. A percentage of a metric');
  out.push('  that is not a fraction (`RMSE < 10%`) is refused. (Keras logs MAPE in percent; divide it by 100.)');
  out.push('- A threshold outside the metric\'s range (`accuracy > 90`, or `accuracy < 95`, which always holds) is refused with');
  out.push('  the likely fix (`90%`).');
  out.push('- A `neg_*` name becomes its positive metric with the comparison turned round: `neg_root_mean_squared_error > -50`');
  out.push('  is `rmse < 50`.');
  out.push('- An unknown metric is refused with suggestions, and with its slug, under which the caller may accept it as a');
  out.push('  custom metric.');
  out.push('');
  out.push('**bounded** means the metric lives on a fixed, unit-free scale whose best end is finite (accuracy, AUC, R²), so an');
  out.push('absolute tolerance such as a CV standard deviation of 0.05 means the same on every problem; unbounded metrics');
  out.push('(RMSE, MAE, log loss) are in the units of the data and need tolerances relative to their mean.');
  out.push('');
  out.push('## Metrics');
  out.push('');
  out.push('| key | name | direction | range | bounded | fraction | written by `evaluate_predictions` for |');
  out.push('|---|---|---|---|---|---|---|');
  for (const m of v.metrics) {
    out.push(`| ${code(m.key)} | ${cell(m.display)} | ${m.direction} | ${bounds(m.bounds)} | ${m.bounded ? 'yes' : 'no'} | ${m.fraction ? 'yes' : 'no'} | ${(m.evaluate_predictions ?? []).join(', ')} |`);
  }
  out.push('');
  out.push('## Names of each metric');
  out.push('');
  out.push('Aliases match after normalisation, so case, spaces, hyphens and `@` do not matter. scikit-learn scorer names');
  out.push('(`sklearn.metrics.get_scorer_names()`) are listed with their sign.');
  out.push('');
  out.push('| key | aliases | scikit-learn scorers | note |');
  out.push('|---|---|---|---|');
  for (const m of v.metrics) {
    const scorers = (m.sklearn_scorers ?? []).map((s) => `${code(s.name)}${s.sign === -1 ? ' (−1)' : ''}`).join(', ');
    out.push(`| ${code(m.key)} | ${m.aliases.map(code).join(', ')} | ${scorers} | ${cell(m.note ?? '')} |`);
  }
  out.push('');
  return out.join('\n');
}

export function generatedMetricsDoc() {
  return renderMetricsDoc(JSON.parse(readFileSync(VOCABULARY_PATH, 'utf8')));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = generatedMetricsDoc();
  if (process.argv.includes('--check')) {
    if (readFileSync(DOC_PATH, 'utf8') !== text) {
      console.error('docs/metrics.md is out of date: run node scripts/gen-metrics-doc.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(DOC_PATH, text);
  }
}

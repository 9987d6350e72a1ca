import { check, type GateDefinition } from './types.js';

export const selectionGate: GateDefinition = {
  id: 'selection',
  summary: 'The best model was selected on cross-validation or a validation metric, not on the test set.',
  check(ctx) {
    const c = ctx.comparison;
    if (!c) return check('selection', 'warn', 'Nothing was ranked, so no model was selected.');
    const s = c.selection;
    if (s.source === 'test') {
      return check(
        'selection',
        'warn',
        `Selected on the test set: ${s.reason}. Its test score is then optimistic. Log cv_${s.key} per fold (or cv_${s.key}_mean) or val_${s.key} for every candidate; ` +
          `to rank on them only, call update_increment ${JSON.stringify({ increment: ctx.incrementId, selection: 'cv' })}.`,
      );
    }
    const what = s.source === 'cv' ? `the cross-validation mean cv_${s.key}_mean` : `the validation metric val_${s.key}`;
    return check('selection', 'pass', `Selected on ${what} (${s.reason}); the test set only reports.`);
  },
};

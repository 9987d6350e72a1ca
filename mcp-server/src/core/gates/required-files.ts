import { check, type GateDefinition } from './types.js';

export const requiredFilesGate: GateDefinition = {
  id: 'required-files',
  summary: 'spec.md, plan.md and tasks.md exist; tests.md (the evaluation criteria) is expected too.',
  check(ctx) {
    const missing = ['spec.md', 'plan.md', 'tasks.md'].filter((f) => !ctx.files.has(f));
    const checks = [
      missing.length
        ? check('required-files', 'fail', `Missing ${missing.join(', ')} in ${ctx.incrementPath}.`)
        : check('required-files', 'pass', 'spec.md, plan.md and tasks.md exist.'),
    ];
    if (!ctx.files.has('tests.md')) checks.push(check('tests-file', 'warn', 'tests.md (evaluation criteria) is missing.'));
    return checks;
  },
};

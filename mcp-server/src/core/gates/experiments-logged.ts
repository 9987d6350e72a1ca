import { check, type GateDefinition } from './types.js';

export const experimentsLoggedGate: GateDefinition = {
  id: 'experiments-logged',
  summary: 'At least one experiment is recorded and every experiment folder is readable.',
  check({ experiments, broken }) {
    if (experiments.length === 0)
      return check('experiments-logged', 'fail', 'No experiments are logged. Track a baseline and candidates with track_experiment.');
    const unreadable = broken.length ? `; ${broken.length} unreadable: ${broken.map((b) => `${b.name} (${b.reason})`).join('; ')}` : '';
    return check('experiments-logged', broken.length ? 'warn' : 'pass', `${experiments.length} experiments logged${unreadable}.`);
  },
};

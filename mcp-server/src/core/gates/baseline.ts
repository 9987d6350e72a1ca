import { check, type GateDefinition } from './types.js';

export const baselineGate: GateDefinition = {
  id: 'baseline',
  summary: 'A baseline experiment (a simple reference model) is recorded.',
  check({ experiments }) {
    const baselines = experiments.filter((e) => e.baseline).map((e) => e.name);
    return baselines.length
      ? check('baseline', 'pass', `Baselines: ${baselines.join(', ')}.`)
      : check(
          'baseline',
          'fail',
          'No baseline experiment. Track a simple reference model (majority class, mean, last value) with baseline: true.',
        );
  },
};

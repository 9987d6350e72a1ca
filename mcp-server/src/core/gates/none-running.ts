import { check, type GateDefinition } from './types.js';

export const noneRunningGate: GateDefinition = {
  id: 'none-running',
  summary: 'No experiment is still running.',
  check({ experiments }) {
    const running = experiments.filter((e) => e.status === 'running').map((e) => e.name);
    return running.length
      ? check(
          'none-running',
          'fail',
          `Still running: ${running.join(', ')}. Finish them or track them with status "completed", "failed" or "killed".`,
        )
      : check('none-running', 'pass', 'No experiment is still running.');
  },
};

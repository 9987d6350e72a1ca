import { check, type GateDefinition } from './types.js';

const SPECWEAVE_STATUSES = ['planning', 'planned', 'active', 'backlog', 'paused', 'ready_for_review', 'completed', 'abandoned'];

export const metadataGate: GateDefinition = {
  id: 'metadata',
  summary: 'metadata.json is readable and has the fields SpecWeave needs (id, a SpecWeave status, type, dates).',
  check(ctx) {
    if (!('raw' in ctx.meta)) return check('metadata', 'fail', ctx.meta.describe());
    const raw = ctx.meta.raw;
    const problems: string[] = [];
    if (raw.id !== ctx.incrementId) problems.push(`id is ${JSON.stringify(raw.id)}, expected "${ctx.incrementId}"`);
    if (!SPECWEAVE_STATUSES.includes(String(raw.status))) problems.push(`status ${JSON.stringify(raw.status)} is not a SpecWeave status`);
    for (const key of ['type', 'created', 'lastActivity']) if (!raw[key]) problems.push(`${key} is missing`);
    return problems.length
      ? check('metadata', 'fail', `metadata.json: ${problems.join('; ')}.`)
      : check('metadata', 'pass', 'metadata.json is valid.');
  },
};

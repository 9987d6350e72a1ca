/** Schema pieces shared by the tools. Optional arguments accept null, because models send it. */
import { z } from 'zod';
import { decodeNumber, encodeNumber } from '../core/json.js';

export const IncrementRef = z.string().min(1).describe('The increment: its number ("0042" or "42") or folder name ("0042-churn-model").');

export const ExperimentName = z
  .string()
  .min(1)
  .describe('Experiment name: letters, digits, ".", "_", "-" (e.g. "xgboost-depth6"); it is the folder name.');

/** A metric value in JSON: a number, or "NaN" / "Infinity" / "-Infinity" for non-finite values. */
export const MetricNumber = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);
export const MetricMap = z.record(z.string(), MetricNumber);

export const Direction = z.enum(['maximize', 'minimize']);

/** A success criterion as stored in metadata.json (docs/format.md, "Success criteria"). */
export const Criterion = z.object({
  metric: z.string(),
  op: z.enum(['>', '>=', '<', '<=']),
  value: z.number(),
  text: z.string(),
  custom: z.literal(true).optional(),
});

/** Numbers from the wire (where non-finite values arrive as strings) back to numbers. */
export function decodeMetricMap(map: Record<string, number | string> | null | undefined): Record<string, number> | undefined {
  if (!map) return undefined;
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, decodeNumber(v)!]));
}

/** Any result on its way out: non-finite numbers become their string form, since JSON has no NaN. */
export function toWire<T>(value: T): T {
  if (typeof value === 'number') return encodeNumber(value) as T;
  if (Array.isArray(value)) return value.map(toWire) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toWire(v)]),
    ) as T;
  }
  return value;
}

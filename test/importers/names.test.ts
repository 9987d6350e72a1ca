import { describe, expect, it } from 'vitest';
import { toExperimentName, uniqueExperimentName } from '../../mcp-server/src/core/importers/index.js';
import {
  coerceParamText,
  flattenObject,
  isoFromText,
  parseLenientJson,
  parseNumberText,
} from '../../mcp-server/src/core/importers/values.js';

const VALID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

describe('toExperimentName', () => {
  it.each([
    ['xgb-depth6', 'xgb-depth6'],
    ['My run #3 (best)', 'My-run-3-best'],
    ['ŝtep/α=0.1', 'step-0.1'],
    ['..hidden', 'hidden'],
    ['a..b...c', 'a.b.c'],
    ['_private', 'private'],
    ['trailing.', 'trailing'],
    ['', 'run'],
    ['///', 'run'],
    ['CON', 'CON_'],
    ['x'.repeat(150), 'x'.repeat(100)],
  ])('%j → %j', (raw, expected) => {
    expect(toExperimentName(raw)).toBe(expected);
    expect(toExperimentName(raw)).toMatch(VALID);
  });
});

describe('uniqueExperimentName', () => {
  it('appends -2, -3 … comparing case-insensitively, within 100 characters', () => {
    expect(uniqueExperimentName('run', new Set())).toBe('run');
    expect(uniqueExperimentName('RUN', new Set(['run']))).toBe('RUN-2');
    expect(uniqueExperimentName('run', new Set(['run', 'run-2']))).toBe('run-3');
    const long = uniqueExperimentName('y'.repeat(120), new Set(['y'.repeat(100)]));
    expect(long).toBe(`${'y'.repeat(98)}-2`);
    expect(long).toMatch(VALID);
  });
});

describe('value conversions', () => {
  it('parses metric text', () => {
    expect(parseNumberText('0.5')).toBe(0.5);
    expect(parseNumberText('1e-05')).toBe(0.00001);
    expect(parseNumberText('nan')).toBeNaN();
    expect(parseNumberText('-inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(parseNumberText('Infinity')).toBe(Number.POSITIVE_INFINITY);
    expect(parseNumberText('')).toBeUndefined();
    expect(parseNumberText('abc')).toBeUndefined();
    expect(parseNumberText('0x10')).toBeUndefined();
  });

  it('coerces MLflow param text conservatively', () => {
    expect(coerceParamText('6')).toBe(6);
    expect(coerceParamText('0.1')).toBe(0.1);
    expect(coerceParamText('True')).toBe(true);
    expect(coerceParamText('None')).toBe('None');
    expect(coerceParamText('007')).toBe('007');
    expect(coerceParamText('12345678901234567890')).toBe('12345678901234567890');
    expect(coerceParamText(' 1')).toBe(' 1');
    expect(coerceParamText('[1, 2]')).toBe('[1, 2]');
  });

  it('flattens nested mappings with dots and keeps arrays', () => {
    expect(flattenObject({ a: { b: { c: 1 }, d: [1, 2] }, e: {} })).toEqual({ 'a.b.c': 1, 'a.d': [1, 2], e: {} });
  });

  it('reads Python JSON with bare NaN/Infinity', () => {
    expect(parseLenientJson('\uFEFF{"a": NaN, "b": -Infinity, "c": "NaN text"}')).toEqual({ a: 'NaN', b: '-Infinity', c: 'NaN text' });
  });

  it('reads naive W&B times as UTC', () => {
    expect(isoFromText('2025-01-05T10:15:00.123456')).toBe('2025-01-05T10:15:00.123Z');
    expect(isoFromText('2025-01-05T10:15:00+02:00')).toBe('2025-01-05T08:15:00.000Z');
    expect(isoFromText('yesterday')).toBeNull();
  });
});

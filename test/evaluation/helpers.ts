import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'evaluation');
export const GENERATOR = join(FIXTURES, 'generate_expected.py');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Expected = any;

export function loadExpected(path = join(FIXTURES, 'expected.json')): Expected {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Agreement to 1e-9: absolute for values up to 1 in size, relative beyond (MAPE with zero targets is ~1e15). */
export function expectClose(actual: number | null | undefined, expected: number | null, label: string, tol = 1e-9): void {
  if (expected === null) {
    expect(actual, `${label}: expected null (undefined metric)`).toBeNull();
    return;
  }
  expect(typeof actual, `${label}: expected a number, got ${actual}`).toBe('number');
  const diff = Math.abs((actual as number) - expected);
  expect(diff <= tol * Math.max(1, Math.abs(expected)), `${label}: ${actual} vs expected ${expected} (diff ${diff})`).toBe(true);
}

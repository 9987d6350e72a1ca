/**
 * The size of a tool result as it goes on the wire, measured without building the JSON: a result grown huge from
 * a pathological file (a params.json with 200,000 keys) must be refused, not copied again into a giant string.
 */

/** Results above this many bytes (text plus structuredContent, serialized) become an isError. Documented in docs/limits.md. */
export const MAX_RESULT_BYTES = 1024 * 1024;

/** An error's message and its hint are each cut here: they may quote an argument, which can be up to the read limit. */
export const MAX_ERROR_PART_CHARS = 8 * 1024;

/** Bytes of JSON.stringify(s) in UTF-8, counted code unit by code unit. */
export function jsonStringBytes(s: string): number {
  let bytes = 2;
  for (let i = 0; i < s.length; i += 1) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) bytes += 2;
    else if (c < 0x20) bytes += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
    else if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      bytes += 4;
      i += 1;
    } else if (c >= 0xd800 && c <= 0xdfff)
      bytes += 6; // a lone surrogate is written as \udXXX
    else bytes += 3;
  }
  return bytes;
}

/** JSON.stringify leaves these out of objects (and writes null for them in arrays). */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function scalarBytes(v: unknown): number | null {
  if (v === null) return 4;
  if (typeof v === 'boolean') return v ? 4 : 5;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v).length : 4;
  if (typeof v === 'string') return jsonStringBytes(v);
  if (omitted(v)) return 4; // only reached inside arrays
  return null;
}

/**
 * The UTF-8 size of JSON.stringify(value). Iterative, so a deeply nested value cannot overflow the stack, and
 * allocation-free apart from each object's key list.
 */
export function serializedBytes(value: unknown): number {
  if (omitted(value)) return 0;
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    let v = stack.pop();
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function')
      v = (v as { toJSON: () => unknown }).toJSON();
    const scalar = scalarBytes(v);
    if (scalar !== null) {
      total += scalar;
      continue;
    }
    if (Array.isArray(v)) {
      total += 2 + Math.max(0, v.length - 1);
      for (const item of v) stack.push(item);
      continue;
    }
    const obj = v as Record<string, unknown>;
    let members = 0;
    for (const key of Object.keys(obj)) {
      const member = obj[key];
      if (omitted(member)) continue;
      members += 1;
      total += jsonStringBytes(key) + 1;
      stack.push(member);
    }
    total += 2 + Math.max(0, members - 1);
  }
  return total;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

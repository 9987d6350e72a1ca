/** Safe pieces of generated Python: string literals and identifiers made from data (feature names are data). */

/** A Python string literal for any text: JSON's escapes are all valid Python escapes. */
export const pyString = (text: string): string => JSON.stringify(text);

/** A Python literal for JSON data (strings, numbers, booleans, null, lists, objects). */
export function pyLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : `float(${pyString(String(value))})`;
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(', ')}]`;
  if (typeof value === 'object')
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pyString(k)}: ${pyLiteral(v)}`)
      .join(', ')}}`;
  return pyString(String(value));
}

const KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from global if ' +
    'import in is lambda nonlocal not or pass raise return try while with yield match case type'
  ).split(' '),
);
/** Attributes of pydantic's BaseModel a field must not shadow. */
const RESERVED = new Set([
  'copy',
  'dict',
  'json',
  'schema',
  'schema_json',
  'construct',
  'validate',
  'fields',
  'parse_obj',
  'parse_raw',
  'parse_file',
  'from_orm',
  'update_forward_refs',
]);

/**
 * A distinct Python identifier for each name, in order: letters, digits and underscores only, never a keyword, a
 * BaseModel attribute or a `model_`/underscore prefix pydantic reserves. The original name stays the field's alias.
 */
export function pythonIdentifiers(names: readonly string[]): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    let id = name
      .normalize('NFKD')
      .replace(/[^A-Za-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .toLowerCase();
    if (!id || /^[0-9]/.test(id)) id = `f_${id}`;
    if (KEYWORDS.has(id) || RESERVED.has(id) || id.startsWith('model_')) id = `${id}_`;
    let unique = id;
    for (let n = 2; used.has(unique); n++) unique = `${id}_${n}`;
    used.add(unique);
    return unique;
  });
}

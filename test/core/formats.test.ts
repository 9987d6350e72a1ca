import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { decodeNumber, parseLenientJson, stringifyCanonical, stringifyLine } from '../../mcp-server/src/core/json.js';
import { parseRestrictedYaml, parseYamlMapping, stringifyMetadataYaml } from '../../mcp-server/src/core/yaml.js';

describe('canonical JSON', () => {
  it('sorts keys at every level, indents by two, ends with a newline', () => {
    expect(stringifyCanonical({ b: 1, a: { d: [2, 1], c: true } })).toBe(
      '{\n  "a": {\n    "c": true,\n    "d": [\n      2,\n      1\n    ]\n  },\n  "b": 1\n}\n',
    );
  });
  it('writes non-finite numbers as strings that round-trip', () => {
    const text = stringifyCanonical({ loss: Number.NaN, up: Infinity, down: -Infinity, ok: 0.5 });
    expect(JSON.parse(text)).toEqual({ down: '-Infinity', loss: 'NaN', ok: 0.5, up: 'Infinity' });
    const back = JSON.parse(text) as Record<string, unknown>;
    expect(Number.isNaN(decodeNumber(back.loss))).toBe(true);
    expect(decodeNumber(back.up)).toBe(Infinity);
    expect(decodeNumber(back.down)).toBe(-Infinity);
    expect(decodeNumber('nan')).toBeUndefined();
  });
  it('keeps the documented key order in history lines', () => {
    expect(stringifyLine({ metric: 'loss', value: Number.NaN, step: 3, timestamp: 't' })).toBe(
      '{"metric":"loss","value":"NaN","step":3,"timestamp":"t"}',
    );
  });
});

describe('lenient JSON reading', () => {
  it("accepts a BOM, CRLF and Python's bare NaN / Infinity tokens", () => {
    const python = '\ufeff{\r\n  "loss": NaN,\r\n  "a": -Infinity, "b": [Infinity],\r\n  "text": "NaN stays Infinity"\r\n}';
    expect(parseLenientJson(python)).toEqual({ loss: 'NaN', a: '-Infinity', b: ['Infinity'], text: 'NaN stays Infinity' });
  });
  it('does not touch tokens inside strings, including escaped quotes', () => {
    expect(parseLenientJson('{"s": "say \\"NaN\\"", "v": NaN}')).toEqual({ s: 'say "NaN"', v: 'NaN' });
  });
  it('still rejects real garbage', () => {
    expect(() => parseLenientJson('{"a": ')).toThrow();
  });
});

describe('metadata.yaml', () => {
  const meta = {
    source: { tool: 'mcp' },
    name: 'rf',
    status: 'completed',
    baseline: false,
    tags: ['a', 'line\u2028sep'],
    notes: [{ time: '2026-01-01T00:00:00.000Z', text: 'quote " and colon: and # hash\nnewline' }],
    created: '2026-01-01T00:00:00.000Z',
    duration_seconds: 1.5,
    git: null,
    environment: {},
    artifacts: [{ path: 'model.pkl', bytes: 10, sha256: 'ab' }],
    custom_key: { nested: [1, 2] },
  };
  it('writes the documented key order and style', () => {
    const text = stringifyMetadataYaml(meta);
    expect(text).toBe(
      [
        'name: "rf"',
        'status: "completed"',
        'baseline: false',
        'tags:',
        '  - "a"',
        '  - "line\\u2028sep"',
        'notes:',
        '  - time: "2026-01-01T00:00:00.000Z"',
        '    text: "quote \\" and colon: and # hash\\nnewline"',
        'created: "2026-01-01T00:00:00.000Z"',
        'duration_seconds: 1.5',
        'git: null',
        'environment: {}',
        'artifacts:',
        '  - path: "model.pkl"',
        '    bytes: 10',
        '    sha256: "ab"',
        'source:',
        '  tool: "mcp"',
        'custom_key:',
        '  nested:',
        '    - 1',
        '    - 2',
        '',
      ].join('\n'),
    );
  });
  it('escapes what YAML forbids raw or reads as a line break, in lowercase hex', () => {
    const text = stringifyMetadataYaml({ name: 'a\u007fb\u0085c\u009fd\ufeffe\uffff\u001bé' });
    expect(text).toBe('name: "a\\u007fb\\u0085c\\u009fd\\ufeffe\\uffff\\u001bé"\n');
    expect(load(text)).toEqual({ name: 'a\u007fb\u0085c\u009fd\ufeffe\uffff\u001bé' });
  });
  it('is read back identically by a standard YAML parser', () => {
    expect(load(stringifyMetadataYaml(meta))).toEqual(meta);
  });
  it('reports a broken file by name instead of guessing', () => {
    expect(() => parseYamlMapping('name: [unclosed', 'x/metadata.yaml')).toThrow(/x\/metadata.yaml is not valid YAML/);
    expect(() => parseYamlMapping('- a list', 'x/metadata.yaml')).toThrow(/must hold a YAML mapping/);
  });
});

describe('the fast reader for the restricted style', () => {
  it('agrees with js-yaml on everything the writer produces', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const word = () =>
      ['a', 'Zé', 'x: y', '- dash', '"q"', '#hash', 'tab\t', 'nl\n', '\u2028', '[1]', '{}', 'null', '12', ''][Math.floor(rnd() * 14)]!;
    const value = (depth: number): unknown => {
      const r = rnd();
      if (depth > 2 || r < 0.4)
        return [word(), rnd() * 1e6 - 5e5, Math.floor(rnd() * 100), true, false, null, 1e-7, 1e21][Math.floor(rnd() * 8)];
      if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 3) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(rnd() * 3) }, (_, i) => [i % 2 ? `k${i}` : `${word()}${i}`, value(depth + 1)]),
      );
    };
    for (let n = 0; n < 300; n += 1) {
      const doc = {
        name: word(),
        tags: [word(), word()],
        notes: [{ time: 't', text: word() }],
        artifacts: [{ path: 'p', bytes: 1, sha256: 'h' }],
        extra: value(0),
        [`${word()}x`]: value(0),
      };
      const text = stringifyMetadataYaml(doc);
      const fast = parseRestrictedYaml(text);
      expect(fast, text).toBeDefined();
      expect(fast).toEqual(load(text));
    }
  });
  it('hands anything else to the full parser', () => {
    for (const text of [
      'name: rf  # a comment\n',
      'name: rf\n',
      'tags: [a, b]\n',
      'name: "a"\r\nstatus: "b"\r\n',
      'tags:\n- "a"\n',
      "x: 'single'\n",
    ]) {
      expect(parseRestrictedYaml(text), text).toBeUndefined();
      expect(parseYamlMapping(text, 'f')).toEqual(load(text));
    }
  });
});

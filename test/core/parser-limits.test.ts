/**
 * Hostile files against the readers (docs/format.md, "What readers accept"): YAML alias bombs, tags and deep
 * nesting in the project's files and in import sources. Each is a clear error (or, in imports, a warning) naming
 * the file; nothing is expanded, nothing overflows, and the server answers the next call.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH, parseJsonObject, stringifyCanonical } from '../../mcp-server/src/core/json.js';
import { MAX_FOREIGN_YAML_VALUES, parseForeignYaml, parseYamlMapping, stringifyMetadataYaml } from '../../mcp-server/src/core/yaml.js';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import { passingIncrement } from '../helpers/scenario.js';

/** 9 levels of 9 aliases: under 400 bytes that stand for 9^9 (387 million) strings once expanded. */
const ALIAS_BOMB = `a: &a [${Array(9).fill('"lol"').join(',')}]\n${[...'bcdefghi'].map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]\n`).join('')}`;
/** 100,000 nested arrays: V8 parses them; every recursive walk after the parse overflows the stack. */
const DEEP_ARRAYS = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
const text = (r: { content: unknown[] }) => (r.content[0] as { text: string }).text;
const heapMb = () => process.memoryUsage().heapUsed / 2 ** 20;

let c: TestClient;
let root: string;
let inc: string;
let incDir: string;
let expRel: string;
const expFile = (f: string) => path.join(root, expRel, f);

beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
  inc = await passingIncrement(c, root);
  incDir = path.join(root, '.specweave/increments', inc);
  expRel = `.specweave/increments/${inc}/experiments/logreg`;
});
afterEach(async () => c.close());

/** The server still answers: another experiment reads whole. */
async function serverStillAnswers(): Promise<void> {
  const rf = await c.ok('get_experiment', { increment: inc, name: 'random-forest' });
  expect(rf.metrics.roc_auc).toBe(0.88);
}

describe('the format’s own files', () => {
  it('refuses a 386-byte alias bomb in metadata.yaml in every tool that reads it, naming the file', async () => {
    expect(ALIAS_BOMB.length).toBeLessThan(400);
    fs.writeFileSync(expFile('metadata.yaml'), ALIAS_BOMB);
    const file = `${expRel}/metadata.yaml`;
    const before = heapMb();

    const got = await c.call('get_experiment', { increment: inc, name: 'logreg' });
    expect(got.isError).toBe(true);
    expect(text(got)).toContain(`${file} uses a YAML anchor (&a, line 1), which this format never writes`);
    expect(text(got)).toMatch(/without anchors \(&\), aliases \(\*\) and tags \(!\)/);

    // Listing, comparing and validating go on with the other experiments and name the unreadable one.
    const list = await c.call('list_experiments', { increment: inc });
    expect(list.isError).toBeFalsy();
    expect(text(list)).toContain(`logreg UNREADABLE: ${file} uses a YAML anchor`);
    const compare = await c.call('compare_experiments', { increment: inc });
    expect(compare.isError).toBeFalsy();
    expect(text(compare)).toContain(`logreg (${file} uses a YAML anchor`);
    const validate = await c.ok('validate_increment', { increment: inc });
    expect(JSON.stringify(validate.checks)).toContain(`${file} uses a YAML anchor`);

    expect(heapMb() - before).toBeLessThan(200); // a sanity bound: expanded, the bomb is gigabytes
    await serverStillAnswers();
    expect(fs.readFileSync(expFile('metadata.yaml'), 'utf8')).toBe(ALIAS_BOMB); // nothing rewritten
  });

  it('names the alias, anchor or tag and its line, wherever it stands', async () => {
    const cases: [string, string][] = [
      ['name: "logreg"\nstatus: *done\n', 'uses a YAML alias (*done, line 2)'],
      ['name: "logreg"\ntags:\n  - &t "x"\n', 'uses a YAML anchor (&t, line 3)'],
      ['name: !!python/object/apply:os.system ["echo pwned"]\n', 'uses the YAML tag !!python/object/apply:os.system (line 1)'],
      ['name: "logreg"\nnotes: [{text: !!binary aGk=}]\n', 'uses the YAML tag !!binary (line 2)'],
      ['--- !custom\nname: "logreg"\n', 'uses the YAML tag !custom (line 1)'],
    ];
    for (const [yaml, words] of cases) {
      fs.writeFileSync(expFile('metadata.yaml'), yaml);
      const message = await c.fails('get_experiment', { increment: inc, name: 'logreg' });
      expect(message, yaml).toContain(`${expRel}/metadata.yaml ${words}, which this format never writes`);
    }
    await serverStillAnswers();
  });

  it('refuses nesting past the cap in metadata.yaml, block or flow, with the line', async () => {
    const block = Array.from({ length: 100 }, (_, i) => `${'  '.repeat(i)}k${i}:\n`).join('') + `${'  '.repeat(100)}v: 1\n`;
    for (const [yaml, line] of [
      [block, 65],
      [`name: "x"\nextra: ${DEEP_ARRAYS}\n`, 2],
    ] as const) {
      fs.writeFileSync(expFile('metadata.yaml'), yaml);
      const message = await c.fails('get_experiment', { increment: inc, name: 'logreg' });
      expect(message).toContain(`${expRel}/metadata.yaml nests collections more than ${MAX_NESTING_DEPTH} levels deep (line ${line})`);
    }
    await serverStillAnswers();
  });

  it('refuses 100,000 nested arrays in params.json, metrics.json and metadata.json, naming each file', async () => {
    for (const name of ['params.json', 'metrics.json']) {
      const good = fs.readFileSync(expFile(name));
      fs.writeFileSync(expFile(name), `{"x": ${DEEP_ARRAYS}}`);
      const message = await c.fails('get_experiment', { increment: inc, name: 'logreg' });
      expect(message).toContain(`${expRel}/${name} nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep`);
      fs.writeFileSync(expFile(name), good);
    }
    fs.writeFileSync(path.join(incDir, 'metadata.json'), DEEP_ARRAYS);
    const validate = await c.ok('validate_increment', { increment: inc });
    const metadataCheck = validate.checks.find((x: { id: string }) => x.id === 'metadata');
    expect(metadataCheck).toMatchObject({
      status: 'fail',
      message: expect.stringContaining(`.specweave/increments/${inc}/metadata.json nests arrays and objects more than`),
    });
    await serverStillAnswers();
  });

  it('reads what the cap allows, so the cap is not stricter than documented', () => {
    const inner = `${'['.repeat(MAX_NESTING_DEPTH - 1)}${']'.repeat(MAX_NESTING_DEPTH - 1)}`;
    expect(JSON.stringify(parseJsonObject(`{"a": ${inner}}`, 'f.json'))).toBe(`{"a":${inner}}`);
    expect(() => parseJsonObject(`{"a": [${inner}]}`, 'f.json')).toThrow(/f\.json nests arrays and objects more than 64 levels deep/);
    expect(JSON.stringify(parseYamlMapping(`a: ${inner}\n`, 'f.yaml'))).toBe(`{"a":${inner}}`);
    expect(() => parseYamlMapping(`a: [${inner}]\n`, 'f.yaml')).toThrow(/f\.yaml nests collections more than 64 levels deep \(line 1\)/);
  });

  it('never writes what it would refuse to read', async () => {
    const nested = (levels: number): unknown => {
      let value: unknown = [];
      for (let i = 1; i < levels; i += 1) value = [value];
      return value;
    };
    // {x: 63 levels} is 64: written and read back
    await c.ok('track_experiment', { increment: inc, name: 'deep-ok', params: { x: nested(MAX_NESTING_DEPTH - 1) } });
    expect((await c.ok('get_experiment', { increment: inc, name: 'deep-ok' })).params).toEqual({ x: nested(MAX_NESTING_DEPTH - 1) });
    for (const levels of [MAX_NESTING_DEPTH, 20_000]) {
      const message = await c.fails('track_experiment', { increment: inc, name: `deep-${levels}`, params: { x: nested(levels) } });
      expect(message).toContain(`Refused to write a JSON file nesting arrays and objects more than ${MAX_NESTING_DEPTH} levels deep`);
    }
    expect(() => stringifyCanonical({ x: nested(MAX_NESTING_DEPTH) })).toThrow(/more than 64 levels deep/);
    expect(() => stringifyMetadataYaml({ name: 'x', extra: nested(MAX_NESTING_DEPTH) })).toThrow(
      /Refused to write a metadata\.yaml nesting collections more than 64 levels deep/,
    );
    expect(parseYamlMapping(stringifyMetadataYaml({ extra: nested(MAX_NESTING_DEPTH - 1) }), 'f').extra).toEqual(
      nested(MAX_NESTING_DEPTH - 1),
    );
  });

  it('keeps what looks like an indicator inside a value as text', () => {
    expect(parseYamlMapping('url: http://x/?a=1&b=2\nglob: "*.csv"\nshout: hi!\nexpr: a*b\n', 'f')).toEqual({
      url: 'http://x/?a=1&b=2',
      glob: '*.csv',
      shout: 'hi!',
      expr: 'a*b',
    });
  });
});

describe('foreign YAML (import sources)', () => {
  it('accepts anchors and aliases within bounds, as DVC params files use them', () => {
    const params = 'base: &base\n  lr: 0.1\n  layers: [64, 128]\ntrain:\n  model: *base\n  epochs: 3\n';
    expect(parseForeignYaml(params)).toEqual({
      base: { lr: 0.1, layers: [64, 128] },
      train: { model: { lr: 0.1, layers: [64, 128] }, epochs: 3 },
    });
  });

  it(`counts every alias as all it stands for, up to ${MAX_FOREIGN_YAML_VALUES} values`, () => {
    // root mapping, key "base", its 999-item list (1000 values), key "uses", its list: 1004 + 1000 per alias
    const withAliases = (n: number) =>
      `base: &b [${Array.from({ length: 999 }, (_, i) => i).join(',')}]\nuses: [${Array(n).fill('*b').join(',')}]\n`;
    expect((parseForeignYaml(withAliases(98)) as { uses: unknown[] }).uses).toHaveLength(98); // 99,004 values
    expect(() => parseForeignYaml(withAliases(99))).toThrow(/expands its YAML aliases to more than 100,000 values \(line 2\)/);
  });

  it('refuses an alias inside the node it names, and nesting that aliases push past the cap', () => {
    expect(() => parseForeignYaml('a: &x\n  b: *x\n')).toThrow(/alias \*x inside the node it names \(line 2\)/);
    const chain = Array.from({ length: 70 }, (_, i) => `k${i}: &a${i} ${i ? `[*a${i - 1}]` : '[1]'}`).join('\n');
    expect(() => parseForeignYaml(chain)).toThrow(/more than 64 levels deep once its YAML aliases are expanded/);
  });

  it('imports W&B runs around a bombed config.yaml and a deeply nested summary, warning with each file', async () => {
    const wandb = path.join(root, 'wandb');
    const run = (id: string, files: Record<string, string>) => {
      const dir = path.join(wandb, `run-20250101_000000-${id}`, 'files');
      fs.mkdirSync(dir, { recursive: true });
      for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
    };
    run('bomb0001', { 'config.yaml': ALIAS_BOMB, 'wandb-summary.json': '{"accuracy": 0.5}' });
    run('deep0002', { 'config.yaml': 'lr:\n  value: 0.1\n', 'wandb-summary.json': `{"accuracy": ${DEEP_ARRAYS}}` });
    run('good0003', { 'config.yaml': 'lr:\n  value: 0.2\n', 'wandb-summary.json': '{"accuracy": 0.9}' });
    const before = heapMb();
    const r = await c.ok('import_runs', { increment: inc, source: 'wandb' });
    expect(heapMb() - before).toBeLessThan(200);
    expect(r.imported_count).toBe(3);
    const warnings = r.warnings.join('\n');
    expect(warnings).toMatch(/files\/config\.yaml is malformed \(expands its YAML aliases to more than 100,000 values \(line \d\)/);
    expect(warnings).toMatch(/files\/wandb-summary\.json is malformed \(nests arrays and objects more than 64 levels deep/);
    const byRun = Object.fromEntries(r.imported.map((i: { run: string; experiment: string }) => [i.run, i.experiment]));
    const good = await c.ok('get_experiment', { increment: inc, name: byRun['wandb:good0003'] });
    expect(good).toMatchObject({ params: { lr: 0.2 }, metrics: { accuracy: 0.9 } });
    const bombed = await c.ok('get_experiment', { increment: inc, name: byRun['wandb:bomb0001'] });
    expect(bombed).toMatchObject({ params: {}, metrics: { accuracy: 0.5 } });
  });

  it('skips an MLflow run whose meta.yaml is a bomb, saying why, and a DVC params.yaml bomb with a warning', async () => {
    const exp = path.join(root, 'mlruns', '1');
    fs.mkdirSync(path.join(exp, 'aaaa1111', 'metrics'), { recursive: true });
    fs.writeFileSync(
      path.join(exp, 'meta.yaml'),
      "artifact_location: file:///x\nexperiment_id: '1'\nlifecycle_stage: active\nname: churn\n",
    );
    fs.writeFileSync(path.join(exp, 'aaaa1111', 'meta.yaml'), ALIAS_BOMB);
    const ml = await c.ok('import_runs', { increment: inc, source: 'mlruns', format: 'mlflow' });
    expect(ml.imported_count).toBe(0);
    expect(ml.skipped.map((s: { reason: string }) => s.reason).join('\n')).toMatch(
      /meta\.yaml unreadable \(expands its YAML aliases to more than 100,000 values/,
    );

    const dvc = path.join(root, 'dvcproj');
    fs.mkdirSync(dvc);
    fs.writeFileSync(path.join(dvc, 'params.yaml'), ALIAS_BOMB);
    fs.writeFileSync(path.join(dvc, 'metrics.json'), '{"acc": 0.7}');
    const d = await c.ok('import_runs', { increment: inc, source: 'dvcproj', format: 'dvc' });
    expect(d.warnings.join('\n')).toMatch(/params\.yaml is not valid YAML \(expands its YAML aliases to more than 100,000 values/);
    await serverStillAnswers();
  });
});

/** The model registry through the real MCP client, in a real git repository. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { git, gitProject } from '../helpers/project.js';
import { passingIncrement } from '../helpers/scenario.js';

let c: TestClient;
let root: string;
let inc: string;
const reg = (...p: string[]) => path.join(root, '.specweave/registry', ...p);
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const events = (name: string) =>
  fs
    .readFileSync(reg(name, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l));
const incDir = () => path.join(root, '.specweave/increments', inc);
const modelFile = (exp: string) => path.join(incDir(), 'experiments', exp, 'model.pkl');

/** Sample standard deviation (ddof = 1), computed here to check what the registry records. */
function sampleStd(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

beforeEach(async () => {
  root = gitProject();
  process.env.SPECWEAVE_ACTOR = '';
  c = await inMemoryClient(root);
  inc = await passingIncrement(c, root);
  await c.ok('track_experiment', { increment: inc, name: 'random-forest', metrics: { test_roc_auc: 0.87, test_recall: 0.69 } });
});
afterEach(async () => c.close());

describe('register_model', () => {
  it('records an immutable version with its lineage, verified against the files and git', async () => {
    // A data file recorded as an artifact and one recorded by its hash in params.
    const train = path.join(incDir(), 'experiments/random-forest/train.csv');
    fs.writeFileSync(train, 'age,churn\n30,0\n');
    const heldOut = createHash('sha256').update('holdout').digest('hex');
    await c.ok('track_experiment', {
      increment: inc,
      name: 'random-forest',
      artifacts: ['train.csv'],
      params: { holdout_sha256: heldOut },
    });
    const r = await c.ok('register_model', { name: 'churn', increment: inc, experiment: 'random-forest', description: 'first forest' });
    expect(r.version).toBe('1.0.0');
    expect(r.path).toBe('.specweave/registry/churn/versions/1.0.0.json');
    const record = JSON.parse(fs.readFileSync(path.join(root, r.path), 'utf8'));
    // The artifact: path, bytes and sha256 of the file as it is on disk.
    const file = modelFile('random-forest');
    expect(record.artifact).toEqual({
      path: path.relative(root, file),
      bytes: fs.statSync(file).size,
      sha256: sha256(file),
      format: 'pickle',
    });
    // Git: the commit HEAD points to; .specweave changes do not make it dirty.
    const head = git(root, 'rev-parse', 'HEAD');
    expect(record.git).toEqual({ commit: head, branch: 'main', dirty: false });
    expect(record.registered_git).toEqual({ commit: head, branch: 'main', dirty: false });
    // Selection: the CV mean of the primary metric over the logged folds, with its sample std and count.
    const folds = [0, 1, 2, 3, 4].map((s) => 0.88 + (s - 2) * 0.005);
    expect(record.selection.metric).toBe('roc_auc');
    expect(record.selection.source).toBe('cv');
    expect(record.selection.key).toBe('cv_roc_auc_mean');
    expect(record.selection.value).toBeCloseTo(folds.reduce((a, b) => a + b) / 5, 12);
    expect(record.selection.std).toBeCloseTo(sampleStd(folds), 12);
    expect(record.selection.count).toBe(5);
    expect(record.test_metrics).toEqual({ test_roc_auc: 0.87, test_recall: 0.69 });
    expect(record.params).toEqual({ model: 'random-forest', seed: 42, holdout_sha256: heldOut });
    expect(record.environment.node).toBe(process.version);
    expect(record.description).toBe('first forest');
    // feature_importance.csv is an output of the run (importance), not data it learned from.
    expect(record.data_files).toEqual([
      { path: path.relative(root, train), sha256: sha256(train), bytes: fs.statSync(train).size },
      { path: 'params.holdout_sha256', sha256: heldOut, bytes: null },
    ]);
    expect(events('churn')).toEqual([
      expect.objectContaining({ seq: 1, event: 'register', model: 'churn', version: '1.0.0', stage: null, forced: false }),
    ]);
  });

  it('bumps the patch by default, honours a given version, and refuses a duplicate or lower one', async () => {
    const reg1 = (version?: string) => ({ name: 'churn', increment: inc, experiment: 'random-forest', ...(version ? { version } : {}) });
    expect((await c.ok('register_model', reg1())).version).toBe('1.0.0');
    expect((await c.ok('register_model', reg1())).version).toBe('1.0.1');
    expect((await c.ok('register_model', reg1('minor'))).version).toBe('1.1.0');
    expect((await c.ok('register_model', reg1('v2.0.0'))).version).toBe('2.0.0');
    expect(await c.fails('register_model', reg1('2.0.0'))).toMatch(
      /Version 2.0.0 is already registered.*\n.*omit version to register 2.0.1/,
    );
    expect(await c.fails('register_model', reg1('1.5.0'))).toMatch(/lower than the latest, 2.0.0/);
    expect(await c.fails('register_model', reg1('2.1'))).toMatch(/Invalid version "2.1"/);
    expect(fs.readdirSync(reg('churn', 'versions')).sort()).toEqual(['1.0.0.json', '1.0.1.json', '1.1.0.json', '2.0.0.json']);
    expect(events('churn').map((e) => [e.seq, e.version])).toEqual([
      [1, '1.0.0'],
      [2, '1.0.1'],
      [3, '1.1.0'],
      [4, '2.0.0'],
    ]);
  });

  it('refuses a model file that changed since the experiment recorded it, and writes nothing', async () => {
    fs.appendFileSync(modelFile('random-forest'), 'tampered');
    expect(await c.fails('register_model', { name: 'churn', increment: inc, experiment: 'random-forest' })).toMatch(
      /model.pkl has changed since random-forest recorded it/,
    );
    expect(fs.existsSync(reg('churn', 'versions'))).toBe(false);
  });

  it('refuses bad names and unrecorded artifacts with a fix', async () => {
    for (const name of ['../x', 'Churn', 'a@b', 'a#b', '', 'x'.repeat(65), 'con']) {
      expect(await c.fails('register_model', { name, increment: inc, experiment: 'random-forest' })).toMatch(
        /Invalid model name|Too small/,
      );
    }
    fs.writeFileSync(path.join(incDir(), 'experiments/logreg/other.pkl'), 'x');
    expect(await c.fails('register_model', { name: 'churn', increment: inc, experiment: 'logreg', artifact: 'other.pkl' })).toMatch(
      /not a recorded artifact of logreg[^]*track_experiment/,
    );
    expect(
      await c.fails('register_model', { name: 'churn', increment: inc, experiment: 'logreg', artifact: '../../../../../../etc/passwd' }),
    ).toMatch(/Refused artifact path/);
    expect(await c.fails('register_model', { name: 'churn', increment: inc, experiment: 'baseline-majority' })).toMatch(
      /no recorded model artifact/,
    );
    expect(fs.existsSync(reg('churn'))).toBe(false);
  });
});

describe('promote_model and rollback_model', () => {
  async function threeVersions() {
    for (const exp of ['logreg', 'random-forest', 'random-forest'])
      await c.ok('register_model', { name: 'churn', increment: inc, experiment: exp });
  }

  it('moves stages as aliases derived from an append-only log; rollback walks back through earlier holders', async () => {
    await threeVersions();
    const p1 = await c.ok('promote_model', { name: 'churn', version: '1.0.0', stage: 'production', reason: 'first release' });
    expect(p1).toMatchObject({
      version: '1.0.0',
      previous: null,
      changed: true,
      forced: false,
      gates: { increment: inc, verdict: 'pass', failed: [] },
    });
    const logAfterFirst = fs.readFileSync(reg('churn', 'events.jsonl'), 'utf8');
    await c.ok('promote_model', { name: 'churn', version: '1.0.1', stage: 'production' });
    await c.ok('promote_model', { name: 'churn', version: '1.0.2', stage: 'production' });
    await c.ok('promote_model', { name: 'churn', version: '1.0.2', stage: 'staging' });
    // Promoting the holder again changes nothing.
    expect((await c.ok('promote_model', { name: 'churn', version: '1.0.2', stage: 'staging' })).changed).toBe(false);
    let m = await c.ok('get_model', { name: 'churn' });
    expect(m.stages.map((s: any) => [s.stage, s.version, s.previous])).toEqual([
      ['production', '1.0.2', ['1.0.0', '1.0.1']],
      ['staging', '1.0.2', []],
    ]);
    // Exactly one holder per stage, whatever the history.
    expect(m.versions.map((v: any) => [v.version, v.stages])).toEqual([
      ['1.0.0', []],
      ['1.0.1', []],
      ['1.0.2', ['production', 'staging']],
    ]);

    const rb = await c.ok('rollback_model', { name: 'churn', stage: 'production', reason: 'latency regression' });
    expect(rb).toMatchObject({ version: '1.0.1', previous: '1.0.2' });
    expect((await c.ok('rollback_model', { name: 'churn', stage: 'production' })).version).toBe('1.0.0');
    expect(await c.fails('rollback_model', { name: 'churn', stage: 'production' })).toMatch(/only version that has held production/);
    expect(await c.fails('rollback_model', { name: 'churn', stage: 'production', to_version: '1.0.2' })).toMatch(
      /not an earlier holder[^]*Use promote_model/,
    );
    expect(await c.fails('rollback_model', { name: 'churn', stage: 'shadow' })).toMatch(/No version of churn holds shadow/);

    m = await c.ok('get_model', { name: 'churn' });
    expect(m.stages.find((s: any) => s.stage === 'production').version).toBe('1.0.0');
    expect(m.events.map((e: any) => `${e.seq} ${e.event} ${e.version} ${e.stage ?? '-'} ${e.previous ?? '-'}`)).toEqual([
      '1 register 1.0.0 - -',
      '2 register 1.0.1 - -',
      '3 register 1.0.2 - -',
      '4 promote 1.0.0 production -',
      '5 promote 1.0.1 production 1.0.0',
      '6 promote 1.0.2 production 1.0.1',
      '7 promote 1.0.2 staging -',
      '8 rollback 1.0.1 production 1.0.2',
      '9 rollback 1.0.0 production 1.0.1',
    ]);
    expect(m.events[7].reason).toBe('latency regression');
    // History is never rewritten: the log after the first promotion is a prefix of the log now.
    expect(fs.readFileSync(reg('churn', 'events.jsonl'), 'utf8').startsWith(logAfterFirst)).toBe(true);
    const list = await c.ok('list_models', {});
    expect(list.models).toEqual([
      expect.objectContaining({ name: 'churn', latest: '1.0.2', versions: 3, stages: { production: '1.0.0', staging: '1.0.2' } }),
    ]);
  });

  it('production needs passing gates, or force with a reason that is recorded', async () => {
    await threeVersions();
    await c.ok('update_task', { increment: inc, task: 'T-003', status: 'pending' });
    const refused = await c.fails('promote_model', { name: 'churn', version: '1.0.1', stage: 'production' });
    expect(refused).toMatch(/was not promoted to production: gate [a-z_-]+ fails/);
    expect(refused).toMatch(/force: true with a reason/);
    expect(fs.readFileSync(reg('churn', 'events.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    // Other stages are not gated.
    await c.ok('promote_model', { name: 'churn', version: '1.0.1', stage: 'staging' });
    expect(await c.fails('promote_model', { name: 'churn', version: '1.0.1', stage: 'production', force: true })).toMatch(
      /force needs a reason/,
    );
    const forced = await c.ok('promote_model', {
      name: 'churn',
      version: '1.0.1',
      stage: 'production',
      force: true,
      reason: 'hotfix, tasks tracked in JIRA-1',
    });
    expect(forced.forced).toBe(true);
    expect(forced.gates.verdict).toBe('fail');
    expect(forced.gates.failed.length).toBeGreaterThan(0);
    const last = events('churn').pop();
    expect(last).toMatchObject({ event: 'promote', stage: 'production', forced: true, reason: 'hotfix, tasks tracked in JIRA-1' });
    expect(last.gates.failed).toEqual(forced.gates.failed);
  });

  it('refuses to promote or roll back to a model file that changed after registration', async () => {
    await threeVersions();
    await c.ok('promote_model', { name: 'churn', version: '1.0.0', stage: 'production' });
    await c.ok('promote_model', { name: 'churn', version: '1.0.2', stage: 'production' });
    fs.appendFileSync(modelFile('logreg'), 'changed');
    expect(await c.fails('rollback_model', { name: 'churn', stage: 'production' })).toMatch(
      /not rolled back to 1.0.0: .*model.pkl has changed since it was registered/,
    );
    expect(await c.fails('promote_model', { name: 'churn', version: '1.0.0', stage: 'staging' })).toMatch(
      /changed since it was registered/,
    );
    const m = await c.ok('get_model', { name: 'churn' });
    expect(m.warnings).toEqual([]);
    fs.appendFileSync(modelFile('random-forest'), 'changed');
    expect((await c.ok('get_model', { name: 'churn' })).warnings[0]).toMatch(/production holder 1.0.2: .* has changed/);
  });

  it('get_model shows the newest versions and events up to limit, and every stage holder however old', async () => {
    await threeVersions();
    await c.ok('promote_model', { name: 'churn', version: '1.0.0', stage: 'production' });
    const m = await c.ok('get_model', { name: 'churn', limit: 1 });
    expect(m.versions.map((v: any) => v.version)).toEqual(['1.0.0', '1.0.2']);
    expect(m.events.map((e: any) => e.seq)).toEqual([4]);
    expect([m.versions_total, m.events_total]).toEqual([3, 4]);
    expect(m.warnings[0]).toMatch(/Showing 2 of 3 versions and the last 1 of 4 events[^]*events.jsonl/);
    expect((await c.ok('get_model', { name: 'churn' })).warnings).toEqual([]);
  });

  it("creates GTO's tags when asked: name@vX.Y.Z and name#stage#N", async () => {
    const r = await c.ok('register_model', { name: 'churn', increment: inc, experiment: 'random-forest', git_tag: true });
    const head = git(root, 'rev-parse', 'HEAD');
    expect(r.tags).toEqual([{ tag: 'churn@v1.0.0', created: true, commit: head, error: null }]);
    const p = await c.ok('promote_model', { name: 'churn', version: '1.0.0', stage: 'production', git_tag: true });
    expect(p.tags[0]).toMatchObject({ tag: 'churn#production#2', created: true });
    expect(git(root, 'tag', '-l').split('\n').sort()).toEqual(['churn#production#2', 'churn@v1.0.0']);
    expect(git(root, 'rev-list', '-n', '1', 'churn#production#2')).toBe(head);
    expect(git(root, 'tag', '-l', '--format=%(contents:subject)', 'churn#production#2')).toBe(
      'Assigning stage production to artifact churn version v1.0.0',
    );
    // A second tag of the same name is reported, never fatal: the event log is the truth.
    fs.rmSync(reg('churn'), { recursive: true });
    const again = await c.ok('register_model', { name: 'churn', increment: inc, experiment: 'random-forest', git_tag: true });
    expect(again.tags[0]).toMatchObject({ tag: 'churn@v1.0.0', created: false });
    expect(again.tags[0].error).toMatch(/already exists/);
  });
});

describe('hostile registry files', () => {
  beforeEach(async () => {
    await c.ok('register_model', { name: 'churn', increment: inc, experiment: 'random-forest' });
    await c.ok('register_model', { name: 'churn', increment: inc, experiment: 'logreg' });
  });

  it('skips a line torn by a crash, but refuses an edited event with the line named', async () => {
    fs.appendFileSync(reg('churn', 'events.jsonl'), '{"seq":3,"time":"2026');
    const m = await c.ok('get_model', { name: 'churn' });
    expect(m.skipped_lines).toBe(1);
    expect(m.warnings[0]).toMatch(/1 torn line/);
    // The next append starts on a new line; the torn line stays isolated.
    await c.ok('promote_model', { name: 'churn', version: '1.0.1', stage: 'staging' });
    expect((await c.ok('get_model', { name: 'churn' })).stages[0]).toMatchObject({ stage: 'staging', version: '1.0.1', since_seq: 3 });
    fs.appendFileSync(reg('churn', 'events.jsonl'), `${JSON.stringify({ ...events('churn')[2], seq: 4, version: '9.9.9' })}\n`);
    expect(await c.fails('get_model', { name: 'churn' })).toMatch(/event 4 \(promote\) names version 9.9.9, which has no record/);
    fs.appendFileSync(reg('churn', 'events.jsonl'), '{"seq":5,"event":"promote"}\n');
    expect(await c.fails('get_model', { name: 'churn' })).toMatch(/events.jsonl line 6 is not a valid registry event: time/);
    const listed = await c.ok('list_models', {});
    expect(listed.models).toEqual([]);
    expect(listed.broken[0].name).toBe('churn');
  });

  it('survives a writer that died mid-register: a temp file is ignored and cleared, a record without its event still counts', async () => {
    const versions = reg('churn', 'versions');
    const temp = path.join(versions, '.1.0.2.json.999999.abcd1234.tmp');
    fs.writeFileSync(temp, '{"format": 1, "mod');
    fs.utimesSync(temp, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    // The record of 1.0.2 was written, the process died before appending its register event.
    const record = JSON.parse(fs.readFileSync(path.join(versions, '1.0.1.json'), 'utf8'));
    fs.writeFileSync(path.join(versions, '1.0.2.json'), JSON.stringify({ ...record, version: '1.0.2' }));
    const m = await c.ok('get_model', { name: 'churn' });
    expect([m.latest, m.events_total]).toEqual(['1.0.2', 2]);
    expect((await c.ok('register_model', { name: 'churn', increment: inc, experiment: 'logreg' })).version).toBe('1.0.3');
    expect(fs.existsSync(temp)).toBe(false);
    expect(events('churn').map((e) => e.version)).toEqual(['1.0.0', '1.0.1', '1.0.3']);
  });

  it('refuses events out of order and a huge log, with the fix', async () => {
    const lines = fs.readFileSync(reg('churn', 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
    fs.writeFileSync(reg('churn', 'events.jsonl'), `${lines[1]}\n${lines[0]}\n`);
    expect(await c.fails('promote_model', { name: 'churn', version: '1.0.0', stage: 'staging' })).toMatch(
      /seq 1 after seq 2[^]*restore the file from git/,
    );
    const fd = fs.openSync(reg('churn', 'events.jsonl'), 'w');
    fs.ftruncateSync(fd, 33 * 1024 * 1024);
    fs.closeSync(fd);
    expect(await c.fails('get_model', { name: 'churn' })).toMatch(/events.jsonl is over 32 MiB/);
  });

  it('never follows a symbolic link in the registry', async () => {
    const outside = fs.mkdtempSync(path.join(path.dirname(root), 'outside-'));
    fs.writeFileSync(path.join(outside, 'events.jsonl'), '');
    fs.renameSync(reg('churn', 'events.jsonl'), path.join(outside, 'saved.jsonl'));
    fs.symlinkSync(path.join(outside, 'events.jsonl'), reg('churn', 'events.jsonl'));
    expect(await c.fails('get_model', { name: 'churn' })).toMatch(/events.jsonl is a symbolic link that leads outside/);
    expect(await c.fails('promote_model', { name: 'churn', version: '1.0.0', stage: 'staging' })).toMatch(/symbolic link/);
    expect(fs.readFileSync(path.join(outside, 'events.jsonl'), 'utf8')).toBe('');
    fs.rmSync(reg('churn', 'events.jsonl'));
    fs.renameSync(path.join(outside, 'saved.jsonl'), reg('churn', 'events.jsonl'));
    // A version record replaced by a link, and a whole model folder that is a link out of the project.
    fs.renameSync(reg('churn', 'versions', '1.0.1.json'), path.join(outside, '1.0.1.json'));
    fs.symlinkSync(path.join(outside, '1.0.1.json'), reg('churn', 'versions', '1.0.1.json'));
    expect(await c.fails('get_model', { name: 'churn' })).toMatch(/versions\/1.0.1.json is a symbolic link, not a version record/);
    fs.symlinkSync(outside, reg('other'));
    expect(await c.fails('get_model', { name: 'other' })).toMatch(/registry\/other is a symbolic link that leads outside/);
    expect((await c.ok('list_models', {})).ignored).toEqual(['other']);
  });
});

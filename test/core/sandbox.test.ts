/**
 * The sandboxed file layer (store/disk.ts) on its own, then a few checks end to end through a real MCP client.
 * The exhaustive hostile-repository suite is test/security/; this file proves each rule of the layer once.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MlError } from '../../mcp-server/src/core/errors.js';
import { gitText } from '../../mcp-server/src/core/importers/git-read.js';
import { scanDvc } from '../../mcp-server/src/core/importers/index.js';
import { Project, resolveProjectRoot } from '../../mcp-server/src/core/project.js';
import {
  appendLines,
  exists,
  fileDigest,
  isDirectory,
  isFile,
  listDirectories,
  makeDirs,
  MAX_TEXT_BYTES,
  readChunks,
  readText,
  readTexts,
  withLock,
  writeAtomic,
  writeNewFile,
} from '../../mcp-server/src/core/store/disk.js';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { git, gitProject, scratchDir } from '../helpers/project.js';

const SECRET = 'TOKEN-7f3a9c-do-not-leak';

/** A project with `.specweave/increments/0001-a/` and, outside it, a folder holding secret.txt. */
function setup() {
  const root = scratchDir();
  const outside = scratchDir('swml-outside-');
  const secret = path.join(outside, 'secret.txt');
  fs.writeFileSync(secret, `${SECRET}\n`);
  const project = new Project(root);
  const inc = path.join(project.specweaveDir, 'increments', '0001-a');
  fs.mkdirSync(inc, { recursive: true });
  return { root, outside, secret, project, inc };
}

/** The refusal an operation gives, asserted to be a sandbox error that names `rel` and leaks nothing. */
async function refusal(op: Promise<unknown>, rel: string, outside: string): Promise<MlError> {
  const e = await op.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MlError);
  const err = e as MlError;
  expect(err.code).toBe('OUTSIDE_PROJECT');
  expect(err.message).toContain(rel);
  expect(err.describe()).toMatch(/remove the link|Replace/i);
  expect(err.describe()).not.toContain(SECRET);
  expect(err.describe()).not.toContain(outside);
  return err;
}

describe('a symbolic link as the final component', () => {
  const { root, outside, secret, inc } = setup();
  const link = path.join(inc, 'params.json');
  fs.symlinkSync(secret, link);
  const rel = '.specweave/increments/0001-a/params.json';

  it('is refused for reading, whole or in a batch, and as a stream', async () => {
    await refusal(readText(link), rel, outside);
    await refusal(readTexts([path.join(inc, 'missing.json'), link]), rel, outside);
    await refusal(
      (async () => {
        for await (const _ of readChunks(link)) void _;
      })(),
      rel,
      outside,
    );
    await refusal(fileDigest(link), rel, outside);
  });

  it('is refused for writing, appending and locking, and the outside file is unchanged', async () => {
    await refusal(writeAtomic(link, '{"x":1}'), rel, outside);
    await refusal(appendLines(link, ['{"x":1}']), rel, outside);
    await refusal(writeNewFile(link, 'x'), rel, outside).catch(() => undefined); // O_EXCL: EEXIST, not a write
    const lock = path.join(inc, '.lock');
    fs.symlinkSync(secret, lock);
    await refusal(
      withLock(lock, async () => 'ran'),
      '.specweave/increments/0001-a/.lock',
      outside,
    );
    expect(fs.readFileSync(secret, 'utf8')).toBe(`${SECRET}\n`);
    expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    fs.rmSync(lock);
  });

  it('is neither a file nor a folder to the stat helpers, though it exists', async () => {
    fs.symlinkSync(outside, path.join(inc, 'dirlink'));
    expect(await isFile(link)).toBe(false);
    expect(await isDirectory(path.join(inc, 'dirlink'))).toBe(false);
    expect(await exists(link)).toBe(true);
    expect(await isFile(path.join(inc, 'nothing'))).toBe(false);
  });

  it('is refused even when it stays inside (the store holds regular files), naming the fix', async () => {
    fs.writeFileSync(path.join(inc, 'real.json'), '{}');
    fs.symlinkSync('real.json', path.join(inc, 'alias.json'));
    const err = await readText(path.join(inc, 'alias.json')).catch((e: MlError) => e);
    expect((err as MlError).describe()).toMatch(/alias\.json is a symbolic link[^]*Replace the link with a copy/);
  });

  it('dangling, is refused and its target never created', async () => {
    const target = path.join(outside, 'created-by-server.jsonl');
    fs.symlinkSync(target, path.join(inc, 'history.jsonl'));
    await refusal(appendLines(path.join(inc, 'history.jsonl'), ['{}']), '.specweave/increments/0001-a/history.jsonl', outside);
    expect(fs.existsSync(target)).toBe(false);
    expect(root).toBeTruthy();
  });
});

describe('a symbolic link on the way to a file', () => {
  const { outside, secret, inc, project } = setup();
  fs.symlinkSync(outside, path.join(inc, 'experiments'));
  const rel = '.specweave/increments/0001-a/experiments';

  it('leaving the zone, is refused for every operation and nothing appears outside', async () => {
    const file = path.join(inc, 'experiments', 'secret.txt');
    await refusal(readText(file), rel, outside);
    await refusal(writeAtomic(path.join(inc, 'experiments', 'run', 'params.json'), '{}'), rel, outside);
    await refusal(makeDirs(path.join(inc, 'experiments', 'run', 'deep')), rel, outside);
    await refusal(listDirectories(path.join(inc, 'experiments')), rel, outside);
    await refusal(exists(file), rel, outside);
    expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
    expect(fs.readFileSync(secret, 'utf8')).toBe(`${SECRET}\n`);
  });

  it('staying inside `.specweave`, is followed', async () => {
    const other = path.join(project.specweaveDir, 'increments', '0002-b');
    fs.mkdirSync(other, { recursive: true });
    fs.symlinkSync(other, path.join(inc, 'shared'));
    await writeAtomic(path.join(inc, 'shared', 'sub', 'a.json'), '{"a":1}');
    expect(fs.readFileSync(path.join(other, 'sub', 'a.json'), 'utf8')).toBe('{"a":1}');
    expect(await readText(path.join(inc, 'shared', 'sub', 'a.json'))).toBe('{"a":1}');
    expect(await listDirectories(path.join(inc, 'shared'))).toEqual(['sub']);
  });

  it('into the rest of the project (outside `.specweave`), is refused for writes and reads', async () => {
    fs.mkdirSync(path.join(project.root, 'src'));
    fs.writeFileSync(path.join(project.root, 'src', 'train.py'), 'pass\n');
    fs.symlinkSync(path.join(project.root, 'src'), path.join(inc, 'code'));
    await refusal(writeAtomic(path.join(inc, 'code', 'train.py'), 'evil'), '.specweave/increments/0001-a/code', outside);
    await refusal(readText(path.join(inc, 'code', 'train.py')), '.specweave/increments/0001-a/code', outside);
    expect(fs.readFileSync(path.join(project.root, 'src', 'train.py'), 'utf8')).toBe('pass\n');
  });

  it('is created by nobody: a folder made by makeDirs is a real folder', async () => {
    await makeDirs(path.join(inc, 'models', 'v1'));
    expect(fs.lstatSync(path.join(inc, 'models', 'v1')).isDirectory()).toBe(true);
  });
});

describe('paths outside every zone', () => {
  const { outside, secret } = setup();
  it('are refused for reading and writing', async () => {
    await expect(readText(secret)).rejects.toMatchObject({ code: 'OUTSIDE_PROJECT' });
    await expect(writeAtomic(path.join(outside, 'new.json'), '{}')).rejects.toMatchObject({ code: 'OUTSIDE_PROJECT' });
    expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
  });
  it('include the project outside `.specweave` for writing', async () => {
    const { root } = setup();
    await expect(writeAtomic(path.join(root, 'README.md'), 'x')).rejects.toMatchObject({ code: 'OUTSIDE_PROJECT' });
    expect(fs.existsSync(path.join(root, 'README.md'))).toBe(false);
  });
});

describe('`.specweave` itself a symbolic link', () => {
  it('inside the project is followed: the store lives at its target', async () => {
    const root = scratchDir();
    fs.mkdirSync(path.join(root, 'data', 'sw'), { recursive: true });
    fs.symlinkSync(path.join(root, 'data', 'sw'), path.join(root, '.specweave'));
    const project = new Project(root);
    await writeAtomic(path.join(project.incrementsDir, '0001-a', 'spec.md'), '# A\n');
    expect(fs.readFileSync(path.join(root, 'data', 'sw', 'increments', '0001-a', 'spec.md'), 'utf8')).toBe('# A\n');
    expect(await readText(path.join(project.incrementsDir, '0001-a', 'spec.md'))).toBe('# A\n');
    // Paths already resolved to their real location (as Project.resolveWithin returns them) work too.
    expect(await readText(path.join(root, 'data', 'sw', 'increments', '0001-a', 'spec.md'))).toBe('# A\n');
  });

  it.each([
    ['outside the project', (_root: string, outside: string) => outside],
    ['to the project root', (root: string) => root],
    ['into .git', (root: string) => path.join(root, '.git')],
    ['to nothing', (_root: string, outside: string) => path.join(outside, 'missing')],
  ])('%s refuses every call and writes nothing', async (_what, target) => {
    const root = scratchDir();
    const outside = scratchDir('swml-outside-');
    fs.mkdirSync(path.join(root, '.git'));
    fs.writeFileSync(path.join(outside, 'x.md'), SECRET);
    fs.symlinkSync(target(root, outside), path.join(root, '.specweave'));
    const project = new Project(root);
    const before = fs.readdirSync(outside);
    for (const op of [
      readText(path.join(project.specweaveDir, 'x.md')),
      writeAtomic(path.join(project.incrementsDir, '0001-a', 'spec.md'), 'x'),
      makeDirs(path.join(project.incrementsDir, '0001-a')),
      listDirectories(project.incrementsDir),
    ]) {
      const e = (await op.then(
        () => undefined,
        (err: unknown) => err,
      )) as MlError;
      expect(e).toBeInstanceOf(MlError);
      expect(e.message).toMatch(/^\.specweave is a symbolic link that does not lead to a folder inside the project/);
      expect(e.describe()).not.toContain(SECRET);
    }
    expect(fs.readdirSync(outside)).toEqual(before);
    expect(fs.existsSync(path.join(root, 'increments'))).toBe(false);
  });

  it('is found by the root finder (not skipped in favour of an ancestor project)', () => {
    const parent = scratchDir();
    fs.mkdirSync(path.join(parent, '.specweave'));
    const child = path.join(parent, 'cloned');
    fs.mkdirSync(child);
    fs.symlinkSync(scratchDir('swml-outside-'), path.join(child, '.specweave'));
    expect(resolveProjectRoot({ env: {}, cwd: child })).toBe(child);
    const dangling = path.join(parent, 'dangling');
    fs.mkdirSync(dangling);
    fs.symlinkSync(path.join(parent, 'nowhere'), path.join(dangling, '.specweave'));
    expect(resolveProjectRoot({ env: {}, cwd: dangling })).toBe(dangling);
  });
});

describe('size caps', () => {
  const { inc } = setup();
  it('refuse a summary file over 16 MiB, naming it, and accept a larger history', async () => {
    const big = path.join(inc, 'metrics.json');
    fs.writeFileSync(big, Buffer.alloc(MAX_TEXT_BYTES + 1, 0x20));
    const e = (await readText(big).catch((err: unknown) => err)) as MlError;
    expect(e).toBeInstanceOf(MlError);
    expect(e.message).toMatch(/^\.specweave\/increments\/0001-a\/metrics\.json is over 16 MiB/);
    await expect(readTexts([big])).rejects.toBeInstanceOf(MlError);
    const history = path.join(inc, 'history.jsonl');
    fs.writeFileSync(history, Buffer.alloc(MAX_TEXT_BYTES + 1, 0x0a));
    expect((await readText(history))!.length).toBe(MAX_TEXT_BYTES + 1);
    await expect(readText(history, { maxBytes: 1024 })).rejects.toThrow(/history\.jsonl is over 1024 bytes/);
  });

  it('stream without a cap unless asked, chunk by chunk, to the exact bytes', async () => {
    const file = path.join(inc, 'predictions.csv');
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    fs.writeFileSync(file, bytes);
    const chunks: Buffer[] = [];
    for await (const c of readChunks(file, { chunkBytes: 65_536 })) chunks.push(c);
    expect(chunks.length).toBe(5);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    await expect(
      (async () => {
        for await (const _ of readChunks(file, { maxBytes: 1000 })) void _;
      })(),
    ).rejects.toThrow(/predictions\.csv is over 1000 bytes/);
    await expect(
      (async () => {
        for await (const _ of readChunks(path.join(inc, 'nope.csv'))) void _;
      })(),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('0001-a/nope.csv') });
  });

  it('a named pipe in place of a file is refused at once, not waited on', async () => {
    const fifo = path.join(inc, 'params.json');
    execFileSync('mkfifo', [fifo]);
    await expect(readText(fifo)).rejects.toThrow(/params\.json is not a regular file/);
  });
});

describe('git on a hostile repository', () => {
  /** A repository outside the project whose config runs a program (fsmonitor) that leaves a marker. */
  function hostileRepo(marker: string): string {
    const repo = gitProject();
    const hook = path.join(repo, 'evil.sh');
    fs.writeFileSync(hook, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    git(repo, 'config', 'core.fsmonitor', hook);
    git(repo, 'config', 'filter.evil.process', hook);
    git(repo, 'config', 'filter.evil.clean', hook);
    return repo;
  }

  it('does not run on a `.git` file or link that leads outside the project', async () => {
    const marker = path.join(scratchDir('swml-marker-'), 'ran');
    const repo = hostileRepo(marker);
    for (const plant of ['file', 'link'] as const) {
      const project = scratchDir();
      fs.writeFileSync(path.join(project, 'dvc.yaml'), 'stages: {}\n');
      if (plant === 'file') fs.writeFileSync(path.join(project, '.git'), `gitdir: ${path.join(repo, '.git')}\n`);
      else fs.symlinkSync(path.join(repo, '.git'), path.join(project, '.git'));
      new Project(project);
      await expect(gitText(project, ['rev-parse', 'HEAD'])).rejects.toThrow(
        /\.git is a (file|symbolic link) leading to a git folder outside the project/,
      );
      const scan = await scanDvc(project, { projectRoot: project });
      expect(scan.runs.every((r) => r.git === null)).toBe(true);
    }
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('runs on the project own repository with its program-running config switched off', async () => {
    const marker = path.join(scratchDir('swml-marker-'), 'ran');
    const root = hostileRepo(marker);
    fs.writeFileSync(path.join(root, '.gitattributes'), '*.py filter=evil\n');
    fs.appendFileSync(path.join(root, 'train.py'), '# changed\n'); // status must look at it: filters would run
    const c = await inMemoryClient(root);
    try {
      await c.ok('create_increment', { title: 'Git' });
      const r = await c.ok('track_experiment', { increment: '1', name: 'run', metrics: { auc: 0.5 } });
      expect(r.experiment).toBe('run');
      const meta = fs.readFileSync(path.join(root, '.specweave', 'increments', '0001-git', 'experiments', 'run', 'metadata.yaml'), 'utf8');
      expect(meta).toContain(git(root, 'rev-parse', 'HEAD'));
      expect(meta).toMatch(/dirty: true/);
    } finally {
      await c.close();
    }
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('end to end through the MCP client', () => {
  let c: TestClient;
  let root: string;
  let outside: string;
  let secret: string;
  let expDir: string;

  beforeEach(async () => {
    root = gitProject();
    outside = scratchDir('swml-outside-');
    secret = path.join(outside, 'secret.txt');
    fs.writeFileSync(secret, `${SECRET}\n`);
    c = await inMemoryClient(root);
    await c.ok('create_increment', { title: 'Sandbox' });
    await c.ok('track_experiment', { increment: '1', name: 'run', params: { lr: 0.1 }, metrics: { auc: 0.8 } });
    expDir = path.join(root, '.specweave', 'increments', '0001-sandbox', 'experiments', 'run');
  });
  afterEach(async () => c.close());

  it('track_experiment refuses a history.jsonl linked to a file outside, which stays unchanged', async () => {
    fs.symlinkSync(secret, path.join(expDir, 'history.jsonl'));
    const r = await c.call('track_experiment', {
      increment: '1',
      name: 'run',
      history: [{ metric: 'loss', value: 0.5, step: 0 }],
      note: 'echo pwned',
    });
    expect(r.isError).toBe(true);
    const text = (r.content[0] as { text: string }).text;
    expect(text).toContain('.specweave/increments/0001-sandbox/experiments/run/history.jsonl');
    expect(text, text).toMatch(/remove/i);
    expect(text).not.toContain(SECRET);
    expect(fs.readFileSync(secret, 'utf8')).toBe(`${SECRET}\n`);
  });

  it('get_experiment with params.json linked to a secret: the token appears nowhere', async () => {
    fs.rmSync(path.join(expDir, 'params.json'));
    fs.symlinkSync(secret, path.join(expDir, 'params.json'));
    for (const [tool, args] of [
      ['get_experiment', { increment: '1', name: 'run' }],
      ['compare_experiments', { increment: '1' }],
      ['list_experiments', { increment: '1' }],
    ] as const) {
      const r = await c.call(tool, args);
      expect(JSON.stringify(r), tool).not.toContain(SECRET);
    }
    const r = await c.call('get_experiment', { increment: '1', name: 'run' });
    expect(r.isError).toBe(true);
    expect((r.content[0] as { text: string }).text).toContain('experiments/run/params.json is a symbolic link');
  });

  it('an experiment folder linked outside gets no params.json written into it', async () => {
    const target = scratchDir('swml-outside-');
    fs.symlinkSync(target, path.join(root, '.specweave', 'increments', '0001-sandbox', 'experiments', 'linked'));
    const r = await c.call('track_experiment', { increment: '1', name: 'linked', params: { lr: 1 } });
    expect(r.isError).toBe(true);
    expect(fs.readdirSync(target)).toEqual([]);
  });
});

/**
 * Every ```python block in skills/, agents/ and commands/ RUNS, in the pinned test environment, as a reader would run
 * it: scripts/run-doc-block.py executes it in a fresh git project holding increment 0042, with this repository's
 * python/ on PYTHONPATH, after checking the version floors of its first line (`# requires: lib>=x.y, ...`, which must
 * name every third-party library the block imports). A block whose second line is `# continues the block above` runs
 * after its predecessor in the same process (one
 * "program"); each block is still its own test. Tracebacks point at the Markdown file and line.
 *
 * The Python is SPECWEAVE_TEST_PYTHON, else the repository's .venv-test. Without it every test skips, saying why;
 * SPECWEAVE_REQUIRE_PYENV=1 (CI) makes that a failure. Blocks that need torch, torchvision, transformers, datasets
 * or accelerate run only when torch is importable (`bash scripts/python-env.sh --with-torch`); otherwise their
 * tests are skipped with "NOT RUN" and the reason in the test's name, and the list is printed, so CI says which
 * blocks it did not run. Programs run two at a time, each with one thread per math library, to fit on two cores.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/project.js';
import { ROOT, codeBlocks, componentFiles, prose, readDoc } from '../plugin/markdown.js';

const PYTHON = process.env.SPECWEAVE_TEST_PYTHON ?? path.join(ROOT, '.venv-test/bin/python');
const RUNNER = path.join(ROOT, 'scripts/run-doc-block.py');
const REQUIRED = process.env.SPECWEAVE_REQUIRE_PYENV === '1';
const HAS_PYTHON = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0;
const HAS_TORCH = HAS_PYTHON && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
/** Distributions that come only with `python-env.sh --with-torch` (python/requirements-test-torch.txt). */
const TORCH_SET = new Set(['torch', 'torchvision', 'transformers', 'datasets', 'accelerate']);
const CONCURRENCY = 2;
const PROGRAM_TIMEOUT_MS = 240_000;

interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** "skills/x/SKILL.md #2 (Heading)": the test's name. */
  label: string;
  requires: string[];
}
interface Result {
  index: number;
  status: 'ok' | 'floor' | 'failed' | 'not-reached';
  seconds: number;
  message: string;
}
interface Outcome {
  results: Result[];
  output: string;
  code: number | null;
  timedOut: boolean;
}

/** Distribution names of the `# requires:` line, [] when there is none (the runner then fails the block). */
function requiresOf(code: string): string[] {
  const m = /^#\s*requires:\s*(.+)$/.exec(code.split('\n')[0]!.trim());
  return m
    ? m[1]!.split(',').map((s) =>
        s
          .trim()
          .split(/[<>=!~ ]/)[0]!
          .toLowerCase(),
      )
    : [];
}

/** The names of a `# setup: a, b (what they make)` line among the comment lines that open the block. */
function setupsOf(code: string): string[] {
  const header = code.split('\n').filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('#')));
  const line = header.find((l) => /^#\s*setup:/.test(l));
  if (!line) return [];
  return line
    .replace(/^#\s*setup:/, '')
    .replace(/\(.*?\)/g, '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const continues = (code: string) => /^#\s*continues the block above\b/.test(code.split('\n')[1]?.trim() ?? '');

function documentedBlocks(): Block[] {
  return componentFiles().flatMap((abs) => {
    const doc = readDoc(abs);
    const lines = prose(doc.text).split('\n');
    return codeBlocks(doc.text)
      .filter((b) => b.lang === 'python' || b.lang === 'py')
      .map((b, k) => {
        const heading = lines
          .slice(0, b.line - 1)
          .reverse()
          .find((l) => /^#{1,6} /.test(l));
        const title = heading ? ` (${heading.replace(/^#+ /, '')})` : '';
        return { file: doc.rel, line: b.line, code: b.code, label: `${doc.rel} #${k + 1}${title}`, requires: requiresOf(b.code) };
      });
  });
}

/** Blocks grouped into programs: a block plus the blocks of the same file that continue it. */
function programsOf(blocks: Block[]): Block[][] {
  const programs: Block[][] = [];
  for (const b of blocks) {
    const last = programs.at(-1);
    if (continues(b.code) && last && last[0]!.file === b.file) last.push(b);
    else programs.push([b]);
  }
  return programs;
}

const needsTorch = (program: Block[]) => program.some((b) => b.requires.some((r) => TORCH_SET.has(r)));

const scratch: string[] = [];
afterAll(() => {
  for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
});

/** Runs one program with the runner, in its own process and project. */
function runProgram(program: Block[]): Promise<Outcome> {
  const dir = scratchDir('doc-blocks-');
  scratch.push(dir);
  const resultsFile = path.join(dir, 'results.jsonl');
  const args = [RUNNER, path.join(dir, 'project'), resultsFile];
  if (program.some((b) => b.requires.includes('locust'))) args.push('--locust');
  const env = {
    ...process.env,
    PYTHONPATH: path.join(ROOT, 'python'),
    MPLBACKEND: 'Agg',
    // Two programs share two cores: one thread per math library each, instead of two times two.
    OMP_NUM_THREADS: '1',
    OPENBLAS_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
    // No telemetry, no model-hub or W&B network traffic from a documentation block.
    HF_HUB_OFFLINE: '1',
    TRANSFORMERS_OFFLINE: '1',
    WANDB_MODE: 'offline',
    WANDB_SILENT: 'true',
    MLFLOW_ENABLE_TELEMETRY: 'false',
    DO_NOT_TRACK: '1',
  };
  delete (env as Record<string, string | undefined>).SPECWEAVE_ROOT;
  delete (env as Record<string, string | undefined>).SPECWEAVE_INCREMENT;
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PROGRAM_TIMEOUT_MS);
    child.on('error', (e) => keep(Buffer.from(`could not start ${PYTHON}: ${e.message}\n`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      const text = fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : '';
      const results = text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Result);
      resolve({ results, output, code, timedOut });
    });
    child.stdin.end(JSON.stringify({ blocks: program.map(({ file, line, code }) => ({ file, line, code })) }));
  });
}

/** A queue running at most CONCURRENCY programs at once; each program starts when a test first asks for it. */
function pool(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((r) => waiting.push(r));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}

function describeFailure(b: Block, outcome: Outcome, r: Result | undefined): string {
  const tail = outcome.output.split('\n').slice(-40).join('\n');
  if (outcome.timedOut) return `${b.label}: killed after ${PROGRAM_TIMEOUT_MS / 1000} s\n${tail}`;
  if (!r) return `${b.label}: the runner reported nothing (exit ${outcome.code})\n${tail}`;
  if (r.status === 'floor') return `${b.label} (line ${b.line}): version floor not met: ${r.message}`;
  return `${b.label} (line ${b.line}): ${r.status}: ${r.message}\n${tail}`;
}

const BLOCKS = documentedBlocks();
const PROGRAMS = programsOf(BLOCKS);
const NOT_RUN = HAS_TORCH ? [] : PROGRAMS.filter(needsTorch).flat();
const SKIP_ALL = !HAS_PYTHON && !REQUIRED;
const NO_PYTHON = `no scikit-learn in ${PYTHON} (set SPECWEAVE_TEST_PYTHON or run bash scripts/python-env.sh)`;
const NO_TORCH = 'NOT RUN: needs torch, not in the test Python (bash scripts/python-env.sh --with-torch)';

if (SKIP_ALL) console.warn(`Skipping the documentation's Python blocks: ${NO_PYTHON}.`);
else if (NOT_RUN.length)
  console.warn(`Documentation Python blocks NOT RUN (no torch in ${PYTHON}):\n${NOT_RUN.map((b) => `  - ${b.label}`).join('\n')}`);

describe('the documentation states what its blocks need', () => {
  it('finds the blocks, and every one starts with a # requires: line of version floors', () => {
    expect(BLOCKS.length).toBeGreaterThan(25);
    const bad = BLOCKS.filter((b) => !/^#\s*requires:\s*[A-Za-z0-9][\w.-]*\s*>=\s*\d/.test(b.code.split('\n')[0]!.trim()));
    expect(bad.map((b) => `${b.label} (line ${b.line})`)).toEqual([]);
  });

  it('every set-up a block names is a file in scripts/doc-block-setup/', () => {
    const named = BLOCKS.flatMap((b) => setupsOf(b.code).map((name) => ({ b, name })));
    const missing = named.filter(({ name }) => !fs.existsSync(path.join(ROOT, 'scripts/doc-block-setup', `${name}.py`)));
    expect(missing.map(({ b, name }) => `${b.label}: ${name}`)).toEqual([]);
  });

  it('a continuing block follows a block of the same file', () => {
    const orphans = BLOCKS.filter((b, i) => continues(b.code) && (i === 0 || BLOCKS[i - 1]!.file !== b.file));
    expect(orphans.map((b) => b.label)).toEqual([]);
  });
});

describe.skipIf(SKIP_ALL)(`the documentation's Python blocks run${SKIP_ALL ? ` [skipped: ${NO_PYTHON}]` : ''}`, () => {
  const limit = pool(CONCURRENCY);
  const outcomes = new Map<Block[], Promise<Outcome>>();
  const outcomeOf = (program: Block[]) => {
    if (!outcomes.has(program))
      outcomes.set(
        program,
        limit(() => runProgram(program)),
      );
    return outcomes.get(program)!;
  };

  it('the runner is there and the test Python can run it', () => {
    if (!HAS_PYTHON) throw new Error(`SPECWEAVE_REQUIRE_PYENV=1 but ${NO_PYTHON}`);
    // Start every runnable program now, CONCURRENCY at a time, so the tests below mostly wait on finished runs.
    for (const p of PROGRAMS) if (HAS_TORCH || !needsTorch(p)) void outcomeOf(p);
    expect(fs.existsSync(RUNNER)).toBe(true);
  });

  for (const program of PROGRAMS) {
    const skip = !HAS_TORCH && needsTorch(program);
    program.forEach((b, i) => {
      it.skipIf(skip)(
        skip ? `${b.label} [${NO_TORCH}]` : b.label,
        async () => {
          const outcome = await outcomeOf(program);
          const r = outcome.results.find((x) => x.index === i);
          if (r?.status !== 'ok') throw new Error(describeFailure(b, outcome, r));
          expect(r.status).toBe('ok');
        },
        PROGRAM_TIMEOUT_MS * 2,
      );
    });
  }
});

describe.skipIf(SKIP_ALL)('the runner fails what it must fail', () => {
  const probe = (code: string, file = 'probe.md') => runProgram([{ file, line: 10, code, label: 'probe', requires: requiresOf(code) }]);

  it('a floor above the installed version, a missing library, an import without a floor, no requires line', async () => {
    const high = await probe('# requires: scikit-learn>=99.0\nprint("never")\n');
    expect(high.results[0]).toMatchObject({ status: 'floor' });
    expect(high.results[0]!.message).toMatch(/scikit-learn>=99\.0 is required but scikit-learn \d+\.\d+/);
    expect(high.output).not.toContain('never');
    const missing = await probe('# requires: no-such-dist-xyz>=1.0\n');
    expect(missing.results[0]!.message).toContain('no-such-dist-xyz is not installed');
    const undeclared = await probe('# requires: scikit-learn>=1.0\nimport numpy as np\nimport sklearn\n');
    expect(undeclared.results[0]).toMatchObject({ status: 'floor' });
    expect(undeclared.results[0]!.message).toBe('the block imports numpy but its requires line states no floor for numpy');
    const none = await probe('import sklearn\n');
    expect(none.results[0]).toMatchObject({ status: 'floor' });
    expect(none.results[0]!.message).toContain('# requires:');
  });

  it('an exception fails the block with the Markdown line, and the blocks after it are not reached', async () => {
    const out = await runProgram([
      {
        file: 'x.md',
        line: 10,
        code: '# requires: numpy>=1.0\nimport numpy as np\nvalue = np.float64(1)\n',
        label: 'a',
        requires: ['numpy'],
      },
      {
        file: 'x.md',
        line: 20,
        code: '# requires: numpy>=1.0\n# continues the block above\nraise ValueError(f"bad {value}")\n',
        label: 'b',
        requires: ['numpy'],
      },
      {
        file: 'x.md',
        line: 30,
        code: '# requires: numpy>=1.0\n# continues the block above\nprint("after")\n',
        label: 'c',
        requires: ['numpy'],
      },
    ]);
    expect(out.results.map((r) => r.status)).toEqual(['ok', 'failed', 'not-reached']);
    // Line 20 is the fence; the raise is the block's third line, so line 23 of x.md.
    expect(out.results[1]!.message).toBe('ValueError: bad 1.0 at x.md:23 (raise ValueError(f"bad {value}"))');
    expect(out.code).not.toBe(0);
  });

  it('runs the block in a git project with increment 0042, where track_experiment records', async () => {
    const out = await probe(
      [
        '# requires: numpy>=1.0',
        'import os, subprocess',
        'from specweave_ml import track_experiment',
        'with track_experiment("probe", increment="0042") as exp:',
        '    exp.log_metric("accuracy", 0.5)',
        'print("HEAD", subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True).stdout.strip())',
        'print("EXP", os.path.relpath(exp.path, os.getcwd()))',
      ].join('\n'),
    );
    expect(out.results[0]).toMatchObject({ status: 'ok' });
    expect(out.output).toContain('HEAD true');
    expect(out.output).toMatch(/EXP \.specweave\/increments\/0042-[^/]+\/experiments\/probe/);
  });
});

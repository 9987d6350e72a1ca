/**
 * Every ```python block in the skills, commands and agent parses with Python's own `ast`, imports from this project
 * only what python/specweave_ml really exports, and uses the experiment object with methods and keyword arguments
 * it really has. The work is done by ./check_python_blocks.py against the real package (standard library only, so
 * any python3 can import it).
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, codeBlocks, componentFiles, readDoc } from './markdown.js';

const PYTHON = process.env.PYTHON ?? 'python3';

interface Problem {
  file: string;
  line: number;
  message: string;
}

const blocks = componentFiles().flatMap((abs) => {
  const doc = readDoc(abs);
  return codeBlocks(doc.text)
    .filter((b) => b.lang === 'python' || b.lang === 'py')
    .map((b) => ({ file: doc.rel, line: b.line, code: b.code }));
});

describe('Python code in skills, commands and the agent', () => {
  it('exists in quantity (the checker sees the blocks)', () => {
    expect(blocks.length).toBeGreaterThan(25);
  });

  it('parses, and uses only the project API that exists', () => {
    const out = execFileSync(PYTHON, [path.join(__dirname, 'check_python_blocks.py'), path.join(ROOT, 'python')], {
      input: JSON.stringify(blocks),
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const problems = (JSON.parse(out) as Problem[]).map((p) => `${p.file}:${p.line}: ${p.message}`);
    expect(problems).toEqual([]);
  });

  it('uses the project client through `specweave_ml`, and the checker catches what does not exist', () => {
    const bad = [
      { file: 'x.md', line: 1, code: 'from specweave import track_experiment\n' },
      { file: 'x.md', line: 1, code: 'from specweave_ml import ModelEvaluator\n' },
      {
        file: 'x.md',
        line: 1,
        code: 'from specweave_ml import track_experiment\nwith track_experiment("a", increment="1") as exp:\n    exp.log_artifact("m.pkl")\n',
      },
      {
        file: 'x.md',
        line: 1,
        code: 'from specweave_ml import track_experiment\nwith track_experiment("a", incr="1") as exp:\n    pass\n',
      },
      { file: 'x.md', line: 1, code: 'def broken(:\n' },
    ];
    const out = execFileSync(PYTHON, [path.join(__dirname, 'check_python_blocks.py'), path.join(ROOT, 'python')], {
      input: JSON.stringify(bad),
      encoding: 'utf8',
    });
    expect((JSON.parse(out) as Problem[]).length).toBe(5);
  });
});

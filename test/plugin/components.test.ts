/**
 * The plugin's skills, commands and agent: frontmatter, names, description limits, body size, reference files and
 * links. The rules are the Agent Skills spec's (portable frontmatter, name == folder, description <= 1024) plus
 * this project's (13 named skills, the trigger phrases of the plugin's README seed, commands with an
 * argument-hint that use $ARGUMENTS and never the off-by-one $1, an agent on sonnet with a tools list).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, commandFiles, componentFiles, links, readDoc, skillDirs } from './markdown.js';

const SKILLS = [
  'ml-pipeline-orchestrator',
  'experiment-tracker',
  'model-evaluator',
  'model-explainer',
  'ml-deployment-helper',
  'feature-engineer',
  'automl-optimizer',
  'cv-pipeline-builder',
  'nlp-pipeline-builder',
  'time-series-forecaster',
  'anomaly-detector',
  'data-visualizer',
  'model-registry',
];

/** The "Activates for" phrases of each skill in the plugin's README seed (seed 001). */
const TRIGGERS: Record<string, string[]> = {
  'ml-pipeline-orchestrator': ['ML pipeline', 'train model', 'build ML system'],
  'experiment-tracker': ['track experiments', 'MLflow', 'wandb', 'compare experiments'],
  'model-evaluator': ['evaluate model', 'model metrics', 'compare models'],
  'model-explainer': ['explain model', 'SHAP', 'feature importance'],
  'ml-deployment-helper': ['deploy model', 'production deployment', 'model API'],
  'feature-engineer': ['feature engineering', 'create features', 'data preprocessing', 'encode categorical'],
  'automl-optimizer': ['automl', 'hyperparameter tuning', 'optimize hyperparameters', 'neural architecture search'],
  'cv-pipeline-builder': ['computer vision', 'image classification', 'object detection', 'CNN', 'YOLO'],
  'nlp-pipeline-builder': ['nlp', 'text classification', 'sentiment analysis', 'BERT', 'transformers'],
  'time-series-forecaster': ['time series', 'forecasting', 'predict future', 'ARIMA', 'Prophet', 'sales forecast'],
  'anomaly-detector': ['anomaly detection', 'fraud detection', 'outlier detection', 'intrusion detection'],
  'data-visualizer': ['visualize data', 'EDA', 'create plots', 'confusion matrix', 'ROC curve'],
  'model-registry': ['model registry', 'model versioning', 'deploy to production', 'rollback model'],
};

const COMMANDS = [
  'evaluate',
  'explain',
  'deploy',
  'list-experiments',
  'compare-experiments',
  'show-experiment',
  'export-experiments',
  'build-pipeline',
];

/** Fields of the Agent Skills spec (agentskills.io); anything else breaks portability. */
const PORTABLE_SKILL_FIELDS = new Set(['name', 'description', 'license', 'allowed-tools', 'metadata', 'compatibility']);
const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

describe('skills', () => {
  it('are exactly the 13 of the design, each in skills/<name>/SKILL.md', () => {
    expect(skillDirs()).toEqual([...SKILLS].sort());
    for (const s of SKILLS) expect(fs.existsSync(path.join(ROOT, 'skills', s, 'SKILL.md')), s).toBe(true);
  });

  describe.each(SKILLS)('%s', (name) => {
    const dir = path.join(ROOT, 'skills', name);
    const doc = readDoc(path.join(dir, 'SKILL.md'));

    it('has portable frontmatter with name = folder and a description within limits', () => {
      expect(doc.frontmatterError).toBeUndefined();
      const fm = doc.frontmatter!;
      expect(fm, 'frontmatter').toBeTruthy();
      expect(fm.name).toBe(name);
      expect(String(fm.name)).toMatch(NAME);
      expect(String(fm.name).length).toBeLessThanOrEqual(64);
      for (const key of Object.keys(fm)) expect(PORTABLE_SKILL_FIELDS.has(key), `field ${key}`).toBe(true);
      const d = fm.description;
      expect(typeof d).toBe('string');
      expect((d as string).length, 'description length').toBeGreaterThanOrEqual(200);
      expect((d as string).length, 'description length').toBeLessThanOrEqual(700);
      expect(d as string).not.toMatch(/[<>]/); // no XML tags (claude.ai rule)
      expect((d as string).toLowerCase()).toMatch(/\buse (it )?(when|for|to)\b/);
    });

    it('names the trigger phrases of the README seed in its description', () => {
      const d = String(doc.frontmatter?.description ?? '').toLowerCase();
      for (const t of TRIGGERS[name]!) expect(d, `trigger "${t}"`).toContain(t.toLowerCase());
    });

    it('keeps the body under 500 lines', () => {
      expect(doc.body.split('\n').length).toBeLessThan(500);
    });

    it('links every reference file next to it, one level deep, with a line saying when to read it', () => {
      const files: string[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (p !== path.join(dir, 'SKILL.md')) files.push(path.relative(dir, p).split(path.sep).join('/'));
        }
      };
      walk(dir);
      const linked = new Map(links(doc.text).map(([t, line]) => [t.split('#')[0]!, line]));
      const lines = doc.text.split('\n');
      for (const f of files) {
        expect(f.split('/').length, `${f} is at most one folder below SKILL.md`).toBeLessThanOrEqual(2);
        expect(linked.has(f), `SKILL.md links ${f}`).toBe(true);
        const line = lines[linked.get(f)! - 1]!;
        expect(line.toLowerCase(), `the line linking ${f} says when to read it`).toMatch(/\bread\b|\bopen\b|\bwhen\b|\bfor\b/);
        if (f.endsWith('.md')) {
          // one level deep: reference files do not send the reader on to further reference files
          for (const [target] of links(fs.readFileSync(path.join(dir, f), 'utf8'))) {
            if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
            const resolved = path.resolve(path.dirname(path.join(dir, f)), target.split('#')[0]!);
            expect(resolved.startsWith(dir + path.sep) && resolved.endsWith('.md'), `${f} links ${target}, another reference`).toBe(false);
          }
        }
      }
    });
  });
});

describe('commands', () => {
  it('are the commands of the design, and none shares a name with a skill', () => {
    expect(commandFiles().map((f) => f.replace(/\.md$/, ''))).toEqual([...COMMANDS].sort());
    for (const c of COMMANDS) expect(SKILLS).not.toContain(c);
  });

  describe.each(COMMANDS)('/ml:%s', (name) => {
    const doc = readDoc(path.join(ROOT, 'commands', `${name}.md`));
    it('has a description and an argument-hint, uses $ARGUMENTS and never $1..$9', () => {
      expect(doc.frontmatterError).toBeUndefined();
      const fm = doc.frontmatter!;
      expect(typeof fm.description).toBe('string');
      expect((fm.description as string).length).toBeGreaterThan(20);
      expect((fm.description as string).length).toBeLessThanOrEqual(250);
      expect(typeof fm['argument-hint']).toBe('string');
      expect(fm.name, 'commands take their name from the file').toBeUndefined();
      expect(doc.body).toContain('$ARGUMENTS');
      // Since Claude Code 2.1.19, $0 is the first argument; $1 would silently be the second.
      expect(doc.body).not.toMatch(/(?<!\\)\$[1-9]/);
    });
  });
});

describe('the ml-engineer agent', () => {
  const doc = readDoc(path.join(ROOT, 'agents', 'ml-engineer.md'));
  it('is the only agent', () => {
    expect(fs.readdirSync(path.join(ROOT, 'agents'))).toEqual(['ml-engineer.md']);
  });
  it('has name, description, model sonnet and a tools list', () => {
    expect(doc.frontmatterError).toBeUndefined();
    const fm = doc.frontmatter!;
    expect(fm.name).toBe('ml-engineer');
    expect(typeof fm.description).toBe('string');
    expect((fm.description as string).length).toBeGreaterThan(80);
    expect((fm.description as string).length).toBeLessThanOrEqual(1024);
    expect(fm.model).toBe('sonnet');
    expect(typeof fm.tools === 'string' || Array.isArray(fm.tools)).toBe(true);
    for (const ignored of ['hooks', 'mcpServers', 'permissionMode'])
      expect(fm[ignored], `${ignored} is ignored for plugin agents`).toBeUndefined();
  });
});

describe('every skill, command and agent file', () => {
  const files = componentFiles();
  it('exists', () => expect(files.length).toBeGreaterThanOrEqual(13 + 8 + 1));

  it.each(files.map((f) => path.relative(ROOT, f)))('%s: every relative link resolves', (rel) => {
    const abs = path.join(ROOT, rel);
    const broken: string[] = [];
    for (const [target, line] of links(fs.readFileSync(abs, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // URLs, mailto:, anchors
      if (target.startsWith('/') || target.includes('${')) {
        broken.push(`line ${line}: ${target} (use a path relative to the file)`);
        continue;
      }
      const file = decodeURIComponent(target.split('#')[0]!);
      if (!fs.existsSync(path.resolve(path.dirname(abs), file))) broken.push(`line ${line}: ${target}`);
    }
    expect(broken).toEqual([]);
  });

  it.each(files.map((f) => path.relative(ROOT, f)))('%s: has no seed-only API', (rel) => {
    const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    // The seeds' illustrative helpers do not exist; nothing shipped may present them as callable.
    for (const fake of [
      /\bfrom specweave import\b/,
      /\bimport specweave\b(?!_)/,
      /\bModelEvaluator\(/,
      /\bModelExplainer\(/,
      /\bcreate_model_api\(/,
      /\bload_test_model\(/,
      /\bFeatureStore\(/,
      /\bExperimentPipeline\(/,
    ]) {
      expect(text, String(fake)).not.toMatch(fake);
    }
  });
});

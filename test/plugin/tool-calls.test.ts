/**
 * Every MCP tool that a skill, command or agent names exists in the server's tools/list, read live from the built
 * bundle over stdio (not from a hand-written list), and every tool call they show is valid against that tool's
 * input schema: known tool, known argument names, required arguments present, types and enums right.
 *
 * The call form the files use is documented at the top of ./markdown.ts:
 *
 *   ```mcp
 *   track_experiment {"increment": "0042", "name": "xgb-depth6", "metrics": {"roc_auc": 0.91}}
 *   ```
 *
 * or an inline span `validate_increment {"increment": "0042"}`. Tools named without arguments are checked too:
 * backticked identifiers that start with a tool-like verb (`track_experiment`, `sync_docs`), which must be a tool
 * or a function exported by the Python client, and full Claude Code names `mcp__plugin_ml_ml__<tool>`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { stdioClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import { ROOT, TOOL_LIKE, componentFiles, inlineCode, readDoc, toolCalls, toolPrefix } from './markdown.js';

const require = createRequire(import.meta.url);
// ajv is what the MCP SDK itself validates tool arguments with.
const Ajv = require('ajv') as new (opts: object) => {
  compile(schema: object): ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };
};

/** Names the Python client exports (its __all__), read from the package, so `track_cross_validation` is not a tool. */
function pythonExports(): Set<string> {
  const init = fs.readFileSync(path.join(ROOT, 'python/specweave_ml/__init__.py'), 'utf8');
  const all = /__all__\s*=\s*\[([\s\S]*?)\]/.exec(init);
  return new Set(all ? [...all[1]!.matchAll(/"([^"]+)"|'([^']+)'/g)].map((m) => m[1] ?? m[2]!) : []);
}

let tools: Map<string, Tool>;
let close: () => Promise<void>;

beforeAll(async () => {
  const c = await stdioClient(['--root', scratchDir()]);
  close = () => c.close();
  tools = new Map((await c.client.listTools()).tools.map((t) => [t.name, t]));
});
afterAll(async () => close?.());

const files = componentFiles().map((f) => path.relative(ROOT, f));

describe('tool calls in skills, commands and the agent', () => {
  it('are written somewhere (the checker sees the calls)', () => {
    const total = files.reduce((n, f) => n + toolCalls(readDoc(path.join(ROOT, f))).length, 0);
    expect(total).toBeGreaterThan(50);
  });

  it('reach the core tools', () => {
    const used = new Set(files.flatMap((f) => toolCalls(readDoc(path.join(ROOT, f))).map((c) => c.tool)));
    for (const t of ['create_increment', 'track_experiment', 'compare_experiments', 'validate_increment', 'sync_docs'])
      expect(used, t).toContain(t);
  });

  it.each(files)('%s: every call names a real tool with arguments its input schema accepts', (rel) => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const problems: string[] = [];
    for (const call of toolCalls(readDoc(path.join(ROOT, rel)))) {
      const where = `line ${call.line}: ${call.source.slice(0, 120)}`;
      if (call.parseError) {
        problems.push(`${where}: arguments are not valid JSON (${call.parseError})`);
        continue;
      }
      const tool = tools.get(call.tool);
      if (!tool) {
        problems.push(`${where}: no tool "${call.tool}" in tools/list (${[...tools.keys()].join(', ')})`);
        continue;
      }
      if (!call.args || typeof call.args !== 'object' || Array.isArray(call.args)) {
        problems.push(`${where}: arguments must be a JSON object`);
        continue;
      }
      const props = Object.keys(tool.inputSchema.properties ?? {});
      for (const key of Object.keys(call.args))
        if (!props.includes(key)) problems.push(`${where}: ${call.tool} has no argument "${key}" (it has ${props.join(', ')})`);
      const validate = ajv.compile({ ...tool.inputSchema, additionalProperties: false });
      if (!validate(call.args)) {
        for (const e of validate.errors ?? []) problems.push(`${where}: ${e.instancePath || '(arguments)'} ${e.message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(files)('%s: every tool it names exists', (rel) => {
    const doc = readDoc(path.join(ROOT, rel));
    const prefix = toolPrefix();
    const py = pythonExports();
    const problems: string[] = [];
    for (const m of doc.text.matchAll(/mcp__plugin_[A-Za-z0-9_-]+?__([a-z0-9_]+)/g)) {
      if (!m[0].startsWith(prefix)) problems.push(`${m[0]}: this plugin's tools are ${prefix}<tool>`);
      else if (!tools.has(m[1]!)) problems.push(`${m[0]}: no tool "${m[1]}"`);
    }
    for (const [code, line] of inlineCode(doc.text)) {
      if (TOOL_LIKE.test(code) && !tools.has(code) && !py.has(code))
        problems.push(`line ${line}: \`${code}\` is neither a tool nor a Python client function`);
    }
    expect(problems).toEqual([]);
  });
});

describe('the agent', () => {
  it('lists only tools that exist, under their full plugin names, including the core tools', () => {
    const fm = readDoc(path.join(ROOT, 'agents/ml-engineer.md')).frontmatter!;
    const list = (Array.isArray(fm.tools) ? fm.tools : String(fm.tools).split(',')).map((s) => String(s).trim()).filter(Boolean);
    const prefix = toolPrefix();
    const mcp = list.filter((t) => t.startsWith('mcp__'));
    for (const t of mcp) expect(tools.has(t.slice(prefix.length)) && t.startsWith(prefix), t).toBe(true);
    for (const core of ['create_increment', 'track_experiment', 'compare_experiments', 'validate_increment', 'sync_docs'])
      expect(mcp).toContain(prefix + core);
  });
});

/**
 * Reading the plugin's Markdown components (skills, commands, agents) for the checks in this folder: frontmatter,
 * fenced code blocks, inline code spans, relative links, and the MCP tool calls written in them.
 *
 * THE TOOL-CALL FORM. Every MCP tool call shown in a skill, command or agent is written in one machine-checkable
 * form, so a wrong tool or argument name fails the suite:
 *
 *   ```mcp
 *   # a comment line
 *   track_experiment {"increment": "0042", "name": "xgb-depth6", "metrics": {"roc_auc": 0.91}}
 *   compare_experiments {"increment": "0042"}
 *   ```
 *
 * - a fenced block whose info string is `mcp`; inside it each call starts on a line `<tool> {` with the bare tool
 *   name (as the server's tools/list spells it) followed by its arguments as one JSON object, which may continue
 *   over the following lines; lines starting with `#` are comments;
 * - or an inline code span holding exactly one call: `` `validate_increment {"increment": "0042"}` ``.
 *
 * Tools are also *named* without arguments: as `` `track_experiment` `` in backticks (any backticked identifier
 * that starts with a tool-like verb, see TOOL_LIKE, must be a real tool or a function of the Python client), or
 * by their full Claude Code name `mcp__plugin_<plugin>_<server>__<tool>` (agent `tools`, `allowed-tools`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';

export const ROOT = path.resolve(__dirname, '../..');

export interface Doc {
  /** Path relative to the repository root. */
  rel: string;
  abs: string;
  text: string;
  frontmatter: Record<string, unknown> | null;
  frontmatterError?: string;
  /** The text after the frontmatter. */
  body: string;
  /** 1-based line in `text` where the body starts. */
  bodyLine: number;
}

export interface CodeBlock {
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export interface ToolCall {
  tool: string;
  args: unknown;
  parseError?: string;
  line: number;
  source: string;
}

export function readDoc(abs: string): Doc {
  const text = fs.readFileSync(abs, 'utf8');
  const rel = path.relative(ROOT, abs).split(path.sep).join('/');
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  if (!m) return { rel, abs, text, frontmatter: null, body: text, bodyLine: 1 };
  let frontmatter: Record<string, unknown> | null = null;
  let frontmatterError: string | undefined;
  try {
    const loaded = yaml.load(m[1]!);
    if (loaded && typeof loaded === 'object' && !Array.isArray(loaded)) frontmatter = loaded as Record<string, unknown>;
    else frontmatterError = 'frontmatter is not a mapping';
  } catch (e) {
    frontmatterError = String(e);
  }
  const bodyLine = m[0].split('\n').length;
  return { rel, abs, text, frontmatter, frontmatterError, body: text.slice(m[0].length), bodyLine };
}

/** Every Markdown file of the plugin's skills, commands and agents. */
export function componentFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  for (const d of ['skills', 'commands', 'agents']) walk(path.join(ROOT, d));
  return out.sort();
}

export function skillDirs(): string[] {
  const dir = path.join(ROOT, 'skills');
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort()
    : [];
}

export function commandFiles(): string[] {
  const dir = path.join(ROOT, 'commands');
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.md'))
        .sort()
    : [];
}

/** Fenced code blocks (``` or ~~~, any indentation; the indentation of the fence is removed from the code). */
export function codeBlocks(text: string): CodeBlock[] {
  const lines = text.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence] = open;
    const lang = open[3]!.toLowerCase();
    const code: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j += 1) {
      const l = lines[j]!;
      const close = new RegExp(`^\\s*${fence![0] === '`' ? '`' : '~'}{${fence!.length},}\\s*$`).exec(l);
      if (close) break;
      code.push(l.startsWith(indent!) ? l.slice(indent!.length) : l.trimStart());
    }
    blocks.push({ lang, code: code.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}

/** The text outside fenced code blocks, with line structure kept (fenced lines blanked). */
export function prose(text: string): string {
  const lines = text.split(/\r?\n/);
  const out = [...lines];
  for (const b of codeBlocks(text)) {
    const n = b.code.split('\n').length + 2;
    for (let k = b.line - 1; k < b.line - 1 + n && k < out.length; k += 1) out[k] = '';
  }
  return out.join('\n');
}

/** Inline code spans in prose: [content, line]. */
export function inlineCode(text: string): [string, number][] {
  const out: [string, number][] = [];
  prose(text)
    .split('\n')
    .forEach((l, idx) => {
      for (const m of l.matchAll(/(`+)(?!`)(.+?)(?<!`)\1(?!`)/g)) out.push([m[2]!.trim(), idx + 1]);
    });
  return out;
}

/** Markdown links and images in prose: [target, line]. */
export function links(text: string): [string, number][] {
  const out: [string, number][] = [];
  prose(text)
    .split('\n')
    .forEach((l, idx) => {
      const noCode = l.replace(/(`+)(?!`).+?\1/g, '');
      for (const m of noCode.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push([m[1]!, idx + 1]);
    });
  return out;
}

const CALL_START = /^([a-z][a-z0-9_]*)\s+(\{.*)$/;

/** The tool calls written in a document, in both forms described at the top of this file. */
export function toolCalls(doc: Doc): ToolCall[] {
  const calls: ToolCall[] = [];
  const push = (tool: string, json: string, line: number) => {
    try {
      calls.push({ tool, args: JSON.parse(json), line, source: `${tool} ${json}` });
    } catch (e) {
      calls.push({ tool, args: undefined, parseError: String(e), line, source: `${tool} ${json}` });
    }
  };
  for (const b of codeBlocks(doc.text).filter((x) => x.lang === 'mcp')) {
    let current: { tool: string; json: string[]; line: number } | null = null;
    const flush = () => {
      if (current) push(current.tool, current.json.join('\n'), current.line);
      current = null;
    };
    b.code.split('\n').forEach((l, k) => {
      const t = l.trim();
      if (t === '' || t.startsWith('#')) return;
      const m = CALL_START.exec(t);
      if (m) {
        flush();
        current = { tool: m[1]!, json: [m[2]!], line: b.line + 1 + k };
      } else if (current) {
        current.json.push(l);
      } else {
        calls.push({ tool: '?', args: undefined, parseError: `line is not a call "<tool> {json}": ${t}`, line: b.line + 1 + k, source: t });
      }
    });
    flush();
  }
  for (const [code, line] of inlineCode(doc.text)) {
    const m = /^([a-z][a-z0-9_]*) (\{.*\})$/.exec(code);
    if (m) push(m[1]!, m[2]!, line);
  }
  return calls;
}

/** Backticked identifiers that read like a tool name (a verb, an underscore, more). */
export const TOOL_LIKE =
  /^(create|list|track|get|compare|validate|sync|update|import|evaluate|export|delete|show|register|promote|explain|deploy)_[a-z0-9_]+$/;

/** The plugin's tool-name prefix, `mcp__plugin_<plugin>_<server>__`, from plugin.json and .mcp.json. */
export function toolPrefix(): string {
  const plugin = JSON.parse(fs.readFileSync(path.join(ROOT, '.claude-plugin/plugin.json'), 'utf8')).name as string;
  const servers = Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, '.mcp.json'), 'utf8')).mcpServers);
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
  return `mcp__plugin_${clean(plugin)}_${clean(servers[0]!)}__`;
}

/**
 * The transport's limits, against the built bundle over raw stdio (run `npm run build` first): a request line over
 * the read limit is answered with a JSON-RPC error and discarded without being buffered, and the server goes on
 * answering; a result over the result cap becomes an isError. See docs/limits.md.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MlError } from '../../mcp-server/src/core/errors.js';
import { createMcpServer } from '../../mcp-server/src/mcp/server.js';
import { defineTool, type ToolDefinition } from '../../mcp-server/src/tools/define.js';
import { MAX_ERROR_PART_CHARS, MAX_RESULT_BYTES, serializedBytes } from '../../mcp-server/src/mcp/result-size.js';
import { MAX_REQUEST_BYTES, recoverLeadingId, recoverTrailingId } from '../../mcp-server/src/mcp/stdio-transport.js';
import { inMemoryClient, stdioClient } from '../helpers/client.js';
import { BUNDLE, scratchDir } from '../helpers/project.js';

const MiB = 1024 * 1024;

/** The bundle spoken to line by line, as a client that might misbehave would. */
class RawServer {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every stdout line, raw: the tests check sizes as well as contents. */
  readonly lines: string[] = [];
  private partial = '';
  private waiters: (() => void)[] = [];

  constructor(root: string) {
    this.child = spawn(process.execPath, [BUNDLE, '--root', root], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      const parts = (this.partial + d).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts.filter(Boolean));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr.resume();
  }

  messages(): any[] {
    return this.lines.map((l) => JSON.parse(l));
  }

  /** Writes, waiting for the pipe to drain, so a 50 MB line streams instead of piling up in this process. */
  async write(data: string | Buffer): Promise<void> {
    if (!this.child.stdin.write(data)) await new Promise((r) => this.child.stdin.once('drain', r));
  }

  send(message: unknown): Promise<void> {
    return this.write(`${JSON.stringify(message)}\n`);
  }

  /** The first message matching `pick`, waiting up to `ms` for it. */
  async waitFor(pick: (m: any) => boolean, ms = 50_000): Promise<any> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages().find(pick);
      if (found) return found;
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`no matching answer; got ${this.lines.map((l) => l.slice(0, 200)).join('\n')}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  answer(id: number | string): Promise<any> {
    return this.waitFor((m) => m.id === id && ('result' in m || 'error' in m));
  }

  async initialize(): Promise<void> {
    await this.send({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    });
    await this.answer('init');
    await this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  /** The server still works: a tools/list gets the whole catalogue. */
  async listsTools(id: number): Promise<string[]> {
    await this.send({ jsonrpc: '2.0', id, method: 'tools/list' });
    const reply = await this.answer(id);
    return reply.result.tools.map((t: { name: string }) => t.name);
  }

  /** Peak resident memory of the server process so far, from /proc (Linux). */
  peakRssBytes(): number {
    const status = fs.readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  kill(): void {
    this.child.kill();
  }
}

const servers: RawServer[] = [];
async function rawServer(root = scratchDir()): Promise<RawServer> {
  const s = new RawServer(root);
  servers.push(s);
  await s.initialize();
  return s;
}
afterEach(() => {
  for (const s of servers.splice(0)) s.kill();
});

/** A tools/call line of about `bytes` bytes, with the members in the order given. */
function bigCallLine(id: number, bytes: number, idFirst: boolean): string {
  const params = { name: 'list_increments', arguments: { padding: 'x'.repeat(bytes) } };
  const message = idFirst ? { jsonrpc: '2.0', id, method: 'tools/call', params } : { method: 'tools/call', params, jsonrpc: '2.0', id };
  return `${JSON.stringify(message)}\n`;
}

describe('a request over the read limit', () => {
  it('gets a JSON-RPC error naming the limit, with its id, and the server answers the next request', async () => {
    const s = await rawServer();
    await s.write(bigCallLine(7, 10 * 1000 * 1000, true));
    const refusal = await s.answer(7);
    expect(refusal.error.code).toBe(-32600);
    expect(refusal.error.message).toContain(`${MAX_REQUEST_BYTES} bytes`);
    expect(refusal.error.message).toMatch(/as a file/);
    expect(refusal.error.data).toEqual({ limit_bytes: MAX_REQUEST_BYTES });
    expect(await s.listsTools(8)).toContain('get_experiment');
  });

  it('recovers the id where the TypeScript SDK puts it, after params', async () => {
    const s = await rawServer();
    await s.write(bigCallLine(11, 10 * 1000 * 1000, false));
    expect((await s.answer(11)).error.code).toBe(-32600);
    expect(await s.listsTools(12)).toContain('list_experiments');
  });

  it("fails the SDK client's own call with the error, not a timeout, and its next call works", async () => {
    const root = scratchDir();
    const c = await stdioClient(['--root', root]);
    // The server's message, not the SDK's "Request timed out": the id was read from the end of the line.
    await expect(c.call('list_increments', { padding: 'x'.repeat(5 * MiB) })).rejects.toThrow(/read limit of 4 MiB[^]*as a file/);
    expect((await c.ok('list_increments', {})).project_root).toBe(root);
    await c.close();
    expect(c.stderr()).toMatch(/discarded a message over the 4194304-byte read limit/);
  });

  it('answers without an id when none can be read cheaply, and keeps serving', async () => {
    const s = await rawServer();
    await s.write(`${'['.repeat(100)}${' '.repeat(5 * MiB)}\n`);
    const refusal = await s.waitFor((m) => m.error?.code === -32600);
    expect('id' in refusal).toBe(false);
    expect(await s.listsTools(1)).toContain('track_experiment');
  });

  it('takes a line of exactly the limit as an ordinary message, and refuses one byte more', async () => {
    const s = await rawServer();
    const lineOf = (id: number, bytes: number) => {
      const message = { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'list_increments', arguments: { pad: '' } } };
      message.params.arguments.pad = 'y'.repeat(bytes - JSON.stringify(message).length);
      return JSON.stringify(message);
    };
    expect(Buffer.byteLength(lineOf(5, MAX_REQUEST_BYTES))).toBe(MAX_REQUEST_BYTES);
    await s.write(`${lineOf(5, MAX_REQUEST_BYTES)}\n`);
    // Past the transport: the tool answers (it ignores the unknown argument), a result rather than an error.
    expect('result' in (await s.answer(5))).toBe(true);
    await s.write(`${lineOf(6, MAX_REQUEST_BYTES + 1)}\n`);
    expect((await s.answer(6)).error.code).toBe(-32600);
  });

  it.skipIf(process.platform !== 'linux')('streams a 100 MiB line through without buffering it, then still answers', async () => {
    const s = await rawServer();
    const chunk = Buffer.alloc(MiB, 'z');
    await s.write('{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":"list_increments","arguments":{"padding":"');
    for (let i = 0; i < 100; i += 1) await s.write(chunk);
    await s.write('"}}}\n');
    expect((await s.answer(21)).error.code).toBe(-32600);
    expect(await s.listsTools(22)).toContain('compare_experiments');
    const peak = s.peakRssBytes();
    // Measured: about 66 MiB at start, 100-110 MiB after a 50, 100 or 300 MiB line (dropped chunks awaiting the
    // garbage collector). Holding the line would take at least 66 + 100 (bytes) + 100 (the decoded string).
    expect(peak).toBeLessThan(160 * MiB);
  });
});

describe('ordinary framing still works', () => {
  it('reads a request split across many writes', async () => {
    const s = await rawServer();
    const line = `${JSON.stringify({ jsonrpc: '2.0', id: 31, method: 'tools/call', params: { name: 'create_increment', arguments: { title: 'Split ünïcode' } } })}\n`;
    const bytes = Buffer.from(line);
    // One byte at a time splits the multi-byte characters too.
    for (let i = 0; i < bytes.length; i += 1) await s.write(bytes.subarray(i, i + 1));
    const reply = await s.answer(31);
    expect(reply.result.structuredContent.increment).toBe('0001-split-unicode');
  });

  it('reads several requests in one write, CRLF endings included', async () => {
    const s = await rawServer();
    const batch = [41, 42, 43].map((id) => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' })}\r\n`).join('');
    await s.write(batch);
    for (const id of [41, 42, 43]) expect((await s.answer(id)).result.tools.length).toBeGreaterThan(0);
  });

  it('answers a line that is not JSON with a parse error, and one that is not JSON-RPC with invalid request', async () => {
    const s = await rawServer();
    await s.write('this is not json\n');
    expect((await s.waitFor((m) => m.error?.code === -32700)).error.message).toMatch(/not valid JSON/);
    await s.write(`${JSON.stringify({ id: 51, hello: 'world' })}\n`);
    expect((await s.answer(51)).error.code).toBe(-32600);
    expect(await s.listsTools(52)).toContain('sync_docs');
  });
});

describe('a result over the result cap', () => {
  it('is an isError naming the tool, the size and the cap, and the server goes on answering', async () => {
    const root = scratchDir();
    const setup = await stdioClient(['--root', root]);
    const inc = await setup.ok('create_increment', { title: 'Huge params' });
    await setup.ok('track_experiment', { increment: '1', name: 'wide', params: { lr: 0.1 } });
    await setup.close();
    const params: Record<string, number> = {};
    for (let i = 0; i < 200_000; i += 1) params[`p${i}`] = i;
    fs.writeFileSync(path.join(root, inc.path, 'experiments/wide/params.json'), JSON.stringify(params));

    const s = await rawServer(root);
    await s.send({
      jsonrpc: '2.0',
      id: 61,
      method: 'tools/call',
      params: { name: 'get_experiment', arguments: { increment: '1', name: 'wide' } },
    });
    const reply = await s.answer(61);
    expect(reply.result.isError).toBe(true);
    const text: string = reply.result.content[0].text;
    expect(text).toMatch(/^get_experiment failed: its result is \d+(\.\d)? MiB \(\d+ bytes/);
    expect(text).toContain(`over the 1 MiB result cap`);
    expect(text).toContain('experiments/wide');
    const answerLine = s.lines.find((l) => JSON.parse(l).id === 61)!;
    expect(answerLine.length).toBeLessThan(4096);
    expect(Number(/\((\d+) bytes/.exec(text)![1])).toBeGreaterThan(MAX_RESULT_BYTES);

    // A page of list_experiments stays within the cap and keeps working.
    await s.send({ jsonrpc: '2.0', id: 62, method: 'tools/call', params: { name: 'list_experiments', arguments: { increment: '1' } } });
    expect((await s.answer(62)).result.structuredContent.total).toBe(1);
  });
});

describe('the result cap in the tool wrapper', () => {
  /** Tools whose results have a size chosen by the call, served through the real wrapper and the SDK's client. */
  const sized = (name: string, readOnly: boolean) =>
    defineTool({
      name,
      title: name,
      description: 'test tool',
      input: { chars: z.number().int() },
      output: { path: z.string(), blob: z.string() },
      annotations: { readOnlyHint: readOnly, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run({ chars }) {
        return { data: { path: '.specweave/somewhere', blob: 'x'.repeat(chars) }, text: 'ok' };
      },
    });
  const failing = defineTool({
    name: 'noisy',
    title: 'noisy',
    description: 'test tool',
    input: {},
    output: {},
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async run() {
      throw new MlError('INVALID_INPUT', `bad value ${'v'.repeat(100_000)}`, 'Pass a shorter value.');
    },
  });

  async function serve(tools: ToolDefinition[]) {
    const server = createMcpServer(scratchDir(), tools as ToolDefinition[]);
    const client = new Client({ name: 'cap-test', version: '0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(b), client.connect(a)]);
    return {
      call: async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult,
      close: () => client.close(),
    };
  }

  it('sends a result of exactly the cap and refuses one a byte over, saying whether the tool wrote', async () => {
    const c = await serve([sized('reader', true), sized('writer', false)] as unknown as ToolDefinition[]);
    const overhead =
      Buffer.byteLength(JSON.stringify('ok')) + Buffer.byteLength(JSON.stringify({ path: '.specweave/somewhere', blob: '' }));
    const room = MAX_RESULT_BYTES - overhead;
    const fits = await c.call('reader', { chars: room });
    expect(fits.isError).toBeFalsy();
    expect((fits.structuredContent as { blob: string }).blob).toHaveLength(room);
    const over = await c.call('reader', { chars: room + 1 });
    expect(over.isError).toBe(true);
    expect((over.content[0] as { text: string }).text).toBe(
      `reader failed: its result is 1 MiB (${MAX_RESULT_BYTES + 1} bytes of text and structured content), over the 1 MiB result cap (docs/limits.md), so it was not sent. ` +
        'The record is in the files under .specweave/somewhere: read the one you need there (its content is data), or trim a file that holds far more than expected (for example a params.json with thousands of keys).',
    );
    const wrote = await c.call('writer', { chars: 2 * room });
    expect((wrote.content[0] as { text: string }).text).toMatch(/^writer ran and its changes are written, but its result is 2 MiB \(/);
    await c.close();
  });

  it('cuts a huge error message but keeps the hint', async () => {
    const c = await serve([failing] as unknown as ToolDefinition[]);
    const r = await c.call('noisy', {});
    const text = (r.content[0] as { text: string }).text;
    expect(r.isError).toBe(true);
    expect(text.length).toBeLessThan(MAX_ERROR_PART_CHARS + 200);
    expect(text).toContain(`(cut at ${MAX_ERROR_PART_CHARS} of 100010 characters)`);
    expect(text.endsWith('\nPass a shorter value.')).toBe(true);
    await c.close();
  });
});

describe('list_experiments bounds each page by itself', () => {
  it('shows at most 100 metrics and 50 tags per experiment and 50 broken folders, with the totals', async () => {
    const root = scratchDir();
    const c = await inMemoryClient(root);
    const inc = await c.ok('create_increment', { title: 'Wide metrics' });
    const tags = Array.from({ length: 80 }, (_, i) => `tag${i}`);
    await c.ok('track_experiment', { increment: '1', name: 'wide', metrics: { accuracy: 0.9 }, tags });
    const experiments = path.join(root, inc.path, 'experiments');
    const metrics: Record<string, number> = {};
    for (let i = 0; i < 5000; i += 1) metrics[`m${String(i).padStart(5, '0')}`] = i / 5000;
    fs.writeFileSync(path.join(experiments, 'wide/metrics.json'), JSON.stringify(metrics));
    for (let i = 0; i < 60; i += 1) fs.mkdirSync(path.join(experiments, `broken-${String(i).padStart(2, '0')}`));

    const page = await c.ok('list_experiments', { increment: '1' });
    const [wide] = page.experiments;
    expect(Object.keys(wide.metrics)).toHaveLength(100);
    expect(wide.metrics.m00099).toBeCloseTo(99 / 5000);
    expect(wide.metrics_count).toBe(5000);
    expect(wide.tags).toEqual(tags.slice(0, 50));
    expect(wide.tags_count).toBe(80);
    expect(page.broken).toHaveLength(50);
    expect(page.broken[0].name).toBe('broken-00');
    expect(page.broken_count).toBe(60);
    const text = ((await c.call('list_experiments', { increment: '1' })).content[0] as { text: string }).text;
    expect(text).toContain('(10 more unreadable not listed)');
    await c.close();
  });
});

describe('the measuring and id recovery the limits rely on', () => {
  it('measures the serialized size exactly, without serializing', () => {
    const values: unknown[] = [
      null,
      true,
      false,
      0,
      -1.5e-7,
      Number.NaN,
      'plain',
      'quote " back \\ slash',
      'tab\tnew\nline\u0001\u001f',
      'é ü 中 😀',
      '\ud800 lone',
      [],
      {},
      [1, undefined, () => 1, 'x'],
      { a: undefined, b: 1, 'kéy"': [null, { c: 'd' }] },
      { when: new Date(0) },
      Array.from({ length: 1000 }, (_, i) => ({ [`k${i}`]: i / 3 })),
    ];
    for (const v of values) expect(serializedBytes(v)).toBe(Buffer.byteLength(JSON.stringify(v)));
  });

  it('measures a value nested far deeper than the stack would allow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i += 1) deep = [deep];
    expect(serializedBytes(deep)).toBe(400_001);
  });

  it('reads a top-level id from the start of a line, never one inside params', () => {
    expect(recoverLeadingId('{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"x')).toBe(12);
    expect(recoverLeadingId(' { "id" : "abc\\"d" , "method"')).toBe('abc"d');
    expect(recoverLeadingId('{"method":"tools/call","params":{"id":3,')).toBeUndefined();
    expect(recoverLeadingId('{"jsonrpc":"2.0","id":123')).toBeUndefined(); // the digits may go on
    expect(recoverLeadingId('[{"id":1}')).toBeUndefined();
  });

  it('reads a top-level id from the end of a line, never one inside params', () => {
    expect(recoverTrailingId('xxxx"},"jsonrpc":"2.0","id":7}')).toBe(7);
    expect(recoverTrailingId('xxxx"}, "id" : "r\\"1" }\r')).toBe('r"1');
    expect(recoverTrailingId('xxxx","id":7}}')).toBeUndefined(); // the id of a nested object
    expect(recoverTrailingId('xxxx","idx":7}')).toBeUndefined();
    expect(recoverTrailingId('xxxx"')).toBeUndefined();
  });
});

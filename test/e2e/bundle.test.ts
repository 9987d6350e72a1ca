/**
 * The built bundle, spawned as Claude Code spawns it: over stdio, with plain node, from any working directory.
 * Run `npm run build` first (the test script does).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { stdioClient } from '../helpers/client.js';
import { BUNDLE, scratchDir } from '../helpers/project.js';

describe('.mcp.json, as Claude Code starts it', () => {
  const REPO = path.resolve(__dirname, '../..');
  const config = JSON.parse(fs.readFileSync(path.join(REPO, '.mcp.json'), 'utf8')).mcpServers.ml as { command: string; args: string[] };

  async function listToolsVia(args: string[], cwd: string, env: Record<string, string> = {}) {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const client = new Client({ name: 'launcher-test', version: '0' });
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args, cwd, env: { PATH: process.env.PATH ?? '', ...env }, stderr: 'pipe' }),
    );
    const { tools } = await client.listTools();
    await client.close();
    return tools.map((t) => t.name);
  }

  it('starts the bundle from an installed plugin (the root substituted), from any working directory', async () => {
    expect(config.command).toBe('node');
    const args = config.args.map((a) => a.replace('${CLAUDE_PLUGIN_ROOT}', REPO));
    expect(await listToolsVia(args, scratchDir())).toContain('track_experiment');
  });

  it('starts the bundle when this repository itself is opened (the variable left unresolved)', async () => {
    expect(await listToolsVia(config.args, REPO)).toContain('validate_increment');
  });
});

describe('the bundle over stdio', () => {
  it('serves every tool from a project root given by --root', async () => {
    const root = scratchDir();
    const c = await stdioClient(['--root', root]);
    const { tools } = await c.client.listTools();
    expect(tools.length).toBeGreaterThanOrEqual(9);
    const inc = await c.ok('create_increment', { title: 'Spawned' });
    expect(fs.existsSync(path.join(root, inc.path, 'spec.md'))).toBe(true);
    await c.close();
    expect(c.stderr()).toMatch(/serving .* on stdio/);
  });

  it('finds the project from a sub-folder, and honours SPECWEAVE_ROOT', async () => {
    const root = scratchDir();
    fs.mkdirSync(path.join(root, '.specweave'));
    fs.mkdirSync(path.join(root, 'src', 'models'), { recursive: true });
    const fromSub = await stdioClient([], { cwd: path.join(root, 'src', 'models') });
    expect((await fromSub.ok('list_increments', {})).project_root).toBe(root);
    await fromSub.close();
    const other = scratchDir();
    const fromEnv = await stdioClient([], { cwd: root, env: { SPECWEAVE_ROOT: other } });
    expect((await fromEnv.ok('list_increments', {})).project_root).toBe(other);
    await fromEnv.close();
  });

  it('writes only JSON-RPC messages to stdout', async () => {
    const root = scratchDir();
    const child = spawn(process.execPath, [BUNDLE, '--root', root], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'track_experiment', arguments: { increment: '9', name: 'x' } } });
    send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'create_increment', arguments: { title: 'Raw' } } });
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (out.split('\n').filter(Boolean).length >= 4) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
    });
    child.kill();
    const lines = out.split('\n').filter(Boolean);
    for (const line of lines) expect(JSON.parse(line).jsonrpc).toBe('2.0');
    const byId = Object.fromEntries(lines.map((l) => JSON.parse(l)).map((m) => [m.id, m]));
    expect(byId[3].result.isError).toBe(true);
    expect(byId[4].result.structuredContent.increment).toBe('0001-raw');
  });

  it('loses nothing when several server processes write one experiment at once', async () => {
    const root = scratchDir();
    const clients = await Promise.all([0, 1, 2, 3].map(() => stdioClient(['--root', root])));
    await clients[0]!.ok('create_increment', { title: 'Shared' });
    const perProcess = 25;
    await Promise.all(
      clients.map((c, p) =>
        (async () => {
          for (let i = 0; i < perProcess; i += 1) {
            await c.ok('track_experiment', {
              increment: '1',
              name: 'shared',
              params: { [`p${p}_${i}`]: i },
              metrics: { [`m${p}_${i}`]: i / 100 },
              history: [{ metric: `loss_${p}`, value: i, step: i }],
              tags: [`t${p}`],
              note: `process ${p} call ${i}`,
            });
          }
        })(),
      ),
    );
    await Promise.all(clients.map((c) => c.close()));
    const dir = path.join(root, '.specweave/increments/0001-shared/experiments/shared');
    const params = JSON.parse(fs.readFileSync(path.join(dir, 'params.json'), 'utf8'));
    const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    const meta = load(fs.readFileSync(path.join(dir, 'metadata.yaml'), 'utf8')) as any;
    const history = fs
      .readFileSync(path.join(dir, 'history.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(Object.keys(params)).toHaveLength(4 * perProcess);
    expect(Object.keys(metrics).filter((k) => k.startsWith('m'))).toHaveLength(4 * perProcess);
    expect(meta.notes).toHaveLength(4 * perProcess);
    expect([...meta.tags].sort()).toEqual(['t0', 't1', 't2', 't3']);
    expect(history).toHaveLength(4 * perProcess);
    for (let p = 0; p < 4; p += 1) expect(metrics[`loss_${p}`]).toBe(perProcess - 1);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('recovers after a server is killed mid-write: whole files, lock broken, writes continue', async () => {
    const root = scratchDir();
    const setup = await stdioClient(['--root', root]);
    await setup.ok('create_increment', { title: 'Crash' });
    await setup.close();
    const child = spawn(process.execPath, [BUNDLE, '--root', root], { stdio: ['pipe', 'pipe', 'ignore'] });
    const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    let answered = 0;
    child.stdout.on('data', (d) => (answered += String(d).split('\n').filter(Boolean).length));
    for (let i = 1; i <= 400; i += 1) {
      send({
        jsonrpc: '2.0',
        id: i,
        method: 'tools/call',
        params: {
          name: 'track_experiment',
          arguments: { increment: '1', name: 'victim', params: { [`k${i}`]: i }, history: [{ metric: 'loss', value: i, step: i }] },
        },
      });
    }
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (answered > 30) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));

    const dir = path.join(root, '.specweave/increments/0001-crash/experiments/victim');
    const params = JSON.parse(fs.readFileSync(path.join(dir, 'params.json'), 'utf8'));
    expect(Object.keys(params).length).toBeGreaterThan(0);
    const after = await stdioClient(['--root', root]);
    const got = await after.ok('get_experiment', { increment: '1', name: 'victim' });
    expect(got.name).toBe('victim');
    const start = Date.now();
    const r = await after.ok('track_experiment', { increment: '1', name: 'victim', params: { after: true } });
    expect(Date.now() - start).toBeLessThan(5000); // a dead writer's lock is broken, not waited out
    expect(r.params_count).toBe(Object.keys(params).length + 1);
    await after.close();
  });
});

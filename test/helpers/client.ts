/** Real MCP clients for tests: in memory against the server object, or over stdio against the built bundle. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createMcpServer } from '../../mcp-server/src/mcp/server.js';
import { BUNDLE } from './project.js';

export interface TestClient {
  client: Client;
  /** Calls a tool and returns the whole result (isError included). */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Calls a tool that must succeed and returns its structuredContent. */
  ok<T = Record<string, any>>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** Calls a tool that must fail and returns its error text. */
  fails(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

function wrap(client: Client, close: () => Promise<void>): TestClient {
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  return {
    client,
    call,
    async ok(name, args) {
      const r = await call(name, args);
      if (r.isError) throw new Error(`${name} failed: ${(r.content[0] as { text: string }).text}`);
      return r.structuredContent as any;
    },
    async fails(name, args) {
      const r = await call(name, args);
      if (!r.isError) throw new Error(`${name} was expected to fail but returned ${JSON.stringify(r.structuredContent)}`);
      return (r.content[0] as { text: string }).text;
    },
    close,
  };
}

export async function inMemoryClient(root: string): Promise<TestClient> {
  const server = createMcpServer(root);
  const client = new Client({ name: 'test', version: '0.0.0' });
  const [clientT, serverT] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverT), client.connect(clientT)]);
  return wrap(client, async () => {
    await client.close();
    await server.close();
  });
}

export async function stdioClient(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<TestClient & { stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BUNDLE, ...args],
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += String(d)));
  const client = new Client({ name: 'test-stdio', version: '0.0.0' });
  await client.connect(transport);
  return { ...wrap(client, () => client.close()), stderr: () => stderr };
}

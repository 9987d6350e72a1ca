/**
 * The server's entry point: `node mcp-server/dist/server.mjs [--root DIR]`, speaking MCP over stdio.
 * stdout carries only protocol messages; everything else goes to stderr.
 */
import { resolveProjectRoot } from './core/project.js';
import { SERVER_NAME, SERVER_VERSION, createMcpServer } from './mcp/server.js';
import { BoundedStdioServerTransport } from './mcp/stdio-transport.js';

// A stray console.log from any dependency would corrupt the protocol stream.
console.log = (...args: unknown[]) => console.error(...args);

function parseArgs(argv: string[]): { root?: string; help: boolean; version: boolean } {
  const out: { root?: string; help: boolean; version: boolean } = { help: false, version: false };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i]!;
    if (a === '--root') out.root = argv[++i];
    else if (a.startsWith('--root=')) out.root = a.slice('--root='.length);
    else if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--version') out.version = true;
    else {
      process.stderr.write(`Unknown argument ${a}. Usage: server.mjs [--root DIR]\n`);
      process.exit(2);
    }
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  process.stderr.write(
    `${SERVER_NAME} ${SERVER_VERSION}: MCP server over stdio.\nUsage: node server.mjs [--root DIR]\nRoot: --root, else SPECWEAVE_ROOT, else the nearest ancestor with .specweave/, else the working directory.\n`,
  );
  process.exit(0);
}
if (args.version) {
  process.stderr.write(`${SERVER_VERSION}\n`);
  process.exit(0);
}
const root = resolveProjectRoot({ argRoot: args.root });
const server = createMcpServer(root);
// Protocol-level problems (a refused oversized request, a line that is not JSON-RPC) are answered to the client
// and noted here; the server goes on serving.
server.server.onerror = (e) => process.stderr.write(`[${SERVER_NAME}] ${e.message}\n`);
// Not the SDK's StdioServerTransport: it stops reading for good after one request over 10 MiB (see the transport).
await server.connect(new BoundedStdioServerTransport());
process.stderr.write(`[${SERVER_NAME}] ${SERVER_VERSION} serving ${root} on stdio\n`);

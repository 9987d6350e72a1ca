/**
 * MCP over stdio with a bounded read: newline-delimited JSON-RPC, like the SDK's StdioServerTransport, except that
 * a line longer than MAX_REQUEST_BYTES is answered with a JSON-RPC error and discarded as it streams in.
 *
 * Why not the SDK's transport: its ReadBuffer refuses more than 10 MiB of unread input by throwing, and the
 * transport then closes itself (stdin listener removed, stdin paused). The process stays alive but never answers
 * that request or any later one. It also concatenates every chunk onto the buffer, so memory grows with the line.
 * Here the bytes of an oversized line are dropped chunk by chunk (what is held stays under the limit whatever the
 * line's size) and the next line is read as usual. Limits and measurements: docs/limits.md.
 */
import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { formatBytes } from './result-size.js';

/** Requests name files (predictions, stores) rather than carry data, so real ones are a few KiB. Documented in docs/limits.md. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/**
 * How much of each end of an oversized line is kept to recover its id. The id is a top-level member: first or
 * second in most clients' output, last in the TypeScript SDK's ({"method":…,"params":…,"jsonrpc":"2.0","id":7}).
 */
const ID_SCAN_BYTES = 4096;

const NEWLINE = 0x0a;

export function oversizedRequestMessage(limit: number): string {
  return (
    `Request too large: the message exceeds this server's read limit of ${formatBytes(limit)} (${limit} bytes) and was discarded. ` +
    'Pass large data as a file inside the project (for example predictions_path) instead of inline.'
  );
}

export class BoundedStdioServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];

  /** The chunks of the line being read, while it is within the limit. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Set while the rest of an oversized line is being skipped: the id read from its start, and its last bytes. */
  private oversized: { headId: RequestId | undefined; tail: Buffer } | null = null;
  private started = false;

  constructor(
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
    readonly maxRequestBytes: number = MAX_REQUEST_BYTES,
  ) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('BoundedStdioServerTransport already started');
    this.started = true;
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onStreamError);
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onStreamError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.pending = [];
    this.pendingBytes = 0;
    this.oversized = null;
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(serializeMessage(message))) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  private readonly onStreamError = (error: Error) => this.onerror?.(error);

  private readonly onData = (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    while (start < buf.length) {
      const newline = buf.indexOf(NEWLINE, start);
      const end = newline === -1 ? buf.length : newline;
      if (this.oversized) this.skip(buf.subarray(start, end));
      else this.keep(buf.subarray(start, end));
      if (newline === -1) return;
      if (this.oversized) this.refuseOversized();
      else this.dispatch(this.takeLine());
      start = newline + 1;
    }
  };

  /** Adds part of the current line, or starts discarding it once it passes the limit. */
  private keep(part: Buffer): void {
    if (this.pendingBytes + part.length <= this.maxRequestBytes) {
      if (part.length > 0) this.pending.push(part);
      this.pendingBytes += part.length;
      return;
    }
    const total = this.pendingBytes + part.length;
    this.oversized = {
      headId: recoverLeadingId(Buffer.concat([...this.pending, part], Math.min(ID_SCAN_BYTES, total)).toString('utf8')),
      tail: Buffer.alloc(0),
    };
    this.pending = [];
    this.pendingBytes = 0;
    this.skip(part);
  }

  /** Drops part of an oversized line, remembering only its last bytes, where SDK clients put the id. */
  private skip(part: Buffer): void {
    const o = this.oversized!;
    o.tail =
      part.length >= ID_SCAN_BYTES
        ? Buffer.from(part.subarray(part.length - ID_SCAN_BYTES))
        : Buffer.concat([o.tail, part]).subarray(-ID_SCAN_BYTES);
  }

  /** The oversized line has ended: answer it with an error (by its id when one can be recovered) and read on. */
  private refuseOversized(): void {
    const { headId, tail } = this.oversized!;
    this.oversized = null;
    const id = headId ?? recoverTrailingId(tail.toString('utf8'));
    this.reply(id, ErrorCode.InvalidRequest, oversizedRequestMessage(this.maxRequestBytes), { limit_bytes: this.maxRequestBytes });
    this.onerror?.(new Error(`discarded a message over the ${this.maxRequestBytes}-byte read limit`));
  }

  private takeLine(): string {
    const line = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  }

  private dispatch(line: string): void {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.reply(undefined, ErrorCode.ParseError, 'Parse error: the line is not valid JSON. Send one JSON-RPC message per line.');
      this.onerror?.(new Error('answered a line that is not JSON with a parse error'));
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(json);
    if (!parsed.success) {
      this.reply(idOf(json), ErrorCode.InvalidRequest, 'Invalid Request: the line is JSON but not a JSON-RPC 2.0 message.');
      this.onerror?.(new Error('answered a line that is not a JSON-RPC message with invalid request'));
      return;
    }
    try {
      this.onmessage?.(parsed.data);
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * An error answer. Without a recoverable id the `id` member is left out, as the MCP schema (and the SDK's
   * client) expects for errors that cannot be tied to a request; JSON-RPC 2.0 writes `null` there instead.
   */
  private reply(id: RequestId | undefined, code: number, message: string, data?: Record<string, unknown>): void {
    const error = data === undefined ? { code, message } : { code, message, data };
    void this.send({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), error } as JSONRPCMessage);
  }
}

function idOf(json: unknown): RequestId | undefined {
  if (typeof json !== 'object' || json === null || !('id' in json)) return undefined;
  const id = (json as { id: unknown }).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : undefined;
}

const WHITESPACE = /[ \t\r\n]*/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;

function token(re: RegExp, text: string, at: number): string | null {
  re.lastIndex = at;
  const m = re.exec(text);
  return m ? m[0] : null;
}

/**
 * The top-level `id` of a JSON object whose start is `head`, if it appears before any nested value: reading the
 * top-level members one by one (keys and scalar values only) never confuses it with an `id` inside params.
 * Gives up (undefined) at the first object or array value, at a truncated token, or at anything malformed.
 */
export function recoverLeadingId(head: string): RequestId | undefined {
  let at = (token(WHITESPACE, head, 0) ?? '').length;
  if (head[at] !== '{') return undefined;
  at += 1;
  for (;;) {
    at += (token(WHITESPACE, head, at) ?? '').length;
    const key = token(STRING, head, at);
    if (key === null) return undefined;
    at += key.length;
    at += (token(WHITESPACE, head, at) ?? '').length;
    if (head[at] !== ':') return undefined;
    at += 1;
    at += (token(WHITESPACE, head, at) ?? '').length;
    const value = token(STRING, head, at) ?? token(NUMBER, head, at) ?? token(LITERAL, head, at);
    // A value running to the end of `head` may be cut short (a number's digits): not trustworthy.
    if (value === null || at + value.length >= head.length) return undefined;
    if (JSON.parse(key) === 'id') {
      const id: unknown = JSON.parse(value);
      return typeof id === 'string' || typeof id === 'number' ? id : undefined;
    }
    at += value.length;
    at += (token(WHITESPACE, head, at) ?? '').length;
    if (head[at] !== ',') return undefined;
    at += 1;
  }
}

/** The string token that ends just before `end` (exclusive), read backwards: its opening quote is the first unescaped one. */
function stringEndingAt(text: string, end: number): number | null {
  if (text[end - 1] !== '"') return null;
  for (let i = end - 2; i >= 0; i -= 1) {
    if (text[i] !== '"') continue;
    let backslashes = 0;
    while (i - 1 - backslashes >= 0 && text[i - 1 - backslashes] === '\\') backslashes += 1;
    if (backslashes % 2 === 0) return i;
  }
  return null;
}

/**
 * The `id` of a JSON object whose end is `tail`, if it is the object's last member with a scalar value. The
 * member just before the final brace of a valid JSON object is top-level, so it cannot be an `id` inside params.
 */
export function recoverTrailingId(tail: string): RequestId | undefined {
  let end = tail.trimEnd().length;
  if (tail[end - 1] !== '}') return undefined;
  end = tail.slice(0, end - 1).trimEnd().length;
  let valueStart: number | null;
  if (tail[end - 1] === '"') valueStart = stringEndingAt(tail, end);
  else {
    const m = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.exec(tail.slice(0, end));
    valueStart = m ? end - m[0].length : null;
  }
  if (valueStart === null || valueStart === 0) return undefined;
  const colon = tail.slice(0, valueStart).trimEnd().length;
  if (tail[colon - 1] !== ':') return undefined;
  const keyEnd = tail.slice(0, colon - 1).trimEnd().length;
  const keyStart = stringEndingAt(tail, keyEnd);
  if (keyStart === null || keyStart === 0) return undefined;
  const before = tail.slice(0, keyStart).trimEnd();
  if (!before.endsWith(',') && !before.endsWith('{')) return undefined;
  try {
    if (JSON.parse(tail.slice(keyStart, keyEnd)) !== 'id') return undefined;
    const id: unknown = JSON.parse(tail.slice(valueStart, end));
    return typeof id === 'string' || typeof id === 'number' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A tool is its name, schemas, description, annotations and a run function, in one place. Tools know nothing of
 * the MCP SDK: mcp/server.ts registers them and turns failures into isError results.
 */
import type { z } from 'zod';
import type { GitInfo } from '../core/git-info.js';
import type { Project } from '../core/project.js';

export interface ToolContext {
  project: Project;
  git: () => Promise<GitInfo | null>;
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  /** true when the tool may reach the network (a tracking server named in its arguments). */
  openWorldHint: boolean;
}

export interface ToolResult<O> {
  /** Becomes structuredContent: every fact the caller needs. */
  data: O;
  /** Becomes the text content: the same facts, short, for clients that show only text. */
  text: string;
}

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  run(args: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolResult<z.input<z.ZodObject<O>>>>;
}

export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(def: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return def;
}

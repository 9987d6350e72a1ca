/**
 * A small client for a running MLflow tracking server's REST API (`<base>/api/2.0/mlflow/...`), over Node's global
 * fetch, so the bundle stays one file with no native addon. Used by the REST importer (importers/mlflow-rest.ts)
 * and by export_to_mlflow (mlflow-export.ts).
 *
 * Everything is bounded: each request times out, each response body is read up to a cap, redirects are refused
 * (they could carry credentials elsewhere), and every failure becomes an MlError saying how to fix the call:
 * nothing answering, something answering that is not MLflow, or MLflow refusing with its error_code.
 * Credentials come from the environment MLflow's own client reads (MLFLOW_TRACKING_TOKEN, or
 * MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD), never from the URL, so they are never recorded.
 */
import { invalid, MlError } from './errors.js';

/** How long one request may take, from sending it to the end of its body. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Largest response body read; MLflow pages its lists, so an answer this big is not one of its pages. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

const START_SERVER = 'mlflow server --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000';

/** A tracking server's address as given, checked. */
export interface TrackingServer {
  /** The base URL without a trailing slash, query or fragment: the API is under `<base>/api/2.0/mlflow/`. */
  base: string;
  /** The base as shown in results and recorded in imported runs. */
  label: string;
  /** An experiment chosen in the URL: the UI's `#/experiments/<id>` link, or `?experiment=<name>`. */
  experiment?: { id: string } | { name: string };
}

/** Whether a source names a server rather than a folder. */
export function isHttpUrl(text: string): boolean {
  return /^https?:\/\//i.test(text.trim());
}

/**
 * Parses a tracking server URL. `what` names the argument in errors. An experiment in the URL is accepted only when
 * allowExperiment (the importer's filter); otherwise a fragment or query is refused rather than ignored.
 */
export function parseTrackingServer(raw: string, what: string, allowExperiment: boolean): TrackingServer {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid(`${what} ${JSON.stringify(raw)} is not a URL.`, `Pass the tracking server's address, e.g. "http://127.0.0.1:5000".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(
      `${what} ${JSON.stringify(raw)} is not an http(s) URL.`,
      `Pass the tracking server's address, e.g. "http://127.0.0.1:5000".`,
    );
  }
  if (url.username || url.password) {
    throw invalid(
      `${what} carries credentials in the URL; they would be recorded with the runs.`,
      'Remove them from the URL and set MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) in the MCP server’s environment.',
    );
  }
  let experiment: TrackingServer['experiment'];
  const fromHash = /^#\/experiments\/([^/?#]+)/.exec(url.hash);
  const byName = url.searchParams.get('experiment');
  const extraQuery = [...url.searchParams.keys()].filter((k) => k !== 'experiment');
  if (fromHash) experiment = { id: decodeURIComponent(fromHash[1]!) };
  else if (byName) experiment = { name: byName };
  if ((url.hash && !fromHash) || extraQuery.length || (experiment && !allowExperiment)) {
    throw invalid(
      `${what} ${JSON.stringify(raw)} has a ${url.hash ? 'fragment' : 'query'} this tool does not understand.`,
      allowExperiment
        ? 'Pass the server address ("http://127.0.0.1:5000"), optionally with one experiment: the UI link "http://127.0.0.1:5000/#/experiments/<id>" or "?experiment=<name>".'
        : 'Pass only the server address ("http://127.0.0.1:5000"); name the experiment with experiment_name.',
    );
  }
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  return { base, label: base, ...(experiment ? { experiment } : {}) };
}

/** MLflow's error body. */
interface MlflowErrorBody {
  error_code: string;
  message?: string;
}

function isMlflowError(body: unknown): body is MlflowErrorBody {
  return typeof body === 'object' && body !== null && typeof (body as MlflowErrorBody).error_code === 'string';
}

/** Thrown for an answer MLflow gave with an error_code, so callers can act on RESOURCE_DOES_NOT_EXIST. */
export class MlflowApiError extends MlError {
  constructor(
    readonly errorCode: string,
    readonly httpStatus: number,
    message: string,
    hint: string,
  ) {
    super(errorCode === 'RESOURCE_DOES_NOT_EXIST' ? 'NOT_FOUND' : 'INVALID_INPUT', message, hint);
  }
}

function authHeaders(): Record<string, string> {
  const token = process.env.MLFLOW_TRACKING_TOKEN;
  if (token) return { authorization: `Bearer ${token}` };
  const user = process.env.MLFLOW_TRACKING_USERNAME;
  if (user) return { authorization: `Basic ${Buffer.from(`${user}:${process.env.MLFLOW_TRACKING_PASSWORD ?? ''}`).toString('base64')}` };
  return {};
}

/** Why fetch failed, from its cause (ECONNREFUSED, ENOTFOUND, a TLS error...). */
function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

export class MlflowRestClient {
  constructor(
    readonly server: TrackingServer,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
    private readonly maxBytes = MAX_RESPONSE_BYTES,
  ) {}

  /** GET `<base>/api/2.0/mlflow/<endpoint>?<query>`. */
  get(endpoint: string, query: Record<string, string | number | undefined>): Promise<Record<string, unknown>> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    return this.request('GET', `${endpoint}?${params}`);
  }

  /** POST a JSON body to `<base>/api/2.0/mlflow/<endpoint>`. */
  post(endpoint: string, body: unknown): Promise<Record<string, unknown>> {
    return this.request('POST', endpoint, body);
  }

  private async request(method: string, endpoint: string, body?: unknown): Promise<Record<string, unknown>> {
    const { label } = this.server;
    const name = endpoint.split('?')[0]!;
    const url = `${this.server.base}/api/2.0/mlflow/${endpoint}`;
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        signal,
        redirect: 'manual',
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...authHeaders() },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw this.unreachable(error, signal);
    }
    const text = await this.readBody(response, name, signal);
    if (response.status >= 300 && response.status < 400) {
      throw invalid(
        `${label} redirects ${name} to ${response.headers.get('location') ?? 'another address'} (HTTP ${response.status}).`,
        'Pass the address the tracking server is really served at (redirects are not followed).',
      );
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (isMlflowError(parsed)) {
      throw new MlflowApiError(
        parsed.error_code,
        response.status,
        `MLflow at ${label} refused ${name} (HTTP ${response.status}, ${parsed.error_code}): ${parsed.message ?? 'no message'}`,
        errorHint(parsed.error_code, response.status),
      );
    }
    if (response.status === 401 || response.status === 403) {
      throw invalid(
        `${label} refused ${name} (HTTP ${response.status}): it needs credentials.`,
        'Set MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) in the MCP server’s environment.',
      );
    }
    if (!response.ok || typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      const type = response.headers.get('content-type')?.split(';')[0] ?? 'no content type';
      throw invalid(
        `${label} is not an MLflow tracking server: ${name} answered HTTP ${response.status} (${type}), not MLflow's JSON.`,
        `Pass the base URL that \`mlflow server\` prints (e.g. "http://127.0.0.1:5000", no /api path), and check that it is MLflow 2 or later (${START_SERVER}).`,
      );
    }
    return parsed as Record<string, unknown>;
  }

  private unreachable(error: unknown, signal: AbortSignal): MlError {
    const { label } = this.server;
    if (signal.aborted) {
      return invalid(
        `${label} did not answer within ${this.timeoutMs / 1000} s.`,
        'Check that the tracking server is up and not overloaded (its /health page should answer OK), then call again.',
      );
    }
    return invalid(
      `No MLflow tracking server is reachable at ${label} (${networkCause(error)}).`,
      `Start one (${START_SERVER}) or fix the host and port; the MCP server must be able to reach it.`,
    );
  }

  /** The body as text, at most maxBytes; a bigger body aborts the request. */
  private async readBody(response: Response, name: string, signal: AbortSignal): Promise<string> {
    const declared = Number(response.headers.get('content-length') ?? 'NaN');
    const tooBig = () =>
      invalid(
        `${this.server.label} answered ${name} with more than ${this.maxBytes / 2 ** 20} MiB.`,
        'Import one experiment at a time (source "<server>/#/experiments/<id>"); if that is still too big, the server is not paging its answers as MLflow does.',
      );
    if (declared > this.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooBig();
    }
    if (!response.body) return '';
    const chunks: Buffer[] = [];
    let total = 0;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > this.maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw tooBig();
        }
        chunks.push(Buffer.from(value));
      }
    } catch (error) {
      if (error instanceof MlError) throw error;
      throw this.unreachable(error, signal);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

function errorHint(code: string, status: number): string {
  if (code === 'RESOURCE_DOES_NOT_EXIST') return 'Check the experiment or run id against the MLflow UI.';
  if (code === 'PERMISSION_DENIED' || code === 'UNAUTHENTICATED' || status === 401 || status === 403) {
    return 'Set MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) in the MCP server’s environment, for a user allowed to do this.';
  }
  if (code === 'ENDPOINT_NOT_FOUND') return 'The server is an MLflow older than this tool needs: use MLflow 2 or later.';
  return 'Fix what MLflow says and call again.';
}

/**
 * Every item of a paged MLflow list (`<listKey>` plus `next_page_token`). maxItems bounds the whole list: more is
 * an error from tooMany, so a huge server is not read into memory.
 */
export async function fetchAllPages<T>(
  fetchPage: (pageToken: string | undefined) => Promise<Record<string, unknown>>,
  listKey: string,
  maxItems: number,
  tooMany: () => MlError,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  const seen = new Set<string>();
  for (;;) {
    const page = await fetchPage(token);
    const list = page[listKey];
    if (list !== undefined && !Array.isArray(list))
      throw invalid(`MLflow answered a list (${listKey}) that is not a list.`, 'Check that the URL is an MLflow tracking server.');
    items.push(...((list ?? []) as T[]));
    if (items.length > maxItems) throw tooMany();
    const next = page.next_page_token;
    if (typeof next !== 'string' || next === '' || seen.has(next)) return items;
    seen.add(next); // a server that repeats a token would otherwise loop forever
    token = next;
  }
}

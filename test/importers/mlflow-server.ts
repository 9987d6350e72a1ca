/**
 * A real `mlflow server` for the REST importer and exporter tests, started from the pinned test environment
 * (process.env.SPECWEAVE_TEST_PYTHON, else the repository's .venv-test): the `mlflow` script beside that python,
 * on a SQLite store in a scratch folder and a free port on 127.0.0.1. Without it the suites skip, saying why;
 * SPECWEAVE_REQUIRE_PYENV=1 (CI) makes that a failure instead.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { scratchDir } from '../helpers/project.js';

export const PYTHON = process.env.SPECWEAVE_TEST_PYTHON ?? path.resolve(__dirname, '../../.venv-test/bin/python');
const MLFLOW = path.join(path.dirname(PYTHON), 'mlflow');
export const HAS_MLFLOW_SERVER = existsSync(PYTHON) && existsSync(MLFLOW);
const REQUIRED = process.env.SPECWEAVE_REQUIRE_PYENV === '1';
export const SKIP_MLFLOW_SERVER = !HAS_MLFLOW_SERVER && !REQUIRED;
export const SKIP_REASON = `no mlflow script beside ${PYTHON} (set SPECWEAVE_TEST_PYTHON)`;
const SCRIPT = path.join(__dirname, 'mlflow-server.py');

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningMlflow {
  url: string;
  /** The server's SQLite store. */
  dbPath: string;
  stop(): Promise<void>;
}

/** Starts `mlflow server` and waits until /health answers (it takes a few seconds). */
export async function startMlflowServer(): Promise<RunningMlflow> {
  if (!HAS_MLFLOW_SERVER) throw new Error(`SPECWEAVE_REQUIRE_PYENV=1 but ${SKIP_REASON}`);
  const dir = scratchDir('swml-mlflow-server-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  // Its own process group: mlflow server starts uvicorn workers, and stop() ends the whole group.
  const child: ChildProcess = spawn(
    MLFLOW,
    [
      'server',
      '--backend-store-uri',
      `sqlite:///${path.join(dir, 'mlflow.db')}`,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
    ],
    { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_PYTHON_REFRESH: 'quiet' } },
  );
  child.stdout!.on('data', (d) => (log += String(d)));
  child.stderr!.on('data', (d) => (log += String(d)));
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mlflow server exited (${child.exitCode}):\n${log}`);
    const ok = await fetch(`${url}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return { url, dbPath: path.join(dir, 'mlflow.db'), stop };
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`mlflow server did not answer /health within 60 s:\n${log}`);
}

/** Runs mlflow-server.py (populate | read) with the real mlflow client and returns its JSON. */
export function mlflowScript<T = any>(...args: string[]): T {
  const out = execFileSync(PYTHON, [SCRIPT, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
    env: { ...process.env, GIT_PYTHON_REFRESH: 'quiet' },
  });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/** An HTTP server that is not MLflow: answers every request with `status`, `body` and `type`, and counts them. */
export async function notMlflowServer(
  status: number,
  body: string,
  type: string,
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

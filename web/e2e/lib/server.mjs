// Starts the real server binary over a fresh PostgreSQL database, serving
// the built web client, and tears both down afterwards.
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const webDir = resolve(here, '../..');
export const repoDir = resolve(webDir, '..');
export const artifactsDir = join(webDir, 'e2e/artifacts');

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function psql(url, sql) {
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function withDatabase(url, name) {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/**
 * A fresh, migrated database for this server (`request-desk local-db --test
 * --new-database`: cloned from a template migrated once, on DATABASE_URL's
 * server when set, else on the project's local test cluster); its URL.
 */
function newDatabase(binary) {
  const out = execFileSync(binary, ['local-db', '--test', '--new-database', '--prefix', 'e2e'], {
    encoding: 'utf8',
    cwd: repoDir,
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  const match = out.match(/postgres(?:ql)?:\/\/\S+/g);
  if (!match) throw new Error(`request-desk local-db --new-database printed no URL:\n${out}`);
  return match[match.length - 1];
}

async function waitReady(base, child, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  let delay = 25;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}; see ${artifactsDir}/server.log`);
    try {
      const response = await fetch(`${base}/health/ready`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
  throw new Error(`the server was not ready within ${deadlineMs} ms`);
}

/**
 * `env` adds to the server's environment (e.g. `HOLD_TTL_SECONDS` for an
 * instance with short holds); `port` fixes the port (else a free one);
 * `logName` names its log in e2e/artifacts.
 */
export async function startServer({ env = {}, port: fixedPort, logName } = {}) {
  const binary = process.env.REQUEST_DESK_BIN ?? join(repoDir, 'target/debug/request-desk');
  const dist = join(webDir, 'dist');
  if (!existsSync(binary)) throw new Error(`no server binary at ${binary}: run \`cargo build --bin request-desk\``);
  if (!existsSync(join(dist, 'index.html'))) throw new Error(`no web build in ${dist}: run \`npm run build\``);
  mkdirSync(artifactsDir, { recursive: true });

  const databaseUrl = newDatabase(binary);
  const dbName = new URL(databaseUrl).pathname.slice(1);
  const admin = withDatabase(databaseUrl, 'postgres');

  const port = fixedPort ?? (await freePort());
  const base = `http://127.0.0.1:${port}`;
  const log = createWriteStream(
    join(artifactsDir, logName ?? (Object.keys(env).length ? 'server-custom-env.log' : 'server.log')),
  );
  const child = spawn(binary, [], {
    cwd: repoDir,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      BIND_ADDR: `127.0.0.1:${port}`,
      JWT_SECRET: randomBytes(24).toString('hex'),
      SEED_DEMO: 'true',
      WEB_DIST_DIR: dist,
      RUST_LOG: process.env.RUST_LOG ?? 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);

  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    try {
      psql(admin, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    } catch (error) {
      console.warn(`could not drop ${dbName}: ${error.stderr ?? error}`);
    }
  };

  try {
    await waitReady(base, child, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, dbName, stop };
}

// Servers for Sesame's browser journeys: an SMTP sink that records every
// message, and the Sesame binary on a free port with a fresh SQLite database,
// or a fresh PostgreSQL one (see harness.mjs, which starts both for each test).
//
// Environment:
//   SESAME_BIN           the server binary (default ../../target/debug/sesame)
//   SESAME_E2E_POSTGRES_URL  a PostgreSQL server's URL (e.g.
//                        postgres://postgres@127.0.0.1:5432/postgres): each
//                        Sesame gets a database of its own made there, and
//                        dropped when it stops, instead of SQLite
//   SESAME_E2E_SERVE_WEB=1  serve web/ from this harness and pass the API
//                        through to the server (for working on the pages
//                        before the server embeds them; off by default)

import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.join(HERE, 'artifacts');
const WEB_DIR = path.resolve(HERE, '..', '..', 'web');

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fs.mkdirSync(ARTIFACTS, { recursive: true });

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function safeName(name) {
  return String(name).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80) || 'test';
}

// ---------------------------------------------------------------- PostgreSQL

/** Runs one statement on the server SESAME_E2E_POSTGRES_URL names. */
async function onPostgres(sql) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: process.env.SESAME_E2E_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new, empty database on that server: its name and its URL. */
async function createPgDatabase() {
  const name = `sesame_e2e_${crypto.randomUUID().replaceAll('-', '')}`;
  await onPostgres(`CREATE DATABASE ${name}`);
  const url = new URL(process.env.SESAME_E2E_POSTGRES_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

// ---------------------------------------------------------------- SMTP sink

/** Starts an SMTP server on 127.0.0.1:<free port> that keeps every message. */
export async function startSmtp() {
  const messages = [];
  const waiters = new Set();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    // Don't wait 30 s at the end for a client that has not closed its connection yet.
    closeTimeout: 500,
    onData(stream, session, callback) {
      simpleParser(stream).then((mail) => {
        messages.push({
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          from: session.envelope.mailFrom && session.envelope.mailFrom.address,
          subject: mail.subject || '',
          text: mail.text || '',
          html: typeof mail.html === 'string' ? mail.html : '',
          consumed: false,
        });
        for (const wake of waiters) wake();
        callback();
      }, callback);
    },
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.server.address();

  /** The next message to `to` not yet returned by waitForMail. */
  async function waitForMail(to, { timeoutMs = 15_000 } = {}) {
    const address = to.toLowerCase();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = messages.find((m) => !m.consumed && m.to.includes(address));
      if (found) {
        found.consumed = true;
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no email to ${to} within ${timeoutMs} ms (got ${messages.length} messages in all)`);
      await new Promise((resolve) => {
        const wake = () => {
          waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 250));
        waiters.add(wake);
      });
    }
  }

  return {
    port,
    messages,
    waitForMail,
    /**
     * Waits for the next mail to `to` that carries a 6-digit code and returns
     * the code; mails without one (security notices) are passed over.
     */
    async waitForCode(to, { timeoutMs = 15_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      const skipped = [];
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no email with a code to ${to}; passed over: ${skipped.join(' | ') || 'none'}`);
        const mail = await waitForMail(to, { timeoutMs: left });
        const match = `${mail.subject}\n${mail.text}`.match(/\b(\d{6})\b/);
        if (match) return match[1];
        skipped.push(mail.subject);
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// ---------------------------------------------------------------- Sesame

/** Serves web/ like the server will, and passes everything else to it. */
async function startWebFront(port, backendPort) {
  const pages = { '/signup': 'signup.html', '/login': 'login.html', '/account': 'account.html' };
  const types = {
    '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
    '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json',
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    let file = null;
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(303, { Location: '/account', 'Content-Security-Policy': CSP });
      res.end();
      return;
    }
    if (req.method === 'GET' && pages[url.pathname]) file = pages[url.pathname];
    else if (req.method === 'GET' && url.pathname.startsWith('/assets/') && !url.pathname.includes('..')) {
      file = url.pathname.slice(1);
    }
    if (file) {
      const full = path.join(WEB_DIR, file);
      fs.readFile(full, (err, body) => {
        if (err) {
          res.writeHead(404, { 'Content-Type': 'application/json' });
          res.end('{"error":"not_found"}');
          return;
        }
        res.writeHead(200, {
          'Content-Type': types[path.extname(full)] || 'application/octet-stream',
          'Content-Security-Policy': CSP,
          'X-Content-Type-Options': 'nosniff',
          'Cache-Control': 'no-cache',
        });
        res.end(body);
      });
      return;
    }
    const upstream = http.request({
      host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers: req.headers,
    }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

/**
 * Starts the Sesame binary (a private copy of it: the debug binary may be
 * rebuilt while tests run) on a free port with a fresh database. The returned
 * `clock` moves the server's time (a debug build's SESAME_TEST_CLOCK_FILE).
 */
export async function startSesame({ name = 'sesame', smtpPort, env = {} } = {}) {
  const source = process.env.SESAME_BIN || path.resolve(HERE, '..', '..', 'target', 'debug', 'sesame');
  if (!fs.existsSync(source)) throw new Error(`Sesame binary not found at ${source}: build it (cargo build) or set SESAME_BIN`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-e2e-'));
  const bin = path.join(dir, 'sesame');
  fs.copyFileSync(source, bin);
  fs.chmodSync(bin, 0o755);

  const clockFile = path.join(dir, 'clock');
  let clockOffsetSecs = 0;
  const clock = {
    /** Moves the server's time on by `secs` seconds; it takes effect at the server's next reading. */
    advance(secs) {
      clockOffsetSecs += secs;
      // Written aside and renamed: the server never reads a half-written file.
      fs.writeFileSync(`${clockFile}.new`, String(clockOffsetSecs));
      fs.renameSync(`${clockFile}.new`, clockFile);
    },
    /** The server's time now, in milliseconds since the Unix epoch. */
    now: () => Date.now() + clockOffsetSecs * 1000,
  };

  const postgres = process.env.SESAME_E2E_POSTGRES_URL ? await createPgDatabase() : null;
  const port = await freePort();
  const serveWeb = process.env.SESAME_E2E_SERVE_WEB === '1';
  const webPort = serveWeb ? await freePort() : port;
  const url = `http://localhost:${webPort}`;

  const childEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SESAME_')) childEnv[key] = value; // no stray settings from the shell
  }
  Object.assign(childEnv, {
    SESAME_LISTEN: `127.0.0.1:${port}`,
    SESAME_ORIGIN: url,
    SESAME_RP_ID: 'localhost',
    SESAME_DATABASE_URL: postgres ? postgres.url : `sqlite://${path.join(dir, 'sesame.db')}`,
    SESAME_DATA_DIR: dir,
    SESAME_MAIL_FROM: 'sesame@localhost',
    SESAME_IP_RATE_LIMIT: 'off',
    // The server's clock: the real time plus the seconds in this file (debug builds only),
    // so a test moves time with advanceClock instead of sleeping.
    SESAME_TEST_CLOCK_FILE: clockFile,
  });
  if (smtpPort) childEnv.SESAME_SMTP_URL = `smtp://127.0.0.1:${smtpPort}?tls=none`;
  Object.assign(childEnv, env);

  const logPath = path.join(ARTIFACTS, `${safeName(name)}-server.log`);
  const log = fs.openSync(logPath, 'w');
  const child = spawn(bin, [], { env: childEnv, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });

  const front = serveWeb ? await startWebFront(webPort, port) : null;

  /** Runs an admin command (`sesame account …`) on this server's database; its stdout. */
  const admin = (args) =>
    new Promise((resolve, reject) => {
      execFile(bin, args, { env: childEnv }, (err, stdout, stderr) => {
        if (err) reject(new Error(`sesame ${args.join(' ')} failed: ${stderr}`));
        else resolve(stdout);
      });
    });

  const stop = async () => {
    if (front) await new Promise((resolve) => front.close(resolve));
    if (!exited) {
      child.kill('SIGTERM');
      for (let i = 0; i < 50 && !exited; i += 1) await sleep(100);
      if (!exited) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
    if (postgres) await onPostgres(`DROP DATABASE IF EXISTS ${postgres.name} WITH (FORCE)`);
  };

  // Wait for readiness: at most 300 tries, 100 ms apart.
  for (let attempt = 0; attempt < 300; attempt += 1) {
    if (exited) {
      const text = fs.readFileSync(logPath, 'utf8');
      await stop();
      throw new Error(`Sesame exited during start-up (${JSON.stringify(exited)}):\n${text.slice(-3000)}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (response.status === 200) return { url, port, dir, logPath, clock, admin, stop };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`Sesame was not ready within 30 s; see ${logPath}`);
}

// Shared helpers for the browser tests: the real server binary on a free port
// with a temporary database, Debian's Chromium driven by playwright-core, and
// the tests' output folder (tests/out, gitignored).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '..', '..');
export const OUT = join(ROOT, 'tests', 'out');
export const BIN = process.env.SCRATCHNET_BIN || join(ROOT, 'build', 'scratchnet');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/* The flags a root user on a closed-network CI machine needs. Playwright adds
 * its own headless flags; the profile folder is passed as userDataDir. */
const CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-quic',
];

export function outPath(name) {
    mkdirSync(OUT, { recursive: true });
    return join(OUT, name);
}

/* Starts build/scratchnet on a free port and resolves once it prints
 * "scratchnet listening on http://HOST:PORT". extra: more flags. */
export async function startServer(extra = []) {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run make first`);
    const dir = mkdtempSync(join(tmpdir(), 'scratchnet-browser-'));
    const args = ['--port', '0', '--bind', '127.0.0.1', '--db', join(dir, 'test.db'), ...extra];
    const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const url = await new Promise((resolveUrl, reject) => {
        const timer = setTimeout(() => reject(new Error('the server did not say where it listens:\n' + log)), 10000);
        const onData = (chunk) => {
            log += chunk;
            const m = /scratchnet listening on (http:\/\/[^\s]+)/.exec(log);
            if (m) { clearTimeout(timer); resolveUrl(m[1]); }
        };
        proc.stdout.on('data', onData);
        proc.stderr.on('data', (c) => { log += c; });
        proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}):\n${log}`)); });
    });
    return {
        url,
        log: () => log,
        async stop() {
            if (proc.exitCode === null) {
                const gone = new Promise((r) => proc.once('exit', r));
                proc.kill('SIGTERM');
                const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
                await gone;
                clearTimeout(t);
            }
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

/* A fresh Chromium profile in a temporary folder; resolves {context, page, close}. */
export async function startBrowser() {
    const profile = mkdtempSync(join(tmpdir(), 'scratchnet-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1360, height: 900 },
        deviceScaleFactor: 1,
    });
    const page = context.pages()[0] || await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => {
        if (m.type() !== 'error') return;
        /* The page asks GET /dataset to learn whether datasets exist; a 404 is an answer. */
        if (/Failed to load resource/.test(m.text()) && /\/dataset$/.test(m.location().url || '')) return;
        problems.push('console error: ' + m.text() + ' ' + (m.location().url || ''));
    });
    return {
        context, page, problems,
        async close() {
            await context.close().catch(() => {});
            rmSync(profile, { recursive: true, force: true });
        },
    };
}

/* A tiny HTTP server for static pages: routes maps a path to HTML. */
export async function startStatic(routes) {
    const server = http.createServer((req, res) => {
        const body = routes[req.url.split('?')[0]];
        if (body === undefined) { res.writeHead(404); res.end('not found'); return; }
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(typeof body === 'function' ? body(req) : body);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address();
    return {
        port,
        origin: `http://127.0.0.1:${port}`,
        stop: () => new Promise((r) => server.close(r)),
    };
}

/* A request from Node (no browser, no CORS): resolves {status, headers, body}. */
export function request(method, url, body, headers = {}) {
    return new Promise((resolveRes, reject) => {
        const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
        const req = http.request(url, {
            method,
            headers: {
                ...(data !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}),
                ...headers,
            },
        }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c) => { text += c; });
            res.on('end', () => {
                let json = null;
                try { json = JSON.parse(text); } catch { /* not JSON */ }
                resolveRes({ status: res.statusCode, headers: res.headers, text, json });
            });
        });
        req.on('error', reject);
        if (data !== undefined) req.write(data);
        req.end();
    });
}

/* The seed's training request. */
export const SEED_TRAIN = {
    model: 'gender', layers: [2, 2, 1], init: 'normal', seed: 42,
    inputs: [[-2, -1], [25, 6], [17, 4], [-15, -6]],
    targets: [[1], [0], [0], [1]],
};

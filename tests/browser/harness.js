// The browser tests' harness: keiyaku's debug binary on a free loopback port with a fresh
// data dir, Debian's Chromium driven by playwright-core, and a page watcher that fails the
// test on any page error, console error, CSP violation, failed request, 5xx, or 4xx the step
// did not declare. Screenshots and axe-core's verdicts are written under
// tests/.cache/browser (test artefacts).
import { createHmac } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import english from '../../web/assets/i18n/en.js';
import japanese from '../../web/assets/i18n/ja.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTEFACTS = join(ROOT, 'tests', '.cache', 'browser');
const KEIYAKU = process.env.KEIYAKU_BIN || join(ROOT, 'target', 'debug', 'keiyaku');
const AXE = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

export const DESKTOP = { width: 1280, height: 800 };
// The password of the accounts the tests make.
export const PASSWORD = 'violet-harbour-tunnel-42';
export const PHONE = { width: 390, height: 844 };
const NARROWEST = { width: 320, height: 640 };

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// The local shape on loopback with a fresh data dir.
export async function startServer(args = []) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'keiyaku-browser-'));
  const url = `http://127.0.0.1:${port}`;
  const log = [];
  const child = spawn(KEIYAKU, ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir, ...args], {
    env: { ...process.env, KEIYAKU_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  for (let i = 0; i < 200; i += 1) {
    try {
      const r = await fetch(`${url}/api/v1/openapi.json`);
      if (r.ok) break;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null) throw new Error(`keiyaku exited: ${log.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dataDir,
    log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// The server in-process with a test clock (the tests crate's keiyaku-clocked-server):
// `advance(seconds)` moves its time, runs what fell due and waits for the workflow.
export async function startClockedServer() {
  const child = spawn(join(dirname(KEIYAKU), 'keiyaku-clocked-server'), [], {
    env: { ...process.env, KEIYAKU_LOG: 'warn' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = [];
  const waiting = [];
  let buffer = '';
  child.stdout.on('data', (d) => {
    buffer += String(d);
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (waiting.length) waiting.shift()(line);
      else lines.push(line);
    }
  });
  const next = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => waiting.push(r)));
  const hello = JSON.parse(await next());
  const ask = async (command) => {
    child.stdin.write(`${command}\n`);
    const answer = await next();
    if (answer.startsWith('error')) throw new Error(answer);
    return new Date(answer);
  };
  return {
    url: hello.url,
    dataDir: hello.data_dir,
    now: () => ask('now'),
    advance: (seconds) => ask(`advance ${Math.round(seconds)}`),
    tsa: (state) => ask(`tsa ${state}`),
    async stop() {
      child.stdin.end();
      await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
    },
  };
}

// A server (`start`: startServer or startClockedServer) and a browser for a test file's
// tests: started before the first, stopped after the last.
export function serverAndBrowser(start = startServer) {
  const env = {};
  before(async () => {
    env.server = await start();
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A browser context (its own cookies) whose pages are watched. `expect(method, path, status)`
// declares a 4xx the next steps may meet; anything else undeclared fails `check()`.
export async function open(browser, server, { locale = 'ja-JP', viewport = DESKTOP, timezoneId = 'Asia/Tokyo', ...options } = {}) {
  const context = await browser.newContext({ locale, viewport, timezoneId, ...options });
  const problems = [];
  const declared = [];
  let offline = false;
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Chromium reports every non-2xx fetch on the console: those are judged by status below.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
  });
  // Requests made while the test cut the network fail as they should, whenever they end.
  const madeOffline = new WeakSet();
  page.on('request', (r) => {
    if (offline) madeOffline.add(r);
  });
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText || '';
    // A navigation away aborts what the old page was still loading.
    if (why !== 'net::ERR_ABORTED' && !offline && !madeOffline.has(r)) problems.push(`request failed: ${r.method()} ${r.url()} ${why}`);
  });
  page.on('response', (r) => {
    const status = r.status();
    if (status < 400) return;
    const path = new URL(r.url()).pathname;
    const method = r.request().method();
    const i = declared.findIndex((d) => d.status === status && d.method === method && (d.path instanceof RegExp ? d.path.test(path) : d.path === path));
    if (status < 500 && i >= 0) {
      if (!declared[i].sticky) declared.splice(i, 1);
      return;
    }
    problems.push(`undeclared ${status}: ${method} ${path}`);
  });
  // Content-Security-Policy violations, as the page itself sees them.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  // Before any login, the page asks who it is: anonymous is a 401.
  declared.push({ method: 'GET', path: '/api/v1/me', status: 401, sticky: true });
  return {
    context,
    page,
    server,
    problems,
    // Cuts the network (requests fail as they would on a train in a tunnel) or restores it.
    async setOffline(on) {
      offline = on;
      await context.setOffline(on);
    },
    expect(method, path, status, sticky = false) {
      declared.push({ method, path, status, sticky });
    },
    check() {
      assert.deepEqual(problems, [], `problems on the page:\n${problems.join('\n')}`);
    },
    async close() {
      await context.close();
    },
  };
}

// The shown screen is ready (the client marks performance 'ready' after each screen).
export async function ready(page) {
  await page.waitForFunction(() => performance.getEntriesByName('ready').length > 0 && !document.querySelector('[aria-busy="true"]'));
  await page.evaluate(() => performance.clearMarks('ready'));
}

// axe-core on the page as it stands: no serious or critical violation.
export async function accessible(page, label) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'], rules: { 'target-size': { enabled: true } } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe-core on ${label}: ${JSON.stringify(bad, null, 1)}`);
}

// A screenshot of the current screen, kept as a test artefact.
export async function shot(page, name) {
  mkdirSync(ARTEFACTS, { recursive: true });
  const lang = await page.evaluate(() => document.documentElement.lang);
  const { width, height } = page.viewportSize();
  await page.screenshot({ path: join(ARTEFACTS, `${name}-${lang}-${width}x${height}.png`), fullPage: true });
}

// The page's own words (not user data, marked translate="no"; not what is in another
// language, marked with its lang; not what was typed), as shown.
async function ownWords(page) {
  return page.evaluate(() => {
    const lang = document.documentElement.lang;
    const foreign = (el) => el.closest('[translate="no"], noscript, input, textarea, select') || (el.closest('[lang]') && el.closest('[lang]').lang !== lang);
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) if (!foreign(n.parentElement)) out.push(n.textContent);
    for (const el of document.querySelectorAll('[aria-label], [placeholder], [title]')) {
      if (!foreign(el)) out.push(el.getAttribute('aria-label') || '', el.getAttribute('placeholder') || '', el.getAttribute('title') || '');
    }
    // The tab's title is the screen's heading, user data when the heading is.
    const heading = document.querySelector('main h1');
    if (!heading || !foreign(heading)) out.push(document.title.replace(/ — keiyaku$/, ''));
    return { lang, text: out.join('\n') };
  });
}

// English shows no Japanese outside user data; Japanese shows none of the English
// catalogue's sentences.
async function oneLanguage(page, name) {
  const { lang, text } = await ownWords(page);
  if (lang === 'en') {
    const found = text.match(/[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]+/g);
    assert.equal(found, null, `${name}: Japanese in English mode: ${found}`);
  } else {
    const found = Object.entries(english).filter(([k, v]) => v !== japanese[k] && v.length >= 10 && v.includes(' ') && text.includes(v.split('{')[0].trim() || v));
    assert.deepEqual(found, [], `${name}: English in Japanese mode`);
  }
}

async function judgeHere(page, name) {
  await oneLanguage(page, name);
  await accessible(page, name);
  const original = page.viewportSize();
  // The narrowest phones (320 px) are checked for sideways scrolling, not shot.
  for (const size of [DESKTOP, PHONE, NARROWEST]) {
    await page.setViewportSize(size);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name} scrolls sideways at ${size.width} px (${overflow} px)`);
    if (size !== NARROWEST) await shot(page, name);
  }
  await page.setViewportSize(original);
}

// Every screen state worth seeing, in both languages (switched by the menu's button and
// back; a state with a dialog open only in its own): judged by axe-core and for words of
// the other language, then shot at both sizes.
export async function judgeScreen(page, name) {
  await judgeHere(page, name);
  if (await page.locator('dialog[open]').count()) return;
  const toggle = page.locator('#nav button[lang]');
  const before = await page.evaluate(() => document.documentElement.lang);
  for (const back of [false, true]) {
    await toggle.click();
    await page.waitForFunction(([l, b]) => (document.documentElement.lang === l) === b, [before, back]);
    if (!back) await judgeHere(page, name);
  }
}

// The mails in the data dir's maildir, oldest first: { to, subject, text }.
export function mails(dataDir) {
  const dir = join(dataDir, 'mail', 'new');
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ n, t: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => a.t - b.t || a.n.localeCompare(b.n))
    .map(({ n }) => parseMail(readFileSync(join(dir, n), 'latin1')));
}

function splitMessage(raw) {
  const at = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, at).replace(/\r?\n[ \t]+/g, ' ');
  const body = raw.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function decodeBody(headers, body) {
  const cte = (headers['content-transfer-encoding'] || '').toLowerCase();
  if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (cte === 'quoted-printable') {
    const bytes = Buffer.from(body.replace(/=\r?\n/g, ''), 'latin1').toString('latin1').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return Buffer.from(body, 'latin1').toString('utf8');
}

function textOf(headers, body) {
  const type = headers['content-type'] || 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type);
  if (type.toLowerCase().startsWith('multipart/') && boundary) {
    const parts = body.split(`--${boundary[1]}`).slice(1, -1);
    return parts
      .map((p) => splitMessage(p.replace(/^\r?\n/, '')))
      .map((p) => textOf(p.headers, p.body))
      .filter(Boolean)
      .join('\n');
  }
  return type.toLowerCase().startsWith('text/plain') ? decodeBody(headers, body) : '';
}

function parseMail(raw) {
  const { headers, body } = splitMessage(raw);
  return { to: headers.to, subject: headers.subject, text: textOf(headers, body) };
}

// The first link to `path` (and its fragment) in the newest mail to `to`, waiting for it.
export async function mailedLink(dataDir, to, path) {
  const re = new RegExp(`https?://[^\\s]+${path.replace(/[/.]/g, '\\$&')}[^\\s]*`);
  for (let i = 0; i < 100; i += 1) {
    const mail = mails(dataDir).filter((m) => m.to && m.to.includes(to)).reverse().find((m) => re.test(m.text));
    if (mail) return re.exec(mail.text)[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to} with a link to ${path}`);
}

export const FIXTURE_PDF = join(ROOT, 'tests', 'fixtures', 'pdf', 'valid_table.pdf');
export const KEIYAKU_BIN = KEIYAKU;

// An account made over the API (signed up and confirmed from the maildir), for the parties a
// test does not click through sign-up with.
export async function account(server, email, name, password) {
  const r = await fetch(`${server.url}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, name, password }),
  });
  assert.equal(r.status, 202);
  const link = await mailedLink(server.dataDir, email, '/verify-email#');
  const token = link.slice(link.indexOf('#') + 1);
  const v = await fetch(`${server.url}/api/v1/auth/verify-email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  assert.equal(v.status, 200);
}

// A bearer token for `email` (login in token mode), for the API calls a test makes itself.
export async function apiToken(server, email) {
  const r = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, mode: 'token' }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

// `path` of the API called with `bearer`; the decoded answer, after checking its status.
export async function apiCall(server, bearer, method, path, body, status = 200) {
  const pdf = Buffer.isBuffer(body);
  const r = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': pdf ? 'application/pdf' : 'application/json' },
    body: pdf ? body : body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(r.status, status, `${method} ${path}: ${await r.clone().text()}`);
  return r.status === 204 ? null : r.json();
}

// A draft of the fixture PDF titled `title`; its id.
export async function uploadPdf(server, bearer, title) {
  const doc = await apiCall(server, bearer, 'POST', `/documents?title=${encodeURIComponent(title)}&filename=c.pdf`, readFileSync(FIXTURE_PDF), 201);
  return doc.id;
}

// Logs in through the login screen.
export async function logIn(page, server, email, password) {
  await page.goto(`${server.url}/login`);
  await ready(page);
  await page.getByLabel('メールアドレス').fill(email);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.getByRole('heading', { name: '文書' }).waitFor();
  await ready(page);
}

// Scrolls through every page of the document shown, to the end of the last.
export async function readToTheEnd(page) {
  const pages = page.locator('figure.page');
  const n = await pages.count();
  for (let i = 0; i < n; i += 1) {
    await pages.nth(i).scrollIntoViewIfNeeded();
    await pages.nth(i).locator('img').evaluate((img) => (img.complete && img.naturalWidth ? null : new Promise((r) => img.addEventListener('load', r, { once: true }))));
  }
  await page.locator('.end-of-document').scrollIntoViewIfNeeded();
}

// Moves the focus with Tab (Shift+Tab when `back`) until it is on `locator`'s element: what a
// keyboard-only user can reach. Fails when it is not reached in `max` presses.
export async function tabTo(page, locator, { back = false, max = 80 } = {}) {
  const target = await locator.elementHandle();
  for (let i = 0; i < max; i += 1) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    // Focus moves scroll pages into view; give the page a moment to react.
    await page.waitForTimeout(20);
  }
  throw new Error(`not reachable by ${back ? 'Shift+' : ''}Tab: ${locator}`);
}

// RFC 4648 base32, as the key is shown for typing into an app.
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = [...text.replace(/=+$/, '')].map((c) => alphabet.indexOf(c).toString(2).padStart(5, '0')).join('');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// The code an authenticator app shows at `at` (RFC 6238: HMAC-SHA1, 30 s, six digits),
// computed here independently of the server's implementation.
export function totp(key, at) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(Math.floor(at.getTime() / 30_000)));
  const mac = createHmac('sha1', base32(key)).update(message).digest();
  const offset = mac[19] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

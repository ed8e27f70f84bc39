// The browser client's benchmark (tests/bench; not a test): for the documents list (50
// documents) and the recipient page, each with a cold cache — bytes over the wire
// (compressed), requests, the depth of the module import graph, and the time to
// performance.mark('ready') on loopback and under Chromium's emulation of a phone network
// (150 ms round trip, 1.6 Mbps, CPU 4× slower). The floor is the same browser loading one
// tiny file under the same conditions. Targets: ≤ 150 KB compressed, ≤ 3 s emulated.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launch, account, mailedLink, FIXTURE_PDF } from './harness.js';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'assets');
const PASSWORD = 'violet-harbour-tunnel-42';
const PHONE_NETWORK = { offline: false, latency: 150, downloadThroughput: (1.6e6 / 8), uploadThroughput: (750e3 / 8) };

// The longest chain of static imports from app.js (each level is a round trip).
function importDepth(file, seen = new Set()) {
  if (seen.has(file)) return 0;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  const deps = [...source.matchAll(/^import [^'"]*['"](\.[^'"]+)['"]/gm)].map((m) => resolve(dirname(file), m[1]));
  const depth = 1 + Math.max(0, ...deps.map((d) => importDepth(d, new Set(seen))));
  return depth;
}

async function measure(browser, { url, network, login }) {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 390, height: 844 } });
  if (login) {
    const r = await context.request.post(`${login.server}/api/v1/auth/login`, { data: { email: login.email, password: PASSWORD } });
    if (!r.ok()) throw new Error(`login: ${r.status()}`);
  }
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (network) {
    await cdp.send('Network.emulateNetworkConditions', PHONE_NETWORK);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  }
  let bytes = 0;
  let requests = 0;
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    requests += 1;
  });
  const start = Date.now();
  await page.goto(url);
  const ready = await page.waitForFunction(() => performance.getEntriesByName('ready')[0]?.startTime, null, { timeout: 60_000, polling: 50 }).then((h) => h.jsonValue());
  const wall = Date.now() - start;
  await context.close();
  return { bytes, requests, ready: ready ?? wall };
}

async function floor(browser, server, network) {
  const runs = [];
  for (let i = 0; i < 3; i += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    if (network) {
      await cdp.send('Network.emulateNetworkConditions', PHONE_NETWORK);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    }
    const start = Date.now();
    await page.goto(`${server.url}/assets/icon.svg`);
    runs.push(Date.now() - start);
    await context.close();
  }
  return Math.min(...runs);
}

const server = await startServer();
const browser = await launch();
try {
  await account(server, 'bench@example.jp', 'ベンチ 太郎', PASSWORD);
  const login = await fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.jp', password: PASSWORD, mode: 'token' }) });
  const { token } = await login.json();
  const pdf = readFileSync(FIXTURE_PDF);
  let last;
  for (let i = 1; i <= 50; i += 1) {
    const r = await fetch(`${server.url}/api/v1/documents?title=${encodeURIComponent(`契約書 ${i}`)}&filename=c${i}.pdf`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/pdf' }, body: pdf });
    last = (await r.json()).id;
  }
  const sent = await fetch(`${server.url}/api/v1/documents/${last}/send`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ recipients: [{ name: '山田 花子', email: 'hanako.bench@example.jp' }] }) });
  if (!sent.ok) throw new Error(`send: ${sent.status}`);
  const link = await mailedLink(server.dataDir, 'hanako.bench@example.jp', '/r/#');

  const modules = readdirSync(WEB, { recursive: true }).filter((f) => f.endsWith('.js')).length;
  console.log(`module import depth from app.js: ${importDepth(join(WEB, 'app.js'))} (${modules} modules)`);
  const floors = { loopback: await floor(browser, server, false), phone: await floor(browser, server, true) };
  console.log(`floor (one tiny file): loopback ${floors.loopback} ms, emulated phone network ${floors.phone} ms`);
  const scenarios = [
    ['documents list (50 documents, 20 shown)', `${server.url}/documents?tab=draft`, { server: server.url, email: 'bench@example.jp' }],
    ['recipient page', link, null],
  ];
  for (const [name, url, loginAs] of scenarios) {
    for (const [label, network] of [['loopback', false], ['phone network', true]]) {
      const runs = [];
      for (let i = 0; i < 3; i += 1) runs.push(await measure(browser, { url, network, login: loginAs }));
      runs.sort((a, b) => a.ready - b.ready);
      const m = runs[1];
      const f = network ? floors.phone : floors.loopback;
      console.log(`${name}, ${label}: ${(m.bytes / 1024).toFixed(1)} KB over the wire, ${m.requests} requests, ready at ${Math.round(m.ready)} ms (median of 3; ${(m.ready / f).toFixed(1)}× the floor)${network ? ` — targets: ≤ 150 KB, ≤ 3000 ms` : ''}`);
    }
  }
} finally {
  await browser.close();
  await server.stop();
}

// Time, with the server's clock moved (the tests crate's keiyaku-clocked-server): dates just
// before and after midnight UTC read in each viewer's zone, and a link past its deadline
// gets a page that says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, ready, judgeScreen, mailedLink, account, logIn, FIXTURE_PDF, serverAndBrowser, PASSWORD, startClockedServer } from './harness.js';
import { readFileSync } from 'node:fs';

const env = serverAndBrowser(startClockedServer);

const WEEKDAYS = ['日', '月', '火', '水', '木', '金', '土'];

// `at` as a viewer `offset` hours from UTC reads it, computed without Intl.
function expected(at, offset, zone) {
  const d = new Date(at.getTime() + offset * 3600 * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}(${WEEKDAYS[d.getUTCDay()]}) ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} ${zone}`;
}

async function token(server, email) {
  const r = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, mode: 'token' }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

async function upload(server, bearer, title) {
  const r = await fetch(`${server.url}/api/v1/documents?title=${encodeURIComponent(title)}&filename=c.pdf`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/pdf' },
    body: readFileSync(FIXTURE_PDF),
  });
  assert.equal(r.status, 201);
  return (await r.json()).id;
}

test('dates around midnight UTC read in the viewer\'s zone', async () => {
  const { server, browser } = env;
  await account(server, 'midnight@example.jp', '深夜 太郎', PASSWORD);
  const bearer = await token(server, 'midnight@example.jp');
  const now = await server.now();
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  const before = await server.advance((midnight - 30_000 - now.getTime()) / 1000);
  await upload(server, bearer, '深夜前の契約書');
  const after = await server.advance(60);
  await upload(server, bearer, '深夜後の契約書');
  for (const [timezoneId, offset, zone] of [['Asia/Tokyo', 9, 'JST'], ['UTC', 0, 'UTC']]) {
    const w = await open(browser, server, { timezoneId });
    await logIn(w.page, server, 'midnight@example.jp', PASSWORD);
    await w.page.goto(`${server.url}/documents?tab=draft`);
    await ready(w.page);
    for (const [title, at] of [['深夜前の契約書', before], ['深夜後の契約書', after]]) {
      const row = w.page.locator('ul.documents li', { hasText: title });
      assert.equal(await row.locator('time').textContent(), expected(at, offset, zone), `${title} in ${timezoneId}`);
    }
    if (timezoneId === 'UTC') await judgeScreen(w.page, 'documents-midnight');
    w.check();
    await w.close();
  }
});

test('a link past its deadline says so', async () => {
  const { server, browser } = env;
  await account(server, 'deadline@example.jp', '期限 太郎', PASSWORD);
  const bearer = await token(server, 'deadline@example.jp');
  const id = await upload(server, bearer, '期限のある契約書');
  const now = await server.now();
  const r = await fetch(`${server.url}/api/v1/documents/${id}/send`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      recipients: [{ name: '山田 花子', email: 'hanako.deadline@example.jp' }],
      expires_at: new Date(now.getTime() + 2 * 3600 * 1000).toISOString(),
    }),
  });
  assert.equal(r.status, 200);
  const link = await mailedLink(server.dataDir, 'hanako.deadline@example.jp', '/r/#');
  await server.advance(3 * 3600);

  const w = await open(browser, server);
  await w.page.goto(link);
  await w.page.getByText(/回答期限を過ぎました|有効期限が切れています/).first().waitFor();
  await ready(w.page);
  assert.equal(await w.page.getByRole('button', { name: '同意する' }).count(), 0);
  await judgeScreen(w.page, 'recipient-expired');
  w.check();
  await w.close();

  const s = await open(browser, server);
  await logIn(s.page, server, 'deadline@example.jp', PASSWORD);
  await s.page.goto(`${server.url}/documents?tab=closed`);
  await ready(s.page);
  await s.page.locator('ul.documents li', { hasText: '期限のある契約書' }).getByText('期限切れ').waitFor();
  s.check();
  await s.close();
});

// Time, with the server's clock moved (the tests crate's keiyaku-clocked-server): dates just
// before and after midnight UTC read in each viewer's zone, and a link past its deadline
// gets a page that says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { open, ready, judgeScreen, mailedLink, account, logIn, serverAndBrowser, PASSWORD, startClockedServer, apiToken, apiCall, uploadPdf, KEIYAKU_BIN } from './harness.js';

const env = serverAndBrowser(startClockedServer);

const WEEKDAYS = ['日', '月', '火', '水', '木', '金', '土'];

// `at` as a viewer `offset` hours from UTC reads it, computed without Intl.
function expected(at, offset, zone) {
  const d = new Date(at.getTime() + offset * 3600 * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}(${WEEKDAYS[d.getUTCDay()]}) ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} ${zone}`;
}

test('dates around midnight UTC read in the viewer\'s zone', async () => {
  const { server, browser } = env;
  await account(server, 'midnight@example.jp', '深夜 太郎', PASSWORD);
  const bearer = await apiToken(server, 'midnight@example.jp');
  const now = await server.now();
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  const before = await server.advance((midnight - 30_000 - now.getTime()) / 1000);
  await uploadPdf(server, bearer, '深夜前の契約書');
  const after = await server.advance(60);
  await uploadPdf(server, bearer, '深夜後の契約書');
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
  const bearer = await apiToken(server, 'deadline@example.jp');
  const id = await uploadPdf(server, bearer, '期限のある契約書');
  const now = await server.now();
  await apiCall(server, bearer, 'POST', `/documents/${id}/send`, {
    recipients: [{ name: '山田 花子', email: 'hanako.deadline@example.jp' }],
    expires_at: new Date(now.getTime() + 2 * 3600 * 1000).toISOString(),
  });
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

test('a seal that keeps failing parks, and an operator re-drives it from the ops view', async () => {
  const { server, browser } = env;
  await account(server, 'parked@example.jp', '保留 太郎', PASSWORD);
  await account(server, 'operator@example.jp', '運用 花子', PASSWORD);
  execFileSync(KEIYAKU_BIN, ['operator', 'grant', 'operator@example.jp', '--data-dir', server.dataDir]);
  const bearer = await apiToken(server, 'parked@example.jp');
  const id = await uploadPdf(server, bearer, '保留される契約書');
  await server.tsa('broken');
  await apiCall(server, bearer, 'POST', `/documents/${id}/send`, { recipients: [{ name: '山田 花子', email: 'hanako.parked@example.jp' }] });
  // The machine retries the seal with backoff, then parks it.
  for (let i = 0; i < 10; i += 1) await server.advance(61);
  assert.equal((await apiCall(server, bearer, 'GET', `/documents/${id}`)).status, 'seal_failed');

  const o = await open(browser, server);
  await logIn(o.page, server, 'operator@example.jp', PASSWORD);
  await o.page.goto(`${server.url}/ops?status=RUNNING`);
  await ready(o.page);
  await o.page.locator('ul.documents a').first().click();
  await o.page.getByText('電子署名に失敗し、再実行を待っています。').waitFor();
  await ready(o.page);
  await judgeScreen(o.page, 'ops-parked');
  await server.tsa('working');
  await o.page.getByRole('button', { name: '失敗した手順を再実行' }).click();
  await o.page.getByText('再実行しました。').waitFor();
  await server.advance(0);
  assert.equal((await apiCall(server, bearer, 'GET', `/documents/${id}`)).status, 'in_progress');
  await mailedLink(server.dataDir, 'hanako.parked@example.jp', '/r/#');
  o.check();
  await o.close();
});

// Two-factor login in the browser, on the server with a test clock (so codes are computed
// for its time and the next step comes without waiting): enrolment from the settings with
// the QR code, a wrong first code, the recovery codes; logins that ask for the code, one with
// a recovery code; an API token for scripts, which needs it; turning it off with password
// and code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, ready, judgeScreen, account, logIn, serverAndBrowser, PASSWORD, startClockedServer, totp } from './harness.js';

const env = serverAndBrowser(startClockedServer);

async function loginUntilCode(page, server, email) {
  await page.goto(`${server.url}/login`);
  await ready(page);
  await page.getByLabel('メールアドレス').fill(email);
  await page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'ログイン' }).click();
  // The same screen asks for the code (no navigation: the pending login lives in it).
  await page.getByRole('heading', { name: '2 段階認証' }).waitFor();
}

test('enrol with the QR code, log in with a code and a recovery code, turn it off', async () => {
  const { server, browser } = env;
  await account(server, 'kenji@example.jp', '鈴木 健二', PASSWORD);
  const w = await open(browser, server);
  const { page } = w;
  await logIn(page, server, 'kenji@example.jp', PASSWORD);
  await page.getByRole('link', { name: '設定' }).click();
  await ready(page);
  await page.getByText('2 段階認証は無効です。').waitFor();
  await page.getByText('API トークンを作成するには、先に 2 段階認証を有効にしてください。').waitFor();

  await page.getByRole('button', { name: '2 段階認証を設定する' }).click();
  const qr = page.getByRole('img', { name: '認証アプリ用の QR コード' });
  await qr.waitFor();
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is drawn');
  const key = (await page.locator('code.secret').textContent()).trim();
  assert.match(key, /^[A-Z2-7]{32}$/);
  await judgeScreen(page, 'two-factor-enrol');

  w.expect('POST', '/api/v1/me/two-factor/confirm', 400);
  const right = totp(key, await server.now());
  await page.getByLabel('認証コード').fill(right === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: '有効にする' }).click();
  await page.getByText('コードが正しくありません。').waitFor();
  // Typed full-width, as a Japanese keyboard may: the same code.
  await page.getByLabel('認証コード').fill(right.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d))));
  await page.getByRole('button', { name: '有効にする' }).click();
  await page.getByText('2 段階認証を有効にしました。').waitFor();
  const codes = await page.locator('ol.recovery code').allTextContents();
  assert.equal(codes.length, 10);
  await judgeScreen(page, 'two-factor-recovery');
  await page.getByRole('button', { name: '保管しました' }).click();
  await page.getByText('2 段階認証は有効です。').waitFor();

  // With two-factor login on, a named API token for a script: shown once, then revoked.
  await page.getByLabel('トークンの名前（用途）').fill('請求バッチ');
  await page.getByRole('button', { name: 'トークンを作成する' }).click();
  await page.getByText('API トークンを作成しました。').waitFor();
  const scriptToken = (await page.locator('section[aria-labelledby="settings-tokens"] code.secret').textContent()).trim();
  const me = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${scriptToken}` } });
  assert.equal(me.status, 200);
  const row = page.locator('ul.tokens li', { hasText: '請求バッチ' });
  await row.waitFor();
  await judgeScreen(page, 'api-tokens');
  await row.getByRole('button', { name: '無効にする' }).click();
  await page.getByRole('dialog').getByRole('button', { name: '無効にする' }).click();
  await row.waitFor({ state: 'detached' });
  const after = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${scriptToken}` } });
  assert.equal(after.status, 401);
  await page.getByRole('button', { name: 'ログアウト' }).click();
  await page.getByRole('heading', { name: 'ログイン' }).waitFor();

  // The next login asks for the app's code: the one used to enrol is refused, the next works.
  await loginUntilCode(page, server, 'kenji@example.jp');
  await judgeScreen(page, 'login-code');
  w.expect('POST', '/api/v1/auth/login/second-factor', 400);
  await page.getByLabel('認証コード').fill(right);
  await page.getByRole('button', { name: '確認する' }).click();
  await page.getByText('このコードはすでに使われています。').waitFor();
  await page.getByLabel('認証コード').fill(totp(key, await server.advance(30)));
  await page.getByRole('button', { name: '確認する' }).click();
  await page.getByRole('heading', { name: '文書' }).waitFor();
  await ready(page);
  await page.getByRole('button', { name: 'ログアウト' }).click();
  await page.getByRole('heading', { name: 'ログイン' }).waitFor();

  // A recovery code instead, as typed from paper.
  await loginUntilCode(page, server, 'kenji@example.jp');
  await page.getByLabel('認証コード').fill(` ${codes[0].toLowerCase()} `);
  await page.getByRole('button', { name: '確認する' }).click();
  await page.getByRole('heading', { name: '文書' }).waitFor();
  await ready(page);

  // Off, with the password and a code.
  await page.getByRole('link', { name: '設定' }).click();
  await ready(page);
  await page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
  await page.getByLabel('認証コードまたはリカバリーコード').fill(totp(key, await server.advance(30)));
  await page.getByRole('button', { name: '無効にする' }).click();
  await page.getByText('2 段階認証を無効にしました。').waitFor();
  await page.getByRole('button', { name: '2 段階認証を設定する' }).waitFor();
  await judgeScreen(page, 'two-factor-off');
  w.check();
  await w.close();

  // Off: the password alone logs in again.
  const fresh = await open(browser, server);
  await logIn(fresh.page, server, 'kenji@example.jp', PASSWORD);
  fresh.check();
  await fresh.close();
});

// Accounts in the browser: sign-up with the password rules explained as typed, the
// confirmation from the mailed link, login (wrong password, offline mid-form), the language
// switch remembered on the account, password change with an expired session, reset by mail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, ready, judgeScreen, mailedLink, PHONE, serverAndBrowser, PASSWORD, account, logIn } from './harness.js';

const env = serverAndBrowser();

const XSS = '<img src=x onerror="window.__xss=1">';

test('sign up, confirm from the mail, log in, switch to English, log out', async () => {
  const { server, browser } = env;
  const w = await open(browser, server);
  const { page } = w;
  await page.goto(`${server.url}/signup`);
  await ready(page);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'ja');
  await judgeScreen(page, 'signup');

  // The rules follow the typing; the server's verdict comes when the field is left.
  const name = `山田 花子 ${XSS}`;
  await page.getByLabel('氏名').fill(name);
  await page.getByLabel('メールアドレス').fill('ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ ');
  const password = page.getByLabel('パスワード', { exact: true });
  await password.fill('hanako2026');
  const personal = page.locator('.rules li', { hasText: 'メールアドレスや名前を含まない' });
  assert.equal(await personal.getAttribute('data-met'), 'no');
  await password.blur();
  await page.getByText('メールアドレスや名前を含むパスワードは使えません。').waitFor();
  assert.equal(await password.getAttribute('aria-invalid'), 'true');
  await judgeScreen(page, 'signup-weak-password');
  await password.fill(PASSWORD);
  assert.equal(await personal.getAttribute('data-met'), 'yes');
  // The server's yes is said in the colour of good news, not of a refusal.
  await password.blur();
  await page.locator('.field-error.ok', { hasText: 'このパスワードは使えます。' }).waitFor();
  await page.getByRole('button', { name: '登録する' }).click();
  await page.getByRole('heading', { name: '確認メールを送りました' }).waitFor();
  await page.getByText('hanako@example.jp に確認メールを送りました').waitFor();
  await judgeScreen(page, 'signup-sent');

  // The mailed link: its token leaves the address bar before anything else.
  const link = await mailedLink(server.dataDir, 'hanako@example.jp', '/verify-email#');
  await page.goto(link);
  await page.getByText('メールアドレスを確認しました。').waitFor();
  assert.equal(new URL(page.url()).hash, '');
  await judgeScreen(page, 'verify-email');
  await page.getByRole('link', { name: 'ログインへ' }).click();
  await ready(page);

  // A wrong password is said so, next to nothing typed lost.
  await page.getByLabel('メールアドレス').fill('hanako@example.jp');
  await page.getByLabel('パスワード', { exact: true }).fill('not-the-password-1');
  w.expect('POST', '/api/v1/auth/login', 401);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.getByText('メールアドレスまたはパスワードが正しくありません。').waitFor();
  assert.equal(await page.getByLabel('メールアドレス').inputValue(), 'hanako@example.jp');
  await judgeScreen(page, 'login-wrong-password');

  // Offline mid-form: explained, and the form still holds everything.
  await page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
  await w.setOffline(true);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.getByText('サーバーに接続できません。').waitFor();
  assert.equal(await page.getByLabel('パスワード', { exact: true }).inputValue(), PASSWORD);
  await w.setOffline(false);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.getByRole('heading', { name: '文書' }).waitFor();
  await ready(page);

  // The name typed as markup is shown as text, and nothing ran.
  await page.getByRole('link', { name: '設定' }).click();
  await ready(page);
  await page.getByText(name).waitFor();
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await page.locator('main img').count(), 0);
  await judgeScreen(page, 'settings');

  // English: everything but user data, remembered on the account.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Settings' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await judgeScreen(page, 'settings');
  await page.reload();
  await page.getByRole('heading', { name: 'Settings' }).waitFor();
  await ready(page);
  await page.getByRole('link', { name: 'Documents' }).click();
  await ready(page);
  await judgeScreen(page, 'documents-empty');
  // The account's language won over this browser's: a fresh browser logs in in English.
  const fresh = await open(browser, server);
  await fresh.page.goto(`${server.url}/login`);
  await ready(fresh.page);
  await fresh.page.getByLabel('メールアドレス').fill('hanako@example.jp');
  await fresh.page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
  await fresh.page.getByRole('button', { name: 'ログイン' }).click();
  await fresh.page.getByRole('heading', { name: 'Documents' }).waitFor();
  fresh.check();
  await fresh.close();

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  await ready(page);
  await judgeScreen(page, 'login');
  w.check();
  await w.close();
});

test('password change with an expired session keeps what was typed; reset by mail', async () => {
  const { server, browser } = env;
  const w = await open(browser, server, { viewport: PHONE });
  const { page } = w;
  await page.goto(`${server.url}/signup`);
  await ready(page);
  await page.getByLabel('氏名').fill('佐藤 一郎');
  await page.getByLabel('メールアドレス').fill('ichiro@example.jp');
  await page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: '登録する' }).click();
  await page.getByRole('heading', { name: '確認メールを送りました' }).waitFor();
  await page.goto(await mailedLink(server.dataDir, 'ichiro@example.jp', '/verify-email#'));
  await page.getByText('メールアドレスを確認しました。').waitFor();
  // A link used twice, or a page opened without one, says so.
  w.expect('POST', '/api/v1/auth/verify-email', 400);
  await page.goto(await mailedLink(server.dataDir, 'ichiro@example.jp', '/verify-email#'));
  await page.getByText('このリンクは無効か、有効期限が切れています。').waitFor();

  await page.goto(`${server.url}/settings`);
  await ready(page);
  // Not logged in: sent to the login, then back.
  await page.getByRole('heading', { name: 'ログイン' }).waitFor();
  await page.getByLabel('メールアドレス').fill('ichiro@example.jp');
  await page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.getByRole('heading', { name: '設定' }).waitFor();
  await ready(page);

  const next = 'lantern-meadow-copper-77';
  await page.getByLabel('現在のパスワード').fill(PASSWORD);
  await page.getByLabel('新しいパスワード', { exact: true }).fill(next);
  // The session ends while the form is being filled in.
  await w.context.clearCookies();
  w.expect('POST', '/api/v1/auth/password', 401);
  await page.getByRole('button', { name: 'パスワードを変更する' }).click();
  await page.getByText('ログインの有効期限が切れました。').waitFor();
  assert.equal(await page.getByLabel('新しいパスワード', { exact: true }).inputValue(), next);
  // Switching the language cannot be saved on the account without a session either.
  w.expect('PATCH', '/api/v1/me', 401);
  w.expect('PATCH', '/api/v1/me', 401);
  await judgeScreen(page, 'settings-session-expired');

  // Reset by mail.
  await page.goto(`${server.url}/reset`);
  await ready(page);
  await page.getByLabel('メールアドレス').fill('ICHIRO@example.jp');
  await page.getByRole('button', { name: '再設定メールを送る' }).click();
  await page.getByRole('heading', { name: 'メールを確認してください' }).waitFor();
  await page.goto(await mailedLink(server.dataDir, 'ichiro@example.jp', '/reset#'));
  await ready(page);
  assert.equal(new URL(page.url()).hash, '');
  await page.getByLabel('新しいパスワード', { exact: true }).fill('aaaaaaaaaaaa');
  w.expect('POST', '/api/v1/auth/reset/confirm', 400);
  await page.getByRole('button', { name: 'パスワードを設定する' }).click();
  await page.getByText('同じ文字の繰り返しや単純な並び').first().waitFor();
  await judgeScreen(page, 'reset-weak');
  await page.getByLabel('新しいパスワード', { exact: true }).fill(next);
  await page.getByRole('button', { name: 'パスワードを設定する' }).click();
  await page.getByRole('heading', { name: 'パスワードを変更しました' }).waitFor();
  await page.getByRole('link', { name: 'ログインへ' }).click();
  await ready(page);
  await page.getByLabel('メールアドレス').fill('ichiro@example.jp');
  await page.getByLabel('パスワード', { exact: true }).fill(next);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.getByRole('heading', { name: '文書' }).waitFor();
  w.check();
  await w.close();
});

test('a mangled or unknown address gets the not-found page', async () => {
  const { server, browser } = env;
  const w = await open(browser, server);
  for (const path of ['/documents/%E0%A4', '/no/such/screen']) {
    await w.page.goto(`${server.url}${path}`);
    await w.page.getByRole('heading', { name: 'ページが見つかりません' }).waitFor();
  }
  await judgeScreen(w.page, 'not-found');
  w.check();
  await w.close();
});

test('a browser in English opens in English; in anything else, in Japanese', async () => {
  const { server, browser } = env;
  for (const [locale, lang, heading] of [['en-US', 'en', 'Log in'], ['ja-JP', 'ja', 'ログイン'], ['fr-FR', 'ja', 'ログイン']]) {
    const w = await open(browser, server, { locale });
    await w.page.goto(`${server.url}/login`);
    await w.page.getByRole('heading', { name: heading }).waitFor();
    assert.equal(await w.page.evaluate(() => document.documentElement.lang), lang, locale);
    w.check();
    await w.close();
  }
});

test('the address changes when the link mailed to the new one is opened', async () => {
  const { server, browser } = env;
  await account(server, 'moving@example.jp', '転居 太郎', PASSWORD);
  const w = await open(browser, server);
  const { page } = w;
  await logIn(page, server, 'moving@example.jp', PASSWORD);
  await page.goto(`${server.url}/settings`);
  await ready(page);
  await page.getByLabel('新しいメールアドレス').fill('ｍｏｖｅｄ＠ｅｘａｍｐｌｅ．ｊｐ');
  await page.getByLabel('パスワード（本人確認のため）').fill(PASSWORD);
  await page.getByRole('button', { name: 'メールアドレスを変更する' }).click();
  await page.getByText('moved@example.jp に確認メールを送りました。').waitFor();
  await judgeScreen(page, 'settings-email');
  await page.goto(await mailedLink(server.dataDir, 'moved@example.jp', '/address#'));
  await ready(page);
  await page.getByText('メールアドレスを moved@example.jp に変更しました。').waitFor();
  await judgeScreen(page, 'address-changed');
  await page.goto(`${server.url}/settings`);
  await ready(page);
  await page.getByText('現在のアドレス: moved@example.jp').waitFor();
  w.check();
  await w.close();
});

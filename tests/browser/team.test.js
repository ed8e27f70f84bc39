// The team in the browser: an admin invites a member, who joins from the mailed link and
// sees the team; the admin requires two-factor login (the member is led to set it up) and
// sets an allow-list (a list without the admin's own address asks first); the admin
// changes the member's role and removes them behind a confirmation, which ends their
// session at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, ready, judgeScreen, mailedLink, account, logIn, serverAndBrowser, PASSWORD, PHONE, apiToken, apiCall, totp, uploadPdf } from './harness.js';

const env = serverAndBrowser();

// Invites `email` as `role` with the admin's API token and accepts the mailed invitation.
async function join(server, admin, email, name, role = 'member') {
  await apiCall(server, admin, 'POST', '/team/invitations', { email, role }, 201);
  const link = await mailedLink(server.dataDir, email, '/invitation#');
  const r = await fetch(`${server.url}/api/v1/auth/invitation`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: link.slice(link.indexOf('#') + 1), name, password: PASSWORD }),
  });
  assert.equal(r.status, 201);
}

test('invite, join from the mail, change the role, remove', async () => {
  const { server, browser } = env;
  await account(server, 'boss@example.jp', '管理 太郎', PASSWORD);
  const w = await open(browser, server);
  const { page } = w;
  await logIn(page, server, 'boss@example.jp', PASSWORD);
  await page.getByRole('link', { name: 'チーム', exact: true }).click();
  await ready(page);
  await page.getByRole('heading', { name: 'チーム', exact: true }).waitFor();
  await page.getByLabel('招待するメールアドレス').fill('ｊｉｒｏ＠ｅｘａｍｐｌｅ．ｊｐ');
  await page.getByRole('button', { name: '招待メールを送る' }).click();
  await page.getByText('招待メールを送りました。').waitFor();
  await page.locator('ul.members li', { hasText: 'jiro@example.jp' }).waitFor();
  // The form is ready for the next invitation, with the usual role.
  assert.equal(await page.getByLabel('役割', { exact: true }).last().inputValue(), 'member');
  await judgeScreen(page, 'team-admin');

  // The invited member joins from the mailed link, on a phone.
  const joiner = await open(browser, server, { viewport: PHONE });
  await joiner.page.goto(await mailedLink(server.dataDir, 'jiro@example.jp', '/invitation#'));
  await ready(joiner.page);
  assert.equal(new URL(joiner.page.url()).hash, '');
  await judgeScreen(joiner.page, 'invitation');
  await joiner.page.getByLabel('氏名').fill('鈴木 次郎');
  await joiner.page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
  await joiner.page.getByRole('button', { name: '参加する' }).click();
  await joiner.page.getByRole('heading', { name: 'チームに参加しました' }).waitFor();
  await logIn(joiner.page, server, 'jiro@example.jp', PASSWORD);
  await joiner.page.getByRole('link', { name: 'チーム', exact: true }).click();
  await ready(joiner.page);
  await joiner.page.getByText('boss@example.jp').waitFor();
  await judgeScreen(joiner.page, 'team-member');

  // The admin requires two-factor login (having set it up first, over the API) and limits
  // the networks: a list without this connection's address asks first.
  const bearer = await apiToken(server, 'boss@example.jp');
  const started = await apiCall(server, bearer, 'POST', '/me/two-factor');
  await apiCall(server, bearer, 'POST', '/me/two-factor/confirm', { code: totp(started.secret, new Date()) });
  await page.reload();
  await ready(page);
  await page.getByLabel('メンバー全員に 2 段階認証を必須にする').check();
  await page.getByLabel('接続を許可するネットワーク（IP アドレス制限）').fill('203.0.113.0/24');
  w.expect('PATCH', '/api/v1/team', 409);
  await page.getByRole('button', { name: '設定を保存する' }).click();
  await page.getByRole('dialog').getByText('あなた自身が使えなくなります').waitFor();
  await judgeScreen(page, 'team-lockout-dialog');
  await page.getByRole('dialog').getByRole('button', { name: 'やめる' }).click();
  await page.getByLabel('接続を許可するネットワーク（IP アドレス制限）').fill('203.0.113.0/24\n１２７．０．０．１');
  await page.getByRole('button', { name: '設定を保存する' }).click();
  await page.getByText('設定を保存しました。').waitFor();

  // The member is led to set up two-factor login, and nothing else opens until then.
  await joiner.page.goto(`${server.url}/documents`);
  await ready(joiner.page);
  await joiner.page.getByText('チームの設定により、2 段階認証の設定が必要です。').waitFor();
  assert.equal(new URL(joiner.page.url()).pathname, '/settings');
  await judgeScreen(joiner.page, 'settings-enrol-required');

  // The admin changes the member's role, then removes them.
  await page.reload();
  await ready(page);
  assert.equal(await page.getByLabel('接続を許可するネットワーク（IP アドレス制限）').inputValue(), '203.0.113.0/24\n127.0.0.1/32');
  const row = page.locator('ul.members li', { hasText: 'jiro@example.jp' });
  await row.getByRole('combobox').selectOption('auditor');
  await page.getByText('役割を変更しました。').waitFor();
  await row.getByRole('button', { name: 'チームから外す' }).click();
  await judgeScreen(page, 'team-remove-dialog');
  await page.getByRole('dialog').getByRole('button', { name: 'チームから外す' }).click();
  await page.getByText('メンバーをチームから外しました。').waitFor();
  await row.waitFor({ state: 'detached' });
  w.check();
  await w.close();

  // The removed member's session ended: their next request is sent to the login.
  joiner.expect('GET', '/api/v1/team/members', 401);
  await joiner.page.reload();
  await joiner.page.getByRole('heading', { name: 'ログイン' }).waitFor();
  joiner.check();
  await joiner.close();
});

test('the whole team\'s documents for its admin; a 親展 one shows only that it exists', async () => {
  const { server, browser } = env;
  await account(server, 'head@example.jp', '部長 一郎', PASSWORD);
  const head = await apiToken(server, 'head@example.jp');
  await join(server, head, 'staff@example.jp', '担当 二郎');
  const staff = await apiToken(server, 'staff@example.jp');
  await uploadPdf(server, staff, '業務委託契約書');
  const secret = await uploadPdf(server, staff, '役員報酬の合意書');

  // The member marks one 親展 in the draft editor.
  const m = await open(browser, server);
  await logIn(m.page, server, 'staff@example.jp', PASSWORD);
  await m.page.goto(`${server.url}/documents/${secret}`);
  await ready(m.page);
  await m.page.getByLabel('氏名').first().fill('取引 先子');
  await m.page.getByLabel('メールアドレス').first().fill('partner@example.com');
  await m.page.getByLabel('親展にする').check();
  await m.page.getByRole('button', { name: '下書きを保存' }).click();
  await m.page.getByText('下書きを保存しました。').waitFor();
  m.check();
  await m.close();

  const w = await open(browser, server);
  await logIn(w.page, server, 'head@example.jp', PASSWORD);
  await w.page.getByRole('link', { name: 'チーム全体' }).click();
  await ready(w.page);
  await w.page.getByRole('link', { name: '業務委託契約書' }).waitFor();
  await w.page.getByText('（親展の文書）').waitFor();
  assert.equal(await w.page.getByText('役員報酬の合意書').count(), 0);
  await judgeScreen(w.page, 'documents-team');
  w.check();
  await w.close();
});

test('an approval rule set by the admin, offered in the draft; a leaver\'s documents handed over', async () => {
  const { server, browser } = env;
  await account(server, 'chief@example.jp', '部長 一郎', PASSWORD);
  const chief = await apiToken(server, 'chief@example.jp');
  await join(server, chief, 'kacho@example.jp', '課長 三郎');
  await join(server, chief, 'leaver@example.jp', '退職 四郎');
  const leaver = await apiToken(server, 'leaver@example.jp');
  const doc = await uploadPdf(server, leaver, '引き継ぐ契約書');

  // The admin requires the approval of the section chief.
  const w = await open(browser, server);
  const { page } = w;
  await logIn(page, server, 'chief@example.jp', PASSWORD);
  await page.goto(`${server.url}/team`);
  await ready(page);
  await page.getByLabel('承認の方法').selectOption('any_of');
  await page.getByLabel('課長 三郎 (kacho@example.jp)').check();
  await page.getByRole('button', { name: '設定を保存する' }).click();
  await page.getByText('設定を保存しました。').waitFor();
  await judgeScreen(page, 'team-approval-rule');

  // The leaver's draft editor says so and names the approver in one click.
  const m = await open(browser, server);
  await logIn(m.page, server, 'leaver@example.jp', PASSWORD);
  await m.page.goto(`${server.url}/documents/${doc}`);
  await ready(m.page);
  await m.page.getByText('このチームでは、課長 三郎 のいずれか 1 人の承認が必要です。').waitFor();
  await m.page.getByRole('button', { name: '課長 三郎 を承認者にする' }).click();
  assert.equal(await m.page.locator('input[name="approvers[0].email"]').inputValue(), 'kacho@example.jp');
  await judgeScreen(m.page, 'draft-approval-rule');
  await m.page.getByLabel('氏名').first().fill('取引 先子');
  await m.page.getByLabel('メールアドレス').first().fill('partner@example.com');
  await m.page.getByRole('button', { name: '下書きを保存' }).click();
  await m.page.getByText('下書きを保存しました。').waitFor();
  m.check();
  await m.close();

  // The leaver is removed; their document goes to the section chief.
  await page.reload();
  await ready(page);
  await page.locator('ul.members li', { hasText: 'leaver@example.jp' }).getByRole('button', { name: 'チームから外す' }).click();
  await page.getByRole('dialog').getByLabel('書類の引き継ぎ先').selectOption({ label: '課長 三郎 (kacho@example.jp)' });
  await judgeScreen(page, 'team-remove-hand-over');
  await page.getByRole('dialog').getByRole('button', { name: 'チームから外す' }).click();
  await page.getByText('メンバーをチームから外し、書類 1 件を引き継ぎました。').waitFor();
  w.check();
  await w.close();
  const kacho = await apiToken(server, 'kacho@example.jp');
  const list = await apiCall(server, kacho, 'GET', '/documents');
  assert.deepEqual(list.documents.map((d) => d.title), ['引き継ぐ契約書']);
});

test('the audit log: search, the CSV, the tamper check; admins and auditors only', async () => {
  const { server, browser } = env;
  await account(server, 'kansa@example.jp', '監査 太郎', PASSWORD);
  const admin = await apiToken(server, 'kansa@example.jp');
  await join(server, admin, 'plain@example.jp', '一般 花子');
  // A failed login to show.
  const r = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'AuditTest/1.0' },
    body: JSON.stringify({ email: 'plain@example.jp', password: 'not the password 1' }),
  });
  assert.equal(r.status, 401);

  const w = await open(browser, server);
  const { page } = w;
  await logIn(page, server, 'kansa@example.jp', PASSWORD);
  await page.getByRole('link', { name: '監査ログ' }).click();
  await ready(page);
  await page.getByRole('heading', { name: '監査ログ', exact: true }).waitFor();
  await page.getByRole('cell', { name: 'ログイン失敗' }).waitFor();
  await judgeScreen(page, 'audit');

  // Only the team's acts, by kind.
  await page.getByLabel('操作の種類').selectOption('team.');
  await page.getByRole('button', { name: '検索する' }).click();
  await page.getByRole('cell', { name: 'メンバー参加' }).waitFor();
  assert.equal(await page.getByRole('cell', { name: 'ログイン失敗' }).count(), 0);

  // The CSV of the same search, as Excel in Japan needs it.
  const href = await page.getByRole('link', { name: 'CSV をダウンロード' }).getAttribute('href');
  assert.match(href, /action=team\./);
  const csv = await page.evaluate(async (url) => {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    return { bom: Array.from(bytes.slice(0, 3)), text: new TextDecoder().decode(bytes) };
  }, href);
  assert.deepEqual(csv.bom, [0xef, 0xbb, 0xbf]);
  assert.match(csv.text, /日時（日本時間）,操作者ID/);
  assert.match(csv.text, /team\.member_joined/);

  await page.getByRole('button', { name: '検証する' }).click();
  await page.getByText(/改ざんはありません/).waitFor();
  w.check();
  await w.close();

  // A member sees no audit log.
  const m = await open(browser, server);
  await logIn(m.page, server, 'plain@example.jp', PASSWORD);
  assert.equal(await m.page.getByRole('link', { name: '監査ログ' }).count(), 0);
  m.check();
  await m.close();
});

test('registration restriction: a claimed domain signs up only by invitation', async () => {
  const { server, browser } = env;
  await account(server, 'soumu@claim.co.jp', '総務 一郎', PASSWORD);
  const w = await open(browser, server);
  const { page } = w;
  await logIn(page, server, 'soumu@claim.co.jp', PASSWORD);
  await page.goto(`${server.url}/team`);
  await ready(page);
  // The admin's own address proves the domain at once.
  await page.getByLabel('メールドメイン', { exact: true }).fill('ｃｌａｉｍ．ｃｏ．ｊｐ');
  assert.equal(await page.getByLabel('確認メールの送信先').inputValue(), 'soumu@claim.co.jp');
  await page.getByRole('button', { name: 'ドメインを登録する' }).click();
  await page.getByText('メールドメインを登録しました。').waitFor();
  const domains = page.getByRole('region', { name: 'アカウント登録制限' });
  await domains.getByText('claim.co.jp', { exact: true }).waitFor();
  // Another, proved by a mail to someone there.
  await page.getByLabel('メールドメイン', { exact: true }).fill('branch.claim.jp');
  await page.getByLabel('確認メールの送信先').fill('it@branch.claim.jp');
  await page.getByRole('button', { name: 'ドメインを登録する' }).click();
  await page.getByText('it@branch.claim.jp に確認メールを送りました。').waitFor();
  await judgeScreen(page, 'team-domains');
  w.check();
  await w.close();

  const it = await open(browser, server, { viewport: PHONE });
  await it.page.goto(await mailedLink(server.dataDir, 'it@branch.claim.jp', '/domain#'));
  await ready(it.page);
  await it.page.getByText('branch.claim.jp をチームのメールドメインとして登録しました。').waitFor();
  await judgeScreen(it.page, 'domain-confirmed');
  it.check();
  await it.close();

  // Someone at the domain who tries to sign up is told to ask for an invitation.
  const s = await open(browser, server);
  await s.page.goto(`${server.url}/signup`);
  await ready(s.page);
  await s.page.getByLabel('氏名').fill('新人 花子');
  await s.page.getByLabel('メールアドレス').fill('shinjin@claim.co.jp');
  await s.page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
  s.expect('POST', '/api/v1/auth/signup', 403);
  await s.page.getByRole('button', { name: '登録する' }).click();
  await s.page.getByText('そのチームの管理者に招待を依頼してください。', { exact: false }).waitFor();
  await judgeScreen(s.page, 'signup-restricted');
  s.check();
  await s.close();
});

// The other ways a contract goes, in the browser: the whole flow by keyboard alone; markup
// typed into every field a user fills is shown as text and never runs; a recipient
// declines with a reason; the sender cancels; the ops view is there for operators (with a
// Distributed Map's child executions) and a not-found page for everyone else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { open, ready, judgeScreen, mailedLink, account, logIn, readToTheEnd, tabTo, FIXTURE_PDF, KEIYAKU_BIN, serverAndBrowser, PASSWORD, apiToken, apiCall, uploadPdf } from './harness.js';

const env = serverAndBrowser();

const XSS = (where) => `<img src=x onerror="window.__xss='${where}'">`;

// The fixture uploaded through the new-document screen as a draft titled `title`, its
// editor shown.
async function newDraft(page, server, title) {
  await page.goto(`${server.url}/documents/new`);
  await ready(page);
  await page.getByLabel('PDF ファイル').setInputFiles(FIXTURE_PDF);
  await page.getByLabel('タイトル').fill(title);
  await page.getByRole('button', { name: 'アップロードして下書きを作る' }).click();
  await page.getByRole('heading', { name: '下書きの編集' }).waitFor();
  await ready(page);
}

async function noScriptRan(page) {
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'markup typed by a user ran');
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'markup typed by a user became an element');
}

// Logs in on the login screen shown, by keyboard.
async function keyboardLogIn(page, email) {
  await tabTo(page, page.getByLabel('メールアドレス'));
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
}

// Confirms the dialog open on the page with its button named `name`, by keyboard.
async function keyboardConfirm(page, name) {
  await page.getByRole('dialog').waitFor();
  await tabTo(page, page.getByRole('dialog').getByRole('button', { name }), { back: true });
  await page.keyboard.press('Enter');
}

test('keyboard only: upload, parties, send; the approver approves; the recipient gives the code, reads and agrees', async () => {
  const { server, browser } = env;
  await account(server, 'kb@example.jp', '鍵盤 太郎', PASSWORD);
  await account(server, 'kb-boss@example.jp', '鍵盤 部長', PASSWORD);
  const s = await open(browser, server);
  const { page } = s;
  const k = page.keyboard;
  await page.goto(`${server.url}/login`);
  await ready(page);
  await keyboardLogIn(page, 'kb@example.jp');
  await page.getByRole('heading', { name: '文書' }).waitFor();
  await ready(page);

  await tabTo(page, page.getByRole('link', { name: '新しい文書' }));
  await k.press('Enter');
  await ready(page);
  await tabTo(page, page.getByLabel('PDF ファイル'));
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), k.press('Space')]);
  await chooser.setFiles(FIXTURE_PDF);
  await tabTo(page, page.getByLabel('タイトル'));
  await k.press('Control+A');
  await k.type('鍵盤で作った契約書');
  await k.press('Enter');
  await page.getByRole('heading', { name: '下書きの編集' }).waitFor();
  await ready(page);
  await tabTo(page, page.getByLabel('氏名').first());
  await k.type('山田 花子');
  await k.press('Tab');
  await k.type('hanako.kb@example.jp');
  // A second recipient, put first with the keyboard.
  await tabTo(page, page.getByRole('button', { name: '受信者を追加' }));
  await k.press('Enter');
  await k.type('佐藤 一郎');
  await k.press('Tab');
  await k.type('ichiro.kb@example.jp');
  // Company and department left empty; the access code typed full-width.
  await tabTo(page, page.locator('.parties-edit li').nth(1).getByLabel('アクセスコード（任意）'));
  await k.type('１２３４');
  await tabTo(page, page.locator('.parties-edit li').nth(1).getByRole('button', { name: '上へ移動' }));
  await k.press('Enter');
  assert.equal(await page.locator('.parties-edit li').first().getByLabel('氏名').inputValue(), '佐藤 一郎');
  await tabTo(page, page.getByRole('button', { name: '承認者を追加' }));
  await k.press('Enter');
  await k.type('kb-boss@example.jp');
  await tabTo(page, page.getByRole('button', { name: '内容を確認する' }));
  await k.press('Enter');
  await page.getByRole('heading', { name: '送信内容の確認' }).waitFor();
  await tabTo(page, page.getByRole('button', { name: 'この内容で送信する' }));
  await k.press('Enter');
  await page.locator('.status-awaiting_approval').first().waitFor();
  const id = new URL(page.url()).pathname.split('/').pop();

  // The approver, from the mailed link: logs in, tabs through the pages to 承認する.
  const a = await open(browser, server);
  await a.page.goto(await mailedLink(server.dataDir, 'kb-boss@example.jp', `/documents/${id}`));
  await ready(a.page);
  await keyboardLogIn(a.page, 'kb-boss@example.jp');
  await a.page.getByRole('heading', { name: '鍵盤で作った契約書' }).waitFor();
  await ready(a.page);
  await tabTo(a.page, a.page.getByRole('button', { name: '承認する' }));
  await a.page.keyboard.press('Enter');
  await keyboardConfirm(a.page, '承認する');
  await a.page.getByText('承認しました。').waitFor();
  a.check();
  await a.close();

  const r = await open(browser, server);
  // Opened without its code first: the page asks for it.
  r.expect('POST', '/api/v1/r/session', 401);
  await r.page.goto(await mailedLink(server.dataDir, 'ichiro.kb@example.jp', '/r/#'));
  await r.page.getByRole('heading', { name: 'アクセスコードの入力' }).waitFor();
  await tabTo(r.page, r.page.getByLabel('アクセスコード'));
  await r.page.keyboard.type('１２３４');
  await r.page.keyboard.press('Enter');
  await r.page.getByRole('heading', { name: '鍵盤で作った契約書' }).waitFor();
  await ready(r.page);
  // Tabbing through the pages reads them; 同意 becomes reachable after the last.
  await tabTo(r.page, r.page.getByRole('button', { name: '同意する' }));
  await r.page.keyboard.press('Enter');
  await keyboardConfirm(r.page, '同意する');
  await r.page.getByText('同意しました。ありがとうございました。').waitFor();
  r.check();
  await r.close();
  s.check();
  await s.close();
});

test('markup in every field stays text; a decline with a reason; a cancel', async () => {
  const { server, browser } = env;
  await account(server, 'xss@example.jp', XSS('user name'), PASSWORD);
  await account(server, 'xss-boss@example.jp', '承認 部長', PASSWORD);
  const s = await open(browser, server);
  const { page } = s;
  await logIn(page, server, 'xss@example.jp', PASSWORD);
  await noScriptRan(page);

  const title = `契約書 ${XSS('title')}`;
  await newDraft(page, server, title);
  await page.getByLabel('氏名').first().fill(`花子 ${XSS('recipient name')}`);
  await page.getByLabel('メールアドレス').first().fill('hanako.xss@example.jp');
  await page.getByLabel('会社名（任意）').first().fill(XSS('company'));
  await page.getByLabel('部署（任意）').first().fill(XSS('department'));
  await page.getByRole('button', { name: '承認者を追加' }).click();
  await page.locator('.parties-edit').nth(1).getByLabel('メールアドレス').fill('xss-boss@example.jp');
  await page.locator('.parties-edit').nth(1).getByLabel('氏名（任意）').fill(XSS('approver name'));
  await page.getByLabel('メッセージ').fill(XSS('message'));
  await page.getByRole('button', { name: '内容を確認する' }).click();
  await page.getByRole('heading', { name: '送信内容の確認' }).waitFor();
  await page.getByText(XSS('approver name'), { exact: false }).waitFor();
  await page.getByText(XSS('message')).waitFor();
  await noScriptRan(page);
  // Sent without the approver: the review's back button, the approver removed.
  await page.getByRole('button', { name: '戻って修正する' }).click();
  await page.locator('.parties-edit').nth(1).getByRole('button', { name: '削除' }).click();
  await page.getByRole('button', { name: '内容を確認する' }).click();
  await page.getByRole('button', { name: 'この内容で送信する' }).click();
  await page.locator('.status-in_progress').first().waitFor();
  await ready(page);
  await page.getByRole('heading', { name: title }).waitFor();
  await noScriptRan(page);
  const id = new URL(page.url()).pathname.split('/').pop();
  // A reminder to the recipient, who gets the same link again.
  await page.getByRole('button', { name: '催促メールを送る' }).click();
  await page.getByText('催促メールを送りました。').waitFor();

  // The recipient sees it all as text, and declines with markup as the reason.
  const r = await open(browser, server);
  await r.page.goto(await mailedLink(server.dataDir, 'hanako.xss@example.jp', '/r/#'));
  await r.page.getByRole('heading', { name: title }).waitFor();
  await ready(r.page);
  await r.page.getByText(XSS('message')).waitFor();
  await noScriptRan(r.page);
  await r.page.getByRole('button', { name: '却下する' }).click();
  await r.page.getByRole('dialog').getByRole('button', { name: '却下する' }).click();
  await r.page.getByText('理由を入力してください。').waitFor();
  await judgeScreen(r.page, 'recipient-decline-dialog');
  await r.page.getByLabel('却下の理由').fill(XSS('reason'));
  await r.page.getByRole('dialog').getByRole('button', { name: '却下する' }).click();
  await r.page.getByText('却下しました。', { exact: true }).waitFor();
  await noScriptRan(r.page);
  r.check();
  await r.close();

  await page.goto(`${server.url}/documents/${id}`);
  await ready(page);
  await page.locator('.status-declined').first().waitFor();
  await page.getByText(XSS('reason')).waitFor();
  await noScriptRan(page);
  await judgeScreen(page, 'detail-declined');
  await page.goto(`${server.url}/documents?tab=closed`);
  await ready(page);
  await page.getByRole('link', { name: title }).waitFor();
  await noScriptRan(page);

  // A second document, cancelled by its sender; its link then says so.
  await newDraft(page, server, '取り消す契約書');
  await page.getByLabel('氏名').first().fill('山田 花子');
  await page.getByLabel('メールアドレス').first().fill('hanako.cancel@example.jp');
  await page.getByRole('button', { name: '下書きを保存' }).click();
  await page.getByText('下書きを保存しました。').waitFor();
  // A draft keeps its parties.
  await page.reload();
  await ready(page);
  assert.equal(await page.getByLabel('メールアドレス').first().inputValue(), 'hanako.cancel@example.jp');
  await page.getByRole('button', { name: '内容を確認する' }).click();
  await page.getByRole('button', { name: 'この内容で送信する' }).click();
  await page.locator('.status-in_progress').first().waitFor();
  await ready(page);
  await page.getByRole('button', { name: '取り消す' }).click();
  await judgeScreen(page, 'cancel-dialog');
  await page.getByRole('dialog').getByRole('button', { name: '取り消す' }).click();
  await page.getByText('文書を取り消しました。').waitFor();
  await page.locator('.status-cancelled').first().waitFor();
  const c = await open(browser, server);
  c.expect('POST', '/api/v1/r/session', 410);
  c.expect('POST', '/api/v1/r/session', 404);
  await c.page.goto(await mailedLink(server.dataDir, 'hanako.cancel@example.jp', '/r/#'));
  await c.page.getByRole('heading', { name: 'この文書を開けません' }).or(c.page.getByText('この文書は送信者により取り消されました。')).first().waitFor();
  await judgeScreen(c.page, 'recipient-cancelled');
  c.check();
  await c.close();
  s.check();
  await s.close();
});

test('the ops view is there for operators, a not-found page for everyone else', async () => {
  const { server, browser } = env;
  await account(server, 'ops@example.jp', '運用 担当', PASSWORD);
  await account(server, 'member@example.jp', '一般 社員', PASSWORD);
  execFileSync(KEIYAKU_BIN, ['operator', 'grant', 'ops@example.jp', '--data-dir', server.dataDir]);

  const m = await open(browser, server);
  await logIn(m.page, server, 'member@example.jp', PASSWORD);
  assert.equal(await m.page.getByRole('link', { name: '運用' }).count(), 0);
  m.expect('GET', '/api/v1/ops/executions', 404);
  await m.page.goto(`${server.url}/ops`);
  await m.page.getByRole('heading', { name: 'ページが見つかりません' }).waitFor();
  m.check();
  await m.close();
  const anon = await open(browser, server);
  await anon.page.goto(`${server.url}/ops`);
  await anon.page.getByRole('heading', { name: 'ページが見つかりません' }).waitFor();
  anon.check();
  await anon.close();

  const o = await open(browser, server);
  await logIn(o.page, server, 'ops@example.jp', PASSWORD);
  await o.page.getByRole('link', { name: '運用' }).click();
  await o.page.getByRole('heading', { name: '運用: ワークフローの実行' }).waitFor();
  await ready(o.page);
  await judgeScreen(o.page, 'ops');
  await o.page.locator('ul.documents a').first().click();
  await o.page.getByRole('heading', { name: 'イベント履歴' }).waitFor();
  await ready(o.page);
  await o.page.getByText('ExecutionStarted').first().waitFor();
  await judgeScreen(o.page, 'ops-execution');

  // A Distributed Map's run: its execution lists the run's children, each of which opens
  // like any execution.
  execFileSync(join(dirname(KEIYAKU_BIN), 'keiyaku-seed-map-run'), [server.dataDir, 'map-run-demo']);
  await o.page.getByRole('link', { name: '実行の一覧へ' }).click();
  await o.page.getByRole('link', { name: 'map-run-demo' }).click();
  await o.page.getByRole('heading', { name: 'Map Run（分散マップの子実行）' }).waitFor();
  await ready(o.page);
  await o.page.getByText('MapRunSucceeded').waitFor();
  const children = o.page.locator('section.map-run li');
  assert.equal(await children.count(), 3);
  assert.equal(await children.filter({ hasText: 'SUCCEEDED' }).count(), 2);
  await judgeScreen(o.page, 'ops-map-run');
  await children.filter({ hasText: 'FAILED' }).getByRole('link').click();
  await o.page.getByText('ExecutionFailed').waitFor();
  await ready(o.page);
  await o.page.getByText('Item.Refused').first().waitFor();
  assert.equal(await o.page.locator('section.map-run').count(), 0);
  o.check();
  await o.close();
});

test('lists page on; an approver has a tab of their own and rejects with a reason; dates in the Japanese era; ten wrong codes suspend a link', async () => {
  const { server, browser } = env;
  await account(server, 'lists@example.jp', '一覧 太郎', PASSWORD);
  await account(server, 'lists-boss@example.jp', '一覧 部長', PASSWORD);
  const bearer = await apiToken(server, 'lists@example.jp');
  let id;
  for (let i = 1; i <= 23; i += 1) id = await uploadPdf(server, bearer, `一覧の契約書 ${i}`);
  await apiCall(server, bearer, 'POST', `/documents/${id}/send`, {
    recipients: [{ name: '山田 花子', email: 'hanako.lists@example.jp', access_code: '1234' }],
    approvers: ['lists-boss@example.jp'],
  });

  const s = await open(browser, server);
  await logIn(s.page, server, 'lists@example.jp', PASSWORD);
  await s.page.getByRole('link', { name: '下書き' }).click();
  await ready(s.page);
  assert.equal(await s.page.locator('ul.documents li').count(), 20);
  await s.page.getByRole('button', { name: 'さらに表示' }).click();
  await s.page.waitForFunction(() => document.querySelectorAll('ul.documents li').length === 22);
  assert.equal(await s.page.getByRole('button', { name: 'さらに表示' }).count(), 0);
  // A search typed full-width finds the half-width title.
  await s.page.getByLabel('タイトルで検索').fill('契約書　２２');
  await s.page.getByRole('button', { name: '検索', exact: true }).click();
  await s.page.waitForFunction(() => document.querySelectorAll('ul.documents li').length === 1);
  await s.page.getByRole('link', { name: '一覧の契約書 22' }).waitFor();
  await s.page.getByRole('link', { name: '確認待ち' }).click();
  await ready(s.page);
  await s.page.getByRole('link', { name: '一覧の契約書 23' }).waitFor();
  // The Japanese era, from the settings.
  await s.page.getByRole('link', { name: '設定' }).click();
  await ready(s.page);
  await s.page.getByLabel('日付を和暦で表示する').check();
  await s.page.getByRole('link', { name: '文書' }).click();
  await ready(s.page);
  await s.page.getByRole('link', { name: '確認待ち' }).click();
  await ready(s.page);
  assert.match(await s.page.locator('ul.documents time').first().textContent(), /^令和\d+\/\d{2}\/\d{2}\(.\) \d{2}:\d{2} JST$/);
  await judgeScreen(s.page, 'documents-open-era');
  s.check();
  await s.close();

  // The approver finds both in their tab, and rejects one with markup as the reason.
  const rejected = await uploadPdf(server, bearer, '却下される契約書');
  await apiCall(server, bearer, 'POST', `/documents/${rejected}/send`, {
    recipients: [{ name: '山田 花子', email: 'hanako.lists@example.jp' }],
    approvers: ['lists-boss@example.jp'],
  });
  const b = await open(browser, server);
  await logIn(b.page, server, 'lists-boss@example.jp', PASSWORD);
  await b.page.getByRole('link', { name: '承認依頼' }).click();
  await ready(b.page);
  await b.page.getByRole('link', { name: '一覧の契約書 23' }).waitFor();
  await b.page.getByRole('link', { name: '却下される契約書' }).click();
  await ready(b.page);
  await readToTheEnd(b.page);
  await b.page.getByRole('button', { name: '却下する' }).click();
  await b.page.getByLabel('却下の理由').fill(XSS('reject reason'));
  await judgeScreen(b.page, 'reject-dialog');
  await b.page.getByRole('dialog').getByRole('button', { name: '却下する' }).click();
  await b.page.getByText('却下しました。', { exact: true }).waitFor();
  await noScriptRan(b.page);
  b.check();
  await b.close();
  const seen = await open(browser, server);
  await logIn(seen.page, server, 'lists@example.jp', PASSWORD);
  await seen.page.goto(`${server.url}/documents/${rejected}`);
  await ready(seen.page);
  await seen.page.locator('.status-rejected').first().waitFor();
  await seen.page.getByText(XSS('reject reason')).waitFor();
  await noScriptRan(seen.page);
  seen.check();
  await seen.close();
  const boss = await apiToken(server, 'lists-boss@example.jp');
  await apiCall(server, boss, 'POST', `/documents/${id}/approve`);

  // Ten wrong codes: the link is suspended, and its page says what to do.
  const link = await mailedLink(server.dataDir, 'hanako.lists@example.jp', '/r/#');
  const token = link.slice(link.indexOf('#') + 1);
  for (let i = 0; i < 10; i += 1) {
    const r = await fetch(`${server.url}/api/v1/r/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, code: '0000' }) });
    // The tenth suspends the link at once.
    assert.equal(r.status, i < 9 ? 401 : 403, `wrong code ${i + 1}`);
  }
  const r = await open(browser, server);
  r.expect('POST', '/api/v1/r/session', 403);
  await r.page.goto(link);
  await r.page.getByText('アクセスコードの誤りが続いたため、このリンクは停止されました。').waitFor();
  await judgeScreen(r.page, 'recipient-suspended');
  r.check();
  await r.close();
});

test('an upload cut off keeps the chosen file; the editor shows each refusal at its field', async () => {
  const { server, browser } = env;
  await account(server, 'editor@example.jp', '編集 太郎', PASSWORD);
  const w = await open(browser, server);
  const { page } = w;
  await logIn(page, server, 'editor@example.jp', PASSWORD);
  await page.goto(`${server.url}/documents/new`);
  await ready(page);
  // Dropped on the zone, as from the desktop, under a file name that is markup.
  const filename = `${XSS('file name')}.pdf`;
  const dropped = await page.evaluateHandle(
    ([b64, name]) => {
      const transfer = new DataTransfer();
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], name, { type: 'application/pdf' }));
      return transfer;
    },
    [readFileSync(FIXTURE_PDF).toString('base64'), filename],
  );
  await page.dispatchEvent('.drop', 'dragover', { dataTransfer: dropped });
  await page.dispatchEvent('.drop', 'drop', { dataTransfer: dropped });
  await page.getByText(`選択中: ${filename}`).waitFor();
  assert.equal(await page.getByLabel('タイトル').inputValue(), XSS('file name'));
  await noScriptRan(page);
  await w.setOffline(true);
  await page.getByRole('button', { name: 'アップロードして下書きを作る' }).click();
  await page.getByText('サーバーに接続できません。').waitFor();
  await page.getByText(`選択中: ${filename}`).waitFor();
  await judgeScreen(page, 'new-document-offline');
  await w.setOffline(false);
  await page.getByRole('button', { name: 'アップロードして下書きを作る' }).click();
  await page.getByRole('heading', { name: '下書きの編集' }).waitFor();
  await ready(page);
  // The server keeps the name without the characters file systems refuse (< > : " | ? *).
  const stored = filename.replace(/[<>:"|?*]/g, '');
  await page.getByText(stored).waitFor();
  await noScriptRan(page);

  const first = page.locator('.parties-edit').first().locator('li').first();
  await first.getByLabel('氏名').fill('山田 花子');
  await first.getByLabel('メールアドレス').fill('not-an-address');
  w.expect('PATCH', /^\/api\/v1\/documents\/[^/]+$/, 400);
  await page.getByRole('button', { name: '内容を確認する' }).click();
  const email = first.getByLabel('メールアドレス');
  await page.waitForFunction(() => document.querySelector('[name="recipients[0].email"]').getAttribute('aria-invalid') === 'true');
  await first.getByText('メールアドレスの形式が正しくありません。').waitFor();
  assert.equal(await email.evaluate((el) => el === document.activeElement), true, 'the field in error takes the focus');
  await judgeScreen(page, 'draft-field-error');
  // The same person twice: the second row is the one named.
  await email.fill('hanako@example.jp');
  await page.getByRole('button', { name: '受信者を追加' }).click();
  const second = page.locator('.parties-edit').first().locator('li').nth(1);
  await second.getByLabel('氏名').fill('山田 花子');
  await second.getByLabel('メールアドレス').fill('ＨＡＮＡＫＯ＠example.jp');
  w.expect('PATCH', /^\/api\/v1\/documents\/[^/]+$/, 400);
  await page.getByRole('button', { name: '内容を確認する' }).click();
  await second.getByText('同じ受信者が 2 回指定されています。').waitFor();
  await second.getByRole('button', { name: '削除' }).click();
  await page.getByRole('button', { name: '内容を確認する' }).click();
  await page.getByRole('heading', { name: '送信内容の確認' }).waitFor();
  await page.getByText(stored).waitFor();
  await noScriptRan(page);
  w.check();
  await w.close();
});

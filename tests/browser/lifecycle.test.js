// The whole life of a contract by clicking: the sender signs up (confirming through the
// maildir link), uploads a PDF, names an approver and two recipients (one with an access
// code, reordered with the buttons), reviews and sends; the approver approves after reading
// to the end; each recipient opens their link in a fresh browser (one at phone size), the
// second after a wrong then a full-width access code, reads to the last page and agrees; the
// sender sees it completed and downloads the sealed PDF, which `keiyaku verify` accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, ready, judgeScreen, mailedLink, account, logIn, readToTheEnd, FIXTURE_PDF, KEIYAKU_BIN, PHONE, serverAndBrowser, PASSWORD } from './harness.js';

const env = serverAndBrowser();


test('a contract from upload to the sealed file, by clicking', async () => {
  const { server, browser } = env;
  await account(server, 'boss@example.jp', '承認 部長', PASSWORD);
  const s = await open(browser, server);
  const { page } = s;
  await page.goto(`${server.url}/signup`);
  await ready(page);
  await page.getByLabel('氏名').fill('山田 太郎');
  await page.getByLabel('メールアドレス').fill('taro@example.jp');
  await page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: '登録する' }).click();
  await page.getByRole('heading', { name: '確認メールを送りました' }).waitFor();
  await page.goto(await mailedLink(server.dataDir, 'taro@example.jp', '/verify-email#'));
  await page.getByText('メールアドレスを確認しました。').waitFor();
  await logIn(page, server, 'taro@example.jp', PASSWORD);
  await judgeScreen(page, 'documents-empty');

  // Upload, with its progress.
  await page.getByRole('link', { name: '新しい文書' }).click();
  await ready(page);
  await judgeScreen(page, 'new-document');
  await page.getByRole('button', { name: 'アップロードして下書きを作る' }).click();
  await page.getByText('PDF ファイルを選んでください。').waitFor();
  await page.getByLabel('PDF ファイル').setInputFiles(FIXTURE_PDF);
  await page.getByText('選択中: valid_table.pdf').waitFor();
  assert.equal(await page.getByLabel('タイトル').inputValue(), 'valid_table');
  await page.getByLabel('タイトル').fill('業務委託契約書');
  await page.getByRole('button', { name: 'アップロードして下書きを作る' }).click();
  await page.getByRole('heading', { name: '下書きの編集' }).waitFor();
  await ready(page);
  const id = new URL(page.url()).pathname.split('/').pop();

  // The parties: two recipients, put in order with the buttons; an approver.
  await page.getByLabel('氏名').first().fill('佐藤 一郎');
  await page.getByLabel('メールアドレス').first().fill('ichiro@example.jp');
  await page.getByLabel('アクセスコード（任意）').first().fill('１２３４');
  await page.getByRole('button', { name: '受信者を追加' }).click();
  const second = page.locator('.parties-edit').first().locator('li').nth(1);
  await second.getByLabel('氏名').fill('山田 花子');
  await second.getByLabel('メールアドレス').fill('ｈａｎａｋｏ＠example.jp');
  await second.getByLabel('会社名（任意）').fill('株式会社サンプル');
  await second.getByRole('button', { name: '上へ移動' }).click();
  assert.equal(await page.locator('.parties-edit').first().locator('legend').first().textContent(), '受信者 1');
  assert.equal(await page.locator('.parties-edit').first().locator('li').first().getByLabel('氏名').inputValue(), '山田 花子');
  await page.getByRole('button', { name: '承認者を追加' }).click();
  await page.locator('.parties-edit').nth(1).getByLabel('メールアドレス').fill('boss@example.jp');
  await page.getByLabel('メッセージ').fill('ご確認のほど、よろしくお願いいたします。');
  await judgeScreen(page, 'draft');
  await page.getByRole('button', { name: '内容を確認する' }).click();
  await page.getByRole('heading', { name: '送信内容の確認' }).waitFor();
  await page.getByText('山田 花子 / 株式会社サンプル').waitFor();
  await judgeScreen(page, 'review');
  await page.getByRole('button', { name: 'この内容で送信する' }).click();
  await page.getByText('承認待ち').first().waitFor();
  await ready(page);
  await judgeScreen(page, 'detail-awaiting-approval');

  // The approver, from the mailed link, approves once they read to the end.
  const a = await open(browser, server);
  const approvalLink = await mailedLink(server.dataDir, 'boss@example.jp', `/documents/${id}`);
  await a.page.goto(approvalLink);
  await ready(a.page);
  await a.page.getByLabel('メールアドレス').fill('boss@example.jp');
  await a.page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
  await a.page.getByRole('button', { name: 'ログイン' }).click();
  await a.page.getByRole('heading', { name: '業務委託契約書' }).waitFor();
  await ready(a.page);
  const approve = a.page.getByRole('button', { name: '承認する' });
  assert.equal(await approve.isDisabled(), true, 'approval waits for the last page');
  await readToTheEnd(a.page);
  await a.page.waitForFunction(() => !document.querySelector('.answer-bar .primary').disabled);
  await approve.click();
  await a.page.getByRole('dialog').getByRole('button', { name: '承認する' }).click();
  await a.page.getByText('承認しました。').waitFor();
  a.check();
  await a.close();

  // The first recipient, on a phone.
  const h = await open(browser, server, { viewport: PHONE, isMobile: true, hasTouch: true });
  await h.page.goto(await mailedLink(server.dataDir, 'hanako@example.jp', '/r/#'));
  await h.page.getByRole('heading', { name: '業務委託契約書' }).waitFor();
  await ready(h.page);
  assert.equal(new URL(h.page.url()).hash, '');
  await judgeScreen(h.page, 'recipient');
  const agree = h.page.getByRole('button', { name: '同意する' });
  assert.equal(await agree.isDisabled(), true);
  await readToTheEnd(h.page);
  await h.page.waitForFunction(() => !document.querySelector('.answer-bar .primary').disabled);
  await agree.click();
  await judgeScreen(h.page, 'recipient-confirm');
  await h.page.getByRole('dialog').getByRole('button', { name: '同意する' }).click();
  await h.page.getByText('同意しました。ありがとうございました。').waitFor();
  await judgeScreen(h.page, 'recipient-agreed');
  h.check();
  await h.close();

  // The second, after a wrong code, with the right one typed full-width.
  const i = await open(browser, server);
  const link = await mailedLink(server.dataDir, 'ichiro@example.jp', '/r/#');
  i.expect('POST', '/api/v1/r/session', 401);
  await i.page.goto(link);
  await i.page.getByRole('heading', { name: 'アクセスコードの入力' }).waitFor();
  await judgeScreen(i.page, 'recipient-code');
  await i.page.getByLabel('アクセスコード').fill('0000');
  i.expect('POST', '/api/v1/r/session', 401);
  await i.page.getByRole('button', { name: '文書を開く' }).click();
  await i.page.getByText('アクセスコードが違います。').waitFor();
  await judgeScreen(i.page, 'recipient-code-wrong');
  await i.page.getByLabel('アクセスコード').fill('１２３４');
  await i.page.getByRole('button', { name: '文書を開く' }).click();
  await i.page.getByRole('heading', { name: '業務委託契約書' }).waitFor();
  await readToTheEnd(i.page);
  await i.page.getByRole('button', { name: '同意する' }).click();
  await i.page.getByRole('dialog').getByRole('button', { name: '同意する' }).click();
  await i.page.getByText('同意しました。ありがとうございました。').waitFor();
  i.check();

  // The sender sees it completed, with everyone's answer and the history.
  // Sealing and the long-term extension run in the background: a slow machine takes longer.
  for (let n = 0; n < 300; n += 1) {
    await page.goto(`${server.url}/documents/${id}`);
    await ready(page);
    if (await page.locator('.status-completed').count()) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.locator('.status-completed').first().waitFor();
  await page.getByText('山田 花子 様が最後のページまで表示しました').waitFor();
  await judgeScreen(page, 'detail-completed');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: '締結済みの PDF をダウンロード' }).click()]);
  const dir = mkdtempSync(join(tmpdir(), 'keiyaku-download-'));
  const file = join(dir, 'sealed.pdf');
  await download.saveAs(file);
  const root = join(dir, 'root.pem');
  writeFileSync(root, readFileSync(join(server.dataDir, 'pki', 'root.pem')));
  const report = JSON.parse(execFileSync(KEIYAKU_BIN, ['verify', file, '--json', '--trust', root], { encoding: 'utf8' }));
  assert.equal(report.signatures.length, 4, JSON.stringify(report));

  // The verify page, open to anyone: the sealed file is valid, a copy changed inside what
  // the first seal signed is not.
  await page.getByRole('link', { name: '検証' }).click();
  await ready(page);
  await judgeScreen(page, 'verify');
  await page.getByLabel('検証する PDF').setInputFiles(file);
  await page.getByRole('button', { name: '検証する', exact: true }).click();
  await page.getByText('有効: この PDF は署名の後に改ざんされていません。').waitFor();
  await page.getByText('山田 花子 様が同意').first().waitFor();
  assert.equal(await page.locator('ol.signatures > li').count(), 4);
  await judgeScreen(page, 'verify-valid');
  const sealed = readFileSync(file);
  const at = sealed.indexOf('page 1');
  assert.ok(at > 0, 'the fixture shows its page numbers uncompressed');
  sealed.write('page 9', at, 'latin1');
  const tampered = join(dir, 'tampered.pdf');
  writeFileSync(tampered, sealed);
  await page.getByLabel('検証する PDF').setInputFiles(tampered);
  await page.getByRole('button', { name: '検証する', exact: true }).click();
  await page.getByText('無効: この PDF は署名の後に変更されているか、署名が壊れています。').waitFor();
  await page.getByText('署名した後に内容が変更されています。').first().waitFor();
  await judgeScreen(page, 'verify-invalid');

  // The recipient's link keeps showing the sealed file.
  await i.page.reload();
  await i.page.getByText('すべての当事者が同意し、締結されました。').waitFor();
  await i.page.getByRole('link', { name: '締結済みの PDF をダウンロード' }).waitFor();
  await judgeScreen(i.page, 'recipient-completed');
  i.check();
  await i.close();
  s.check();
  await s.close();
});

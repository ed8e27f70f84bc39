// The client's static parts. Its catalogues: both languages have the same keys, and every
// key the client names literally (in the markup's data-i18n, `i18n: '…'`, `t('…')`,
// `setText(…, '…')`) is in them, so no raw key is ever shown. Keys built at run time (`status.${s}`) are checked where the
// browser tests meet them (a missing key is a console error, which fails those tests). Its
// entry page: every module preloaded, so the import graph costs one round trip, not one per
// level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ja from '../../web/assets/i18n/ja.js';
import en from '../../web/assets/i18n/en.js';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

test('both catalogues have the same keys, none empty', () => {
  assert.deepEqual(Object.keys(en).sort(), Object.keys(ja).sort());
  for (const [key, text] of [...Object.entries(ja), ...Object.entries(en)]) {
    assert.ok(typeof text === 'string' && text.trim(), `${key} is empty`);
  }
  // Placeholders agree between the languages.
  for (const key of Object.keys(ja)) {
    const names = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(names(en[key]), names(ja[key]), `placeholders of ${key}`);
  }
});

test('every key the client names is in the catalogues', () => {
  const named = new Set();
  const patterns = [
    /data-i18n(?:-[a-z-]+)?="([a-z_.0-9]+)"/g,
    /\bi18n(?:-[a-z-]+)?'?: '([a-z_.0-9]+)'/g,
    /\bt\('([a-z_.0-9]+)'/g,
    /setText\([^,]+, '([a-z_.0-9]+)'/g,
    /\? '([a-z_]+\.[a-z_.0-9]+)' : '([a-z_]+\.[a-z_.0-9]+)'/g,
    /\b(?:title|body|confirm|label|hint|legend|submit): '([a-z_]+\.[a-z_.0-9]+)'/g,
    /: '([a-z_]+\.[a-z_.0-9]+)'[,)]/g,
  ];
  for (const file of files(WEB).filter((f) => /\.(js|html)$/.test(f) && !f.includes(`${join('assets', 'i18n')}`))) {
    const source = readFileSync(file, 'utf8');
    for (const re of patterns) for (const m of source.matchAll(re)) for (const k of m.slice(1)) if (k) named.add(k);
  }
  // Keys made from values the API gives.
  const statuses = ['draft', 'awaiting_approval', 'in_progress', 'completed', 'declined', 'rejected', 'cancelled', 'expired', 'seal_failed'];
  for (const s of statuses) named.add(`status.${s}`).add(`r.status_${s}`).add(`history.became.${s}`);
  for (const d of ['agreed', 'declined', 'approved', 'rejected']) named.add(`party.${d}`);
  for (const d of ['agreed', 'declined']) named.add(`r.you_${d}`);
  for (const g of ['draft', 'open', 'completed', 'closed', 'approvals', 'team']) named.add(`documents.tab_${g}`);
  for (const k of ['recipients', 'approvers']) named.add(`draft.add_${k}`);
  for (const r of ['admin', 'member', 'auditor']) named.add(`role.${r}`);
  for (const k of ['none', 'any_of', 'in_order']) named.add(`team.approval_${k}`);
  for (const k of ['any_of', 'in_order']) named.add(`draft.rule_${k}`);
  for (const k of ['account', 'team', 'document', 'recipient', 'approver', 'audit']) named.add(`audit.kind.${k}`);
  for (const k of ['success', 'failure']) named.add(`audit.outcome.${k}`);
  for (const k of ['edited', 'missing', 'moved', 'cut']) named.add(`audit.broken.${k}`);
  for (const k of ['time', 'actor', 'action', 'target', 'outcome', 'ip', 'seq']) named.add(`audit.col.${k}`);
  assert.ok(named.size > 50, `only ${named.size} keys found: the patterns no longer match the code`);
  const missing = [...named].filter((k) => !(k in ja));
  assert.deepEqual(missing, []);
});

test('the page preloads every module but app.js, and nothing else', () => {
  const index = readFileSync(join(WEB, 'index.html'), 'utf8');
  const preloaded = [...index.matchAll(/<link rel="modulepreload" href="\/([^"]+)">/g)].map((m) => m[1]).sort();
  const modules = files(join(WEB, 'assets'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(WEB.length + 1))
    .filter((f) => f !== 'assets/app.js')
    .sort();
  assert.deepEqual(preloaded, modules);
});

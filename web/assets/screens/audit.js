// The team's audit log (監査ログ), for admins and auditors: a search by period, member, kind
// of act and target, newest first a page at a time; the CSV of the same search (a plain
// link: the browser downloads it with the session cookie); and the check of the log's hash
// chain, which names the first broken link.
import { h, replace, setText, when } from '../dom.js';
import { api } from '../api.js';
import { field, form, sayError } from '../form.js';
import { has } from '../i18n.js';

const KINDS = ['account.', 'team.', 'document.', 'recipient.', 'approver.', 'audit.'];

// A date input's day as the start of that day in the viewer's zone (RFC 3339), or ''.
function dayStart(value, plusDays = 0) {
  if (!value) return '';
  const d = new Date(`${value}T00:00`);
  d.setDate(d.getDate() + plusDays);
  return d.toISOString();
}

// A labelled select of `options` ([value, i18n key] or [value, user text]).
function picker(name, label, options) {
  const id = `audit-${name}`;
  const select = h(
    'select',
    { id, name },
    options.map(([value, text, user]) => h('option', user ? { value, translate: 'no' } : { value, i18n: text }, user ? text : null)),
  );
  return h('div', { class: 'field' }, h('label', { for: id, i18n: label }), select);
}

export async function audit(main, _params, current) {
  const members = await api('GET', '/team/members');
  if (!current()) return;
  const names = Object.fromEntries(members.map((m) => [m.id, m.name]));
  const rows = h('tbody');
  const more = h('button', { type: 'button', i18n: 'audit.more', hidden: true });
  const count = h('p', { role: 'status', class: 'notice' });
  const exportLink = h('a', { class: 'button', i18n: 'audit.export', download: 'keiyaku-audit-log.csv' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  let query = '';
  let cursor = null;
  let shown = 0;

  // A member target by name; anything else as recorded.
  const target = (t) => (t?.startsWith('user:') && names[t.slice(5)]) || t || '';
  const row = (e) =>
    h(
      'tr',
      {},
      h('td', {}, when(e.at)),
      h('td', { translate: 'no' }, e.actor_name || names[e.actor] || e.actor),
      h('td', has(`audit.action.${e.action}`) ? { i18n: `audit.action.${e.action}` } : { translate: 'no' }, has(`audit.action.${e.action}`) ? null : e.action),
      h('td', { translate: 'no' }, target(e.target)),
      h('td', { i18n: `audit.outcome.${e.outcome}` }),
      h('td', { translate: 'no', title: e.user_agent || '' }, e.ip),
      h('td', {}, e.chain ? String(e.chain.seq) : ''),
    );
  const load = async (fresh) => {
    if (fresh) {
      cursor = null;
      shown = 0;
      replace(rows);
    }
    const page = await api('GET', `/team/audit?limit=100${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (!current()) return;
    rows.append(...page.events.map(row));
    shown += page.events.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    setText(count, shown ? 'audit.count' : 'audit.none', { count: String(shown) });
  };

  const search = form({
    fields: [
      field({ name: 'from', label: 'audit.from', type: 'date', required: false }),
      field({ name: 'to', label: 'audit.to', type: 'date', required: false }),
      picker('actor', 'audit.actor', [['', 'audit.anyone'], ...members.map((m) => [m.id, `${m.name} (${m.email})`, true])]),
      picker('action', 'audit.kind', [['', 'audit.any_kind'], ...KINDS.map((k) => [k, `audit.kind.${k.slice(0, -1)}`])]),
      field({ name: 'target', label: 'audit.target', hint: 'audit.target_hint', required: false, normalize: true }),
    ],
    submit: 'audit.search',
    onSubmit: async (v) => {
      const params = new URLSearchParams();
      if (v.from) params.set('from', dayStart(v.from));
      if (v.to) params.set('to', dayStart(v.to, 1));
      if (v.actor) params.set('actor', v.actor);
      if (v.action) params.set('action', v.action);
      // A bare document id is a document.
      if (v.target) params.set('target', /^[0-9a-f]{28}$/.test(v.target) ? `document:${v.target}` : v.target);
      query = params.toString() ? `&${params}` : '';
      exportLink.href = `/api/v1/team/audit/export${params.toString() ? `?${params}` : ''}`;
      await load(true);
    },
  });
  more.addEventListener('click', async () => {
    error.textContent = '';
    try {
      await load(false);
    } catch (e) {
      sayError(error, e);
    }
  });

  const verdict = h('p', { role: 'status' });
  const verify = h('button', { type: 'button', i18n: 'audit.verify' });
  verify.addEventListener('click', async () => {
    error.textContent = '';
    verify.disabled = true;
    try {
      const v = await api('GET', '/team/audit/verify');
      if (v.intact) setText(verdict, 'audit.intact', { count: String(v.checked), head: String(v.head_seq) });
      else setText(verdict, `audit.broken.${v.first_broken.reason}`, { seq: String(v.first_broken.seq) });
      verdict.className = v.intact ? 'notice' : 'form-error';
    } catch (e) {
      sayError(error, e);
    } finally {
      verify.disabled = false;
    }
  });

  exportLink.href = '/api/v1/team/audit/export';
  await load(true);
  main.append(
    h('h1', { i18n: 'audit.title' }),
    h('p', { class: 'hint', i18n: 'audit.hint' }),
    error,
    h('section', { 'aria-labelledby': 'audit-search' }, h('h2', { id: 'audit-search', i18n: 'audit.search_title' }), search, h('div', { class: 'actions' }, exportLink)),
    h(
      'section',
      { 'aria-labelledby': 'audit-events' },
      h('h2', { id: 'audit-events', i18n: 'audit.events' }),
      count,
      h(
        'div',
        { class: 'table-wrap', tabindex: '0', 'i18n-aria-label': 'audit.events' },
        h(
          'table',
          { class: 'events audit' },
          h('thead', {}, h('tr', {}, ['time', 'actor', 'action', 'target', 'outcome', 'ip', 'seq'].map((c) => h('th', { scope: 'col', i18n: `audit.col.${c}` })))),
          rows,
        ),
      ),
      h('div', { class: 'actions' }, more),
    ),
    h('section', { 'aria-labelledby': 'audit-chain' }, h('h2', { id: 'audit-chain', i18n: 'audit.chain' }), h('p', { class: 'hint', i18n: 'audit.chain_hint' }), verdict, h('div', { class: 'actions' }, verify)),
  );
}

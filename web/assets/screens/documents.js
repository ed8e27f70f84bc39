// The sender's documents: tabs by status, a title search, paging; for the team's admins and
// auditors, every document of the team (親展 ones show only that they exist).
import { h, replace, when } from '../dom.js';
import { api } from '../api.js';
import { guardComposition, normalized, sayError } from '../form.js';
import { currentUser } from '../state.js';

// The status tabs, then the documents others asked the viewer to approve.
export const TABS = ['draft', 'open', 'completed', 'closed', 'approvals'];

export async function list(main, _params, current) {
  const query = new URLSearchParams(location.search);
  const shown = ['admin', 'auditor'].includes(currentUser().role) ? [...TABS, 'team'] : TABS;
  const tab = shown.includes(query.get('tab')) ? query.get('tab') : 'open';
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const search = h('input', { type: 'search', id: 'q', name: 'q', 'data-normalize': 'nfkc', enterkeyhint: 'search', value: query.get('q') || '' });
  const searchForm = h(
    'form',
    { role: 'search', novalidate: true, class: 'search', onsubmit: (e) => { e.preventDefault(); load(null); } },
    h('label', { for: 'q', i18n: 'documents.search' }),
    h('div', { class: 'inline' }, search, h('button', { type: 'submit', i18n: 'documents.search_button' })),
  );
  guardComposition(searchForm);
  const tabs = h(
    'nav',
    { class: 'tabs', 'i18n-aria-label': 'documents.tabs' },
    shown.map((name) => h('a', { href: `/documents?tab=${name}`, 'data-link': true, 'aria-current': name === tab ? 'page' : null, i18n: `documents.tab_${name}` })),
  );
  main.append(
    h('div', { class: 'heading' }, h('h1', { i18n: 'documents.title' }), h('a', { href: '/documents/new', 'data-link': true, class: 'button primary', i18n: 'documents.new' })),
    tabs,
    searchForm,
    results,
  );

  async function load(cursor) {
    const q = normalized(search.value);
    const role = { approvals: 'approver', team: 'team' }[tab];
    const params = new URLSearchParams(role ? { role, limit: '20' } : { group: tab, limit: '20' });
    if (q) params.set('q', q);
    if (cursor) params.set('cursor', cursor);
    results.setAttribute('aria-busy', 'true');
    try {
      const page = await api('GET', `/documents?${params}`);
      if (!current()) return;
      show(page, cursor);
    } catch (e) {
      const p = h('p', { class: 'form-error', role: 'alert' });
      sayError(p, e);
      replace(results, p);
    } finally {
      results.removeAttribute('aria-busy');
    }
  }

  function show(page, cursor) {
    if (!cursor) replace(results);
    results.querySelector('.more')?.remove();
    if (!page.documents.length && !cursor) {
      results.append(h('p', { class: 'muted', i18n: 'documents.none' }));
      return;
    }
    let table = results.querySelector('ul.documents');
    if (!table) {
      table = h('ul', { class: 'documents' });
      results.append(table);
    }
    for (const d of page.documents) table.append(row(d));
    if (page.next_cursor) {
      results.append(h('button', { type: 'button', class: 'more', i18n: 'documents.more', onclick: () => load(page.next_cursor) }));
    }
  }

  await load(null);
}

function row(d) {
  const parties = (d.parties || []).map((p) => p.name).join('、');
  // A 親展 document of someone else's, in the team's list: that it exists, nothing more.
  const hidden = d.confidential && !d.title;
  return h(
    'li',
    {},
    h('span', {},
      hidden
        ? h('span', { class: 'title muted', i18n: 'documents.confidential_hidden' })
        : h('a', { href: `/documents/${encodeURIComponent(d.id)}`, 'data-link': true, class: 'title', translate: 'no' }, d.title),
      d.confidential && h('span', { class: 'badge', i18n: 'documents.confidential' })),
    h('span', { class: `status status-${d.status}`, i18n: `status.${d.status}` }),
    parties && h('span', { class: 'parties', translate: 'no' }, parties),
    when(d.updated_at),
  );
}

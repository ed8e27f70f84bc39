// The operators' view: the workflow's executions by status, one execution's event history
// (Step Functions' event names, as the console shows them on AWS) with the child executions
// of its Distributed Maps' runs, and re-driving a seal that failed. Everyone else, signed in or not, gets the not-found page, as the API answers
// them 404.
import { add, h, replace, setText, when } from '../dom.js';
import { api } from '../api.js';
import { sayError } from '../form.js';
import { currentUser } from '../state.js';
import { notFound } from './misc.js';

const STATUSES = ['RUNNING', 'FAILED', 'SUCCEEDED', 'TIMED_OUT', 'ABORTED'];

async function guarded(main, f) {
  if (!currentUser()) return notFound(main);
  try {
    return await f();
  } catch (e) {
    if (e.status === 404) {
      replace(main);
      return notFound(main);
    }
    throw e;
  }
}

export function executions(main, _params, current) {
  return guarded(main, async () => {
    const status = new URLSearchParams(location.search).get('status');
    const filter = STATUSES.includes(status) ? status : null;
    const list = h('ul', { class: 'documents' });
    const more = h('div');
    const load = async (cursor) => {
      const q = new URLSearchParams({ limit: '50' });
      if (filter) q.set('status', filter);
      if (cursor) q.set('cursor', cursor);
      const page = await api('GET', `/ops/executions?${q}`);
      if (!current()) return;
      for (const e of page.executions) list.append(executionItem(e));
      replace(more, page.next_cursor ? h('button', { type: 'button', class: 'more', i18n: 'documents.more', onclick: () => load(page.next_cursor) }) : null);
      if (!list.children.length) replace(more, h('p', { class: 'muted', i18n: 'ops.none' }));
    };
    await load(null);
    add(
      main,
      h('h1', { i18n: 'ops.title' }),
      h('nav', { class: 'tabs', 'i18n-aria-label': 'documents.tabs' },
        h('a', { href: '/ops', 'data-link': true, 'aria-current': filter ? null : 'page', i18n: 'ops.all' }),
        STATUSES.map((s) => h('a', { href: `/ops?status=${s}`, 'data-link': true, 'aria-current': filter === s ? 'page' : null }, s)),
      ),
      list,
      more,
    );
  });
}

export function execution(main, { id }) {
  return guarded(main, async () => {
    const e = await api('GET', `/ops/executions/${encodeURIComponent(id)}`);
    draw(main, e);
  });
}

function draw(main, e) {
  const entered = e.events.filter((ev) => ev.stateEnteredEventDetails);
  const last = entered.length ? entered[entered.length - 1].stateEnteredEventDetails.name : null;
  const parked = e.status === 'RUNNING' && last === 'SealFailed';
  const notice = h('p', { role: 'status', class: 'notice' });
  const error = h('p', { role: 'alert', class: 'form-error' });
  const retry = parked
    ? h('button', {
        type: 'button',
        class: 'primary',
        i18n: 'ops.retry',
        onclick: async () => {
          try {
            const fresh = await api('POST', `/ops/executions/${encodeURIComponent(e.id)}/retry`);
            replace(main);
            draw(main, fresh);
            setText(main.querySelector('[role="status"]'), 'ops.retried');
          } catch (err) {
            sayError(error, err);
          }
        },
      })
    : null;
  add(
    main,
    h('h1', {}, e.name),
    h('dl', { class: 'summary' },
      h('dt', { i18n: 'ops.status' }), h('dd', {}, h('span', { class: `status exec-${e.status}` }, e.status)),
      h('dt', { i18n: 'ops.started' }), h('dd', {}, when(e.start_date)),
      e.stop_date && [h('dt', { i18n: 'ops.stopped' }), h('dd', {}, when(e.stop_date))],
      last && [h('dt', { i18n: 'ops.state' }), h('dd', {}, last)],
      e.error && [h('dt', { i18n: 'ops.error' }), h('dd', {}, e.error, e.cause ? ` — ${e.cause}` : '')],
    ),
    parked ? h('p', { i18n: 'ops.parked' }) : null,
    notice,
    error,
    retry && h('div', { class: 'actions' }, retry),
    h('h2', { i18n: 'ops.events' }),
    h('div', { class: 'table-wrap', tabindex: '0', 'i18n-aria-label': 'ops.events' },
      h('table', { class: 'events' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col', i18n: 'ops.time' }), h('th', { scope: 'col', i18n: 'ops.type' }), h('th', { scope: 'col', i18n: 'ops.detail' }))),
        h('tbody', {}, e.events.map((ev) => h('tr', {}, h('td', {}, String(ev.id)), h('td', {}, when(ev.timestamp)), h('td', {}, ev.type), h('td', {}, detailOf(ev))))),
      ),
    ),
    (e.map_runs || []).map(mapRun),
    h('p', {}, h('a', { href: '/ops', 'data-link': true, i18n: 'ops.back' })),
  );
}

// A Distributed Map's run: its ARN and its child executions, each opened like any other.
function mapRun(run) {
  return h('section', { class: 'map-run' },
    h('h2', { i18n: 'ops.mapRun' }),
    h('p', {}, h('code', {}, run.map_run_arn)),
    h('ul', { class: 'documents' }, run.executions.map(executionItem)),
  );
}

// One execution in a list: its name (a link to it), its status and when it started (a Map
// Run's child recorded before dates were kept has none).
function executionItem(e) {
  return h('li', {}, h('a', { href: `/ops/executions/${encodeURIComponent(e.id)}`, 'data-link': true, class: 'title' }, e.name), h('span', { class: `status exec-${e.status}` }, e.status), e.start_date ? when(e.start_date) : null);
}

// The one line worth reading of an event: the state it names, or its error.
function detailOf(ev) {
  for (const [key, value] of Object.entries(ev)) {
    if (!key.endsWith('EventDetails') || !value) continue;
    if (value.name) return value.name;
    if (value.error) return `${value.error}${value.cause ? ` — ${String(value.cause).slice(0, 200)}` : ''}`;
    if (value.resource) return value.resource;
    if (value.mapRunArn) return value.mapRunArn;
  }
  return '';
}

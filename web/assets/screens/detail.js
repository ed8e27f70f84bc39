// One document as its sender or an approver sees it: a draft opens in its editor; anything
// else shows its pages, each party's state, the history as a timeline, the download of the
// current PDF, and what the viewer can do now (cancel and remind for the sender; approve or
// reject, once the last page was reached, for the approver whose turn it is).
import { add, h, setText, when } from '../dom.js';
import { api } from '../api.js';
import { has } from '../i18n.js';
import { sayError } from '../form.js';
import { confirmDialog } from '../dialog.js';
import { pageViewer } from '../pages.js';
import { editor } from './draft.js';
import { notFound } from './misc.js';

const OPEN = ['awaiting_approval', 'in_progress', 'seal_failed'];

export async function show(main, { id }) {
  let doc;
  try {
    doc = await api('GET', `/documents/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status === 404) return notFound(main);
    throw e;
  }
  if (doc.status === 'draft' && doc.viewer.role === 'sender') return editor(main, doc);
  view(main, doc);
}

// The party whose answer is awaited: the first approver, then the first recipient, without one.
function current(doc) {
  if (doc.status === 'awaiting_approval') return doc.approvers.find((a) => !a.answer)?.id;
  if (doc.status === 'in_progress') return doc.recipients.find((r) => !r.answer)?.id;
  return null;
}

// The words for a history event: the service's own status changes (`document.<status>` by
// keiyaku) read as the status the document reached.
function historyKey(e) {
  const status = e.action.startsWith('document.') ? e.action.slice('document.'.length) : '';
  if (e.actor === 'keiyaku' && has(`status.${status}`)) return `history.became.${status}`;
  return has(`history.${e.action}`) ? `history.${e.action}` : 'history.other';
}

function partyState(doc, party) {
  if (party.answer) return `party.${party.answer.decision}`;
  if (party.id === current(doc)) return 'party.waiting';
  return OPEN.includes(doc.status) ? 'party.queued' : 'party.none';
}

function view(main, doc) {
  const id = encodeURIComponent(doc.id);
  const sender = doc.viewer.role === 'sender';
  const notice = h('p', { role: 'status', class: 'notice' });
  const error = h('p', { role: 'alert', class: 'form-error' });
  const act = async (f) => {
    notice.textContent = '';
    error.textContent = '';
    try {
      await f();
    } catch (e) {
      sayError(error, e);
    }
  };
  const refresh = async (key) => {
    const fresh = await api('GET', `/documents/${id}`);
    main.replaceChildren();
    view(main, fresh);
    const status = main.querySelector('[role="status"]');
    if (key) setText(status, key);
    main.querySelector('h1').focus();
  };
  const actions = [];
  actions.push(h('a', { class: 'button', href: `/api/v1/documents/${id}/file?download=1`, download: '', i18n: doc.status === 'completed' ? 'detail.download_sealed' : 'detail.download' }));
  if (sender && doc.status === 'in_progress') {
    actions.push(h('button', { type: 'button', i18n: 'detail.remind', onclick: () => act(async () => { await api('POST', `/documents/${id}/remind`); setText(notice, 'detail.reminded'); }) }));
  }
  if (sender && ['awaiting_approval', 'in_progress'].includes(doc.status)) {
    actions.push(
      h('button', {
        type: 'button',
        class: 'danger',
        i18n: 'detail.cancel',
        onclick: async () => {
          if (!(await confirmDialog({ title: 'detail.cancel_title', body: 'detail.cancel_body', confirm: 'detail.cancel', danger: true }))) return;
          await act(async () => {
            await api('POST', `/documents/${id}/cancel`);
            await refresh('detail.cancelled');
          });
        },
      }),
    );
  }
  let answerBar = null;
  const mine = doc.viewer.role === 'approver' && doc.viewer.approver_id === current(doc);
  if (mine) {
    const approve = h('button', { type: 'button', class: 'primary', disabled: true, 'aria-describedby': 'answer-hint', i18n: 'detail.approve' });
    const reject = h('button', { type: 'button', class: 'danger', i18n: 'detail.reject' });
    approve.addEventListener('click', async () => {
      if (!(await confirmDialog({ title: 'detail.approve_title', body: 'detail.approve_body', bodyArgs: { title: doc.title }, confirm: 'detail.approve' }))) return;
      await act(async () => {
        await api('POST', `/documents/${id}/approve`);
        await refresh('detail.approved');
      });
    });
    reject.addEventListener('click', async () => {
      const reason = await confirmDialog({ title: 'detail.reject_title', body: 'detail.reject_body', confirm: 'detail.reject', danger: true, reason: { label: 'detail.reject_reason', required: true } });
      if (!reason) return;
      await act(async () => {
        await api('POST', `/documents/${id}/reject`, { reason });
        await refresh('detail.rejected');
      });
    });
    answerBar = h('div', { class: 'answer-bar' }, h('p', { id: 'answer-hint', class: 'hint', i18n: 'answer.read_to_end' }), h('div', { class: 'actions' }, approve, reject));
    answerBar.enable = () => {
      approve.disabled = false;
      setText(answerBar.querySelector('#answer-hint'), 'answer.ready');
    };
  }
  const people = (list, kind) =>
    h(
      'ol',
      { class: 'people' },
      list.map((p) =>
        h(
          'li',
          {},
          h('span', { class: 'who', translate: 'no' }, [p.name || p.email, p.company, p.department].filter(Boolean).join(' / ')),
          p.email && p.name ? h('span', { class: 'muted', translate: 'no' }, ` <${p.email}>`) : null,
          h('span', { class: `state state-${p.answer ? p.answer.decision : 'none'}`, i18n: partyState(doc, p) }),
          p.answer ? when(p.answer.answered_at) : null,
          p.answer?.reason ? h('q', { translate: 'no' }, p.answer.reason) : null,
          kind === 'recipients' && p.has_access_code ? h('span', { class: 'tag', i18n: 'review.access_code' }) : null,
        ),
      ),
    );
  const names = Object.fromEntries([...doc.recipients, ...doc.approvers].map((p) => [p.id, p.name || p.email]));
  const actor = (a) => (a === doc.owner_id ? null : names[a]);
  add(
    main,
    h('h1', { translate: 'no' }, doc.title),
    h('p', {}, h('span', { class: `status status-${doc.status}`, i18n: `status.${doc.status}` })),
    h('dl', { class: 'summary' },
      h('dt', { i18n: 'review.file' }), h('dd', {}, h('span', { translate: 'no' }, doc.filename), ' · ', h('span', { i18n: 'draft.pages', i18nArgs: { n: doc.pages } })),
      h('dt', { i18n: 'detail.updated' }), h('dd', {}, when(doc.updated_at)),
      doc.expires_at && [h('dt', { i18n: 'draft.expires_at' }), h('dd', {}, when(doc.expires_at))],
      doc.message && [h('dt', { i18n: 'draft.message' }), h('dd', { class: 'pre', translate: 'no' }, doc.message)],
    ),
    h('div', { class: 'actions' }, actions),
    notice,
    error,
    doc.approvers.length ? [h('h2', { i18n: 'draft.approvers' }), people(doc.approvers, 'approvers')] : null,
    h('h2', { i18n: 'draft.recipients' }),
    people(doc.recipients, 'recipients'),
    h('h2', { i18n: 'detail.pages' }),
    pageViewer({ count: doc.pages, url: (n, w) => `/api/v1/documents/${id}/pages/${n}?width=${w}`, onEnd: () => answerBar?.enable() }),
    h('h2', { i18n: 'detail.history' }),
    h(
      'ol',
      { class: 'timeline' },
      doc.history.map((e) =>
        h('li', {}, when(e.at), ' ', h('span', { i18n: historyKey(e), i18nArgs: { who: actor(e.actor) || '' }, i18nUser: 'who' }), e.ip && e.ip !== '-' ? h('span', { class: 'muted' }, ` (${e.ip})`) : null),
      ),
    ),
    answerBar,
  );
}

// The recipient's page, opened from the mailed link: the token is read from the fragment
// (already taken out of the address bar), handed to POST /r/session, and kept only in this
// page's memory for the access-code prompt; afterwards the recipient cookie (HttpOnly,
// path /api/v1/r) carries the session, so a reload still shows the document. 同意 is enabled
// once the last page was on screen (POST /r/viewed records it in the history); 同意 and 却下
// each ask for a confirmation. Expired, cancelled and suspended links get a page of their
// own; an answered link shows the document's state, and the sealed file once completed.
import { add, h, replace, setText, when } from '../dom.js';
import { api } from '../api.js';
import { field, form, sayError } from '../form.js';
import { confirmDialog } from '../dialog.js';
import { pageViewer } from '../pages.js';
import { takeFragment } from '../state.js';

// Link states that end the visit, each with a page that says what to do.
const ENDED = { link_expired: 'r.link_expired', link_suspended: 'r.link_suspended', invalid_link: 'r.invalid_link', document_closed: 'r.closed', unauthorized: 'r.no_session' };

export async function recipient(main) {
  const token = takeFragment();
  let view;
  try {
    view = token ? await api('POST', '/r/session', { token }) : await api('GET', '/r/document');
  } catch (e) {
    if (e.code === 'access_code_required') return codePrompt(main, token);
    if (ENDED[e.code] || e.status === 401 || e.status === 404) return ended(main, ENDED[e.code] || 'r.no_session');
    throw e;
  }
  render(main, view);
}

function ended(main, key) {
  replace(main, h('h1', { i18n: 'r.ended_title' }), h('p', { class: 'ended', i18n: key }));
}

function codePrompt(main, token) {
  const f = form({
    fields: [field({ name: 'code', label: 'r.code', hint: 'r.code_hint', autocomplete: 'one-time-code', normalize: true, inputmode: 'text' })],
    submit: 'r.code_submit',
    onSubmit: async (v) => {
      try {
        const view = await api('POST', '/r/session', { token, code: v.code });
        replace(main);
        render(main, view);
        main.querySelector('h1').focus();
      } catch (e) {
        if (e.code === 'link_suspended' || e.code === 'link_expired') return ended(main, ENDED[e.code]);
        if (e.code === 'access_code_invalid' || e.code === 'access_code_required') e.field = 'code';
        throw e;
      }
    },
  });
  replace(main, h('h1', { i18n: 'r.code_title' }), h('p', { i18n: 'r.code_intro' }), f);
}

// Where recipient `i` stands: answered, asked now, or waiting for those before.
function partyState(v, i) {
  const p = v.recipients[i];
  if (p.answer) return `party.${p.answer}`;
  if (v.status !== 'in_progress') return 'party.none';
  return v.recipients.findIndex((r) => !r.answer) === i ? 'party.waiting' : 'party.queued';
}

function render(main, v) {
  const status = h('p', { role: 'status', class: 'notice' });
  const error = h('p', { role: 'alert', class: 'form-error' });
  const mine = v.you.answer;
  let bar = null;
  if (v.can_answer) {
    const agree = h('button', { type: 'button', class: 'primary', disabled: true, 'aria-describedby': 'answer-hint', i18n: 'r.agree' });
    const decline = h('button', { type: 'button', class: 'danger', i18n: 'r.decline' });
    const answer = async (path, body, key) => {
      error.textContent = '';
      try {
        const next = await api('POST', path, body);
        replace(main);
        render(main, next);
        setText(main.querySelector('[role="status"]'), key);
        main.querySelector('h1').focus();
      } catch (e) {
        sayError(error, e);
      }
    };
    agree.addEventListener('click', async () => {
      if (await confirmDialog({ title: 'r.agree_title', body: 'r.agree_body', bodyArgs: { title: v.title }, confirm: 'r.agree' })) await answer('/r/agree', undefined, 'r.agreed');
    });
    decline.addEventListener('click', async () => {
      const reason = await confirmDialog({ title: 'r.decline_title', body: 'r.decline_body', confirm: 'r.decline', danger: true, reason: { label: 'r.decline_reason', required: true } });
      if (reason) await answer('/r/decline', { reason }, 'r.declined');
    });
    bar = h('div', { class: 'answer-bar' }, h('p', { id: 'answer-hint', class: 'hint', i18n: v.viewed ? 'answer.ready' : 'answer.read_to_end' }), h('div', { class: 'actions' }, agree, decline));
    bar.enable = async () => {
      if (!v.viewed) {
        try {
          await api('POST', '/r/viewed');
        } catch (e) {
          sayError(error, e);
          return;
        }
      }
      agree.disabled = false;
      setText(bar.querySelector('#answer-hint'), 'answer.ready');
    };
  }
  let state = `r.status_${v.status}`;
  if (v.status === 'in_progress') state = mine ? `r.you_${mine}` : v.can_answer ? 'r.your_turn' : 'r.not_yet';
  add(
    main,
    h('h1', { translate: 'no' }, v.title),
    h('p', { class: 'lead', i18n: 'r.from', i18nArgs: { sender: v.sender }, i18nUser: 'sender' }),
    h('p', { class: `state-line status-${v.status}`, i18n: state }),
    status,
    error,
    h('dl', { class: 'summary' },
      h('dt', { i18n: 'r.you' }), h('dd', { translate: 'no' }, [v.you.name, v.you.company, v.you.department].filter(Boolean).join(' / ')),
      v.expires_at && [h('dt', { i18n: 'draft.expires_at' }), h('dd', {}, when(v.expires_at))],
      v.message && [h('dt', { i18n: 'r.message' }), h('dd', { class: 'pre', translate: 'no' }, v.message)],
    ),
    v.status === 'completed' ? h('p', {}, h('a', { class: 'button primary', href: '/api/v1/r/file?download=1', download: '', i18n: 'r.download_sealed' })) : null,
    h('h2', { i18n: 'draft.recipients' }),
    h('ol', { class: 'people' }, v.recipients.map((p, i) => h('li', {}, h('span', { class: 'who', translate: 'no' }, [p.name, p.company].filter(Boolean).join(' / ')), h('span', { class: `state state-${p.answer || 'none'}`, i18n: partyState(v, i) })))),
    ['completed', 'in_progress'].includes(v.status) || mine
      ? [h('h2', { i18n: 'detail.pages' }), pageViewer({ count: v.pages, url: (n, w) => `/api/v1/r/pages/${n}?width=${w}`, onEnd: () => bar?.enable() })]
      : null,
    bar,
  );
  if (bar && v.viewed) bar.enable();
}

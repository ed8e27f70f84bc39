// The verify page, open to anyone: a PDF dropped or chosen is checked by POST /verify (the
// file itself up to 4 MB; signed in, larger files through an upload slot), and the report
// is read out in plain words: whether the file is intact, who sealed it and when (by the
// timestamps), whether anything changed since, and each problem found.
import { add, h, replace, when } from '../dom.js';
import { api, ApiError } from '../api.js';
import { has } from '../i18n.js';
import { sayError } from '../form.js';
import { currentUser } from '../state.js';
import { fileDrop, uploadFile } from './draft.js';

const DIRECT_LIMIT = 4 * 1024 * 1024;

export function verify(main) {
  const result = h('section', { class: 'report', 'aria-live': 'polite', 'i18n-aria-label': 'verify.result' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'button', class: 'primary', i18n: 'verify.check', disabled: true });
  const drop = fileDrop({ name: 'pdf', label: 'verify.file', hint: 'verify.file_hint', onFile: () => { button.disabled = false; } });
  button.addEventListener('click', async () => {
    const file = drop.file;
    if (!file) return;
    error.textContent = '';
    replace(result);
    button.disabled = true;
    result.setAttribute('aria-busy', 'true');
    try {
      let report;
      if (file.size <= DIRECT_LIMIT) {
        report = await api('POST', '/verify', file, { headers: { 'content-type': 'application/pdf' } });
      } else if (currentUser()) {
        const id = await uploadFile(file, 'verify', () => {});
        report = await api('POST', '/verify', { upload_id: id });
      } else {
        throw new ApiError(413, 'verify_too_large_anonymous');
      }
      show(result, report, file.name);
      result.querySelector('h2').focus();
    } catch (e) {
      sayError(error, e);
    } finally {
      button.disabled = false;
      result.removeAttribute('aria-busy');
    }
  });
  main.append(h('h1', { i18n: 'verify.title' }), h('p', { i18n: 'verify.intro' }), drop, error, h('div', { class: 'actions' }, button), result);
}

function problems(list) {
  if (!list || !list.length) return null;
  return h('ul', { class: 'problems' }, list.map((p) => h('li', { i18n: has(`verify.problem.${p.code}`) ? `verify.problem.${p.code}` : 'verify.problem.other' })));
}

function signer(cert) {
  if (!cert) return '';
  const cn = /CN=([^,]+)/.exec(cert.subject);
  return cn ? cn[1] : cert.subject;
}

function show(el, r, name) {
  const items = r.signatures.map((s, i) => {
    const time = s.timestamp && s.timestamp.time;
    const kind = s.kind === 'document_timestamp' ? 'verify.kind_timestamp' : 'verify.kind_signature';
    return h(
      'li',
      { class: `sig sig-${s.status}` },
      h('h3', {}, h('span', { i18n: kind, i18nArgs: { n: i + 1 } }), ' ', h('span', { class: `verdict verdict-${s.status}`, i18n: `verify.status_${s.status}` })),
      h('dl', { class: 'summary' },
        s.kind === 'signature' && [h('dt', { i18n: 'verify.by' }), h('dd', { translate: 'no' }, signer(s.signer) || '—')],
        s.reason && [h('dt', { i18n: 'verify.reason' }), h('dd', { translate: 'no' }, s.reason)],
        [h('dt', { i18n: 'verify.when' }), h('dd', {}, time ? [when(time), ' ', h('span', { class: 'muted', i18n: 'verify.by_timestamp', i18nArgs: { tsa: signer(s.timestamp.tsa) || '—' } })] : h('span', { i18n: 'verify.no_timestamp' }))],
        [h('dt', { i18n: 'verify.intact' }), h('dd', { i18n: s.intact && s.signature_valid ? 'verify.intact_yes' : 'verify.intact_no' })],
        [h('dt', { i18n: 'verify.since' }), h('dd', { i18n: `verify.changes_${s.later_changes}` })],
        [h('dt', { i18n: 'verify.trusted' }), h('dd', { i18n: s.trusted ? 'verify.trusted_yes' : 'verify.trusted_no' })],
      ),
      problems(s.problems),
    );
  });
  add(
    el,
    h('h2', { tabindex: '-1', class: `verdict-head verdict-${r.status}`, i18n: `verify.overall_${r.status}` }),
    h('p', { class: 'muted', translate: 'no' }, name),
    r.level ? h('p', { i18n: 'verify.level', i18nArgs: { level: r.level } }) : null,
    problems(r.problems),
    items.length ? h('ol', { class: 'signatures' }, items) : null,
  );
}

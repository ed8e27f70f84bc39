// A new document and its draft: the upload (drag-and-drop or the file picker, through an
// upload slot, with a progress bar), then the parties in order (reordered by buttons, no
// dragging needed), approvers, message and expiry, a review, and the sending. Every edit is
// saved on the draft, so a draft keeps its parties.
import { h, replace, setText, when } from '../dom.js';
import { api, ApiError, csrfToken } from '../api.js';
import { bytes } from '../format.js';
import { field, form, guardComposition, normalized, showError, clearErrors, sayError } from '../form.js';
import { currentUser, navigate } from '../state.js';
import { confirmDialog } from '../dialog.js';

const MAX_RECIPIENTS = 30;
const MAX_APPROVERS = 10;

// Sends `file` to an upload slot, reporting progress; resolves with the slot's id.
export async function uploadFile(file, purpose, onProgress) {
  const slot = await api('POST', '/documents/uploads', { filename: file.name || 'document.pdf', size: file.size, purpose });
  await new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(slot.method, slot.url);
    let body = file;
    if (slot.method === 'PUT') {
      xhr.setRequestHeader('content-type', 'application/pdf');
      const csrf = csrfToken();
      if (csrf) xhr.setRequestHeader('x-csrf-token', csrf);
    } else {
      // A presigned POST: its fields first, the file last.
      body = new FormData();
      for (const [k, v] of Object.entries(slot.fields || {})) body.append(k, v);
      body.append('file', file);
    }
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      let e = {};
      try {
        e = JSON.parse(xhr.responseText).error || {};
      } catch {
        // S3 answers in XML: only the status says something.
      }
      reject(new ApiError(xhr.status, e.code || `http_${xhr.status}`, e.message, e.field));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'network')));
    xhr.send(body);
  });
  return slot.upload_id;
}

// A drop zone around a file input: a click, the keyboard or a drop choose the file.
export function fileDrop({ name, label, hint, onFile }) {
  const input = h('input', { type: 'file', id: `f-${name}`, name, accept: 'application/pdf,.pdf', class: 'file-input', 'aria-describedby': `f-${name}-chosen f-${name}-error` });
  const chosen = h('p', { id: `f-${name}-chosen`, class: 'chosen', 'aria-live': 'polite' });
  const zone = h(
    'div',
    { class: 'drop' },
    h('label', { for: `f-${name}` }, h('span', { class: 'drop-title', i18n: label }), h('span', { class: 'hint', i18n: hint })),
    input,
    chosen,
    h('p', { id: `f-${name}-error`, class: 'field-error', 'aria-live': 'polite' }),
  );
  const choose = (file) => {
    if (!file) return;
    zone.file = file;
    setText(chosen, 'new.chosen', { name: file.name, size: bytes(file.size) }, 'name');
    onFile?.(file);
  };
  input.addEventListener('change', () => choose(input.files[0]));
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    choose(e.dataTransfer.files[0]);
  });
  return zone;
}

export function newDocument(main) {
  const progress = h('progress', { max: '1', value: '0', id: 'upload-progress', hidden: true });
  const percent = h('span', { id: 'upload-percent', 'aria-live': 'polite' });
  let titleTouched = false;
  const drop = fileDrop({
    name: 'file',
    label: 'new.file',
    hint: 'new.file_hint',
    onFile: (file) => {
      const title = f.elements.title;
      if (!titleTouched || !title.value) title.value = file.name.replace(/\.pdf$/i, '');
    },
  });
  const f = form({
    fields: [drop, field({ name: 'title', label: 'new.doc_title', autocomplete: 'off' })],
    extra: h('div', { class: 'progress' }, h('label', { for: 'upload-progress', class: 'visually-hidden', i18n: 'new.progress' }), progress, percent),
    submit: 'new.upload',
    onSubmit: async (v) => {
      if (!drop.file) {
        setText(drop.querySelector('.field-error'), 'new.no_file');
        drop.querySelector('input').focus();
        return;
      }
      progress.hidden = false;
      const id = await uploadFile(drop.file, undefined, (share) => {
        progress.value = share;
        percent.textContent = `${Math.round(share * 100)}%`;
      });
      const doc = await api('POST', '/documents', { upload_id: id, title: v.title || undefined });
      navigate(`/documents/${encodeURIComponent(doc.id)}`);
    },
  });
  f.elements.title.addEventListener('input', () => {
    titleTouched = true;
  });
  main.append(h('h1', { i18n: 'new.title' }), f);
}

// The rows of a party list, each with ↑ ↓ and 削除 buttons; input names carry their index
// (`recipients[2].email`), as the API's errors name them.
function partyList({ kind, legend, max, fields: make, items }) {
  const list = h('ol', { class: 'parties-edit' });
  const add = h('button', { type: 'button', i18n: `draft.add_${kind}` });
  const renumber = () => {
    [...list.children].forEach((li, i) => {
      setText(li.querySelector('legend'), legend, { n: i + 1 });
      for (const input of li.querySelectorAll('[data-key]')) input.name = `${kind}[${i}].${input.dataset.key}`;
      li.querySelector('.up').disabled = i === 0;
      li.querySelector('.down').disabled = i === list.children.length - 1;
    });
    add.disabled = list.children.length >= max;
  };
  const row = (value = {}) => {
    const inputs = make(value);
    for (const div of inputs) {
      const input = div.querySelector('input, textarea');
      input.dataset.key = input.name;
    }
    const li = h(
      'li',
      {},
      h(
        'fieldset',
        {},
        h('legend', {}),
        inputs,
        h(
          'div',
          { class: 'row-actions' },
          h('button', { type: 'button', class: 'up', 'i18n-aria-label': 'draft.move_up', onclick: () => move(li, -1) }, '↑'),
          h('button', { type: 'button', class: 'down', 'i18n-aria-label': 'draft.move_down', onclick: () => move(li, 1) }, '↓'),
          h('button', { type: 'button', class: 'danger', i18n: 'draft.remove', onclick: () => { const next = li.nextElementSibling || li.previousElementSibling; li.remove(); renumber(); (next?.querySelector('input') || add).focus(); } }),
        ),
      ),
    );
    return li;
  };
  const move = (li, by) => {
    const target = by < 0 ? li.previousElementSibling : li.nextElementSibling?.nextElementSibling;
    if (by < 0 && !target) return;
    list.insertBefore(li, target || null);
    renumber();
    li.querySelector(by < 0 ? '.up' : '.down').focus();
    if (document.activeElement.disabled || document.activeElement === document.body) li.querySelector('input').focus();
  };
  const append = (value) => {
    if (list.children.length >= max) return;
    const li = row(value);
    list.append(li);
    renumber();
    return li;
  };
  add.addEventListener('click', () => append()?.querySelector('input').focus());
  for (const item of items) list.append(row(item));
  renumber();
  const read = () =>
    [...list.children].map((li) => {
      const out = {};
      for (const input of li.querySelectorAll('[data-key]')) {
        const v = input.dataset.normalize ? normalized(input.value) : input.value.trim();
        if (v) out[input.dataset.key] = v;
      }
      return out;
    });
  return { list, add, read, append };
}

function recipientFields(r) {
  return [
    field({ name: 'name', label: 'draft.r_name', autocomplete: 'off', value: r.name }),
    field({ name: 'email', label: 'draft.r_email', type: 'email', autocomplete: 'off', normalize: true, inputmode: 'email', value: r.email }),
    field({ name: 'company', label: 'draft.r_company', autocomplete: 'off', required: false, value: r.company }),
    field({ name: 'department', label: 'draft.r_department', autocomplete: 'off', required: false, value: r.department }),
    field({ name: 'access_code', label: 'draft.r_access_code', hint: r.has_access_code ? 'draft.access_code_set' : 'draft.access_code_hint', autocomplete: 'off', normalize: true, required: false, inputmode: 'text' }),
  ];
}

function approverFields(a) {
  return [
    field({ name: 'email', label: 'draft.a_email', type: 'email', autocomplete: 'off', normalize: true, inputmode: 'email', value: a.email }),
    field({ name: 'name', label: 'draft.a_name', autocomplete: 'off', required: false, value: a.name }),
  ];
}

// An ISO time as the value of a datetime-local input, in the viewer's zone.
function localInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// The team's approval rule, when it has one: what it asks for, and buttons that name its
// approvers (one of them for `any_of`, all in order for `in_order`; never the sender).
function approvalRule(approvers) {
  const box = h('div', { class: 'rule', hidden: true });
  api('GET', '/team')
    .then((team) => {
      const rule = team.approval;
      if (!rule) return;
      const me = currentUser();
      const others = rule.approvers.filter((a) => a.id !== me.id);
      const name = (a) => { const have = approvers.read().map((x) => x.email); if (!have.includes(a.email)) approvers.append({ email: a.email, name: a.name }); };
      const buttons =
        rule.kind === 'any_of'
          ? others.map((a) => h('button', { type: 'button', i18n: 'draft.rule_name_one', i18nArgs: { name: a.name }, i18nUser: 'name', onclick: () => name(a) }))
          : [h('button', { type: 'button', i18n: 'draft.rule_name_all', onclick: () => others.forEach(name) })];
      replace(box, h('p', { class: 'hint', i18n: `draft.rule_${rule.kind}`, i18nArgs: { names: others.map((a) => a.name).join('、') }, i18nUser: 'names' }), h('div', { class: 'actions' }, buttons));
      box.hidden = false;
    })
    .catch(() => {});
  return box;
}

export function editor(main, doc) {
  const recipients = partyList({ kind: 'recipients', legend: 'draft.recipient_n', max: MAX_RECIPIENTS, fields: recipientFields, items: doc.recipients.length ? doc.recipients : [{}] });
  const approvers = partyList({ kind: 'approvers', legend: 'draft.approver_n', max: MAX_APPROVERS, fields: approverFields, items: doc.approvers });
  const expiry = field({ name: 'expires_at', label: 'draft.expires_at', type: 'datetime-local', required: false, hint: 'draft.expires_hint', value: localInput(doc.expires_at) });
  const body = () => {
    const f = el.elements;
    const rs = recipients.read();
    // An access code left empty keeps the one set before: send the field only when typed.
    const out = {
      title: f.title.value.trim(),
      recipients: rs,
      approvers: approvers.read(),
      message: f.message.value,
      confidential: f.confidential.checked,
    };
    if (f.expires_at.value) out.expires_at = new Date(f.expires_at.value).toISOString();
    return out;
  };
  const save = async () => {
    clearErrors(el);
    await api('PATCH', `/documents/${encodeURIComponent(doc.id)}`, body());
  };
  const saved = h('p', { role: 'status', class: 'notice' });
  const el = form({
    fields: [
      field({ name: 'title', label: 'new.doc_title', autocomplete: 'off', value: doc.title }),
      h('h2', { i18n: 'draft.recipients' }),
      h('p', { class: 'hint', i18n: 'draft.recipients_hint' }),
      recipients.list,
      h('div', { class: 'actions' }, recipients.add),
      h('h2', { i18n: 'draft.approvers' }),
      h('p', { class: 'hint', i18n: 'draft.approvers_hint' }),
      approvalRule(approvers),
      approvers.list,
      h('div', { class: 'actions' }, approvers.add),
      h('h2', { i18n: 'draft.details' }),
      field({ name: 'message', label: 'draft.message', multiline: true, required: false, value: doc.message }),
      expiry,
      h('div', { class: 'field check' },
        h('input', { type: 'checkbox', id: 'confidential', name: 'confidential', checked: doc.confidential, 'aria-describedby': 'confidential-hint' }),
        h('label', { for: 'confidential', i18n: 'draft.confidential' })),
      h('p', { class: 'hint', id: 'confidential-hint', i18n: 'draft.confidential_hint' }),
    ],
    extra: h('div', { class: 'actions' }, h('button', { type: 'button', i18n: 'draft.save', onclick: () => run(async () => { await save(); setText(saved, 'draft.saved'); }) })),
    submit: 'draft.review',
    onSubmit: async () => {
      await save();
      const fresh = await api('GET', `/documents/${encodeURIComponent(doc.id)}`);
      review(main, fresh);
    },
  });
  guardComposition(el);
  const run = async (f) => {
    try {
      await f();
    } catch (e) {
      showError(el, e);
    }
  };
  const remove = h('button', {
    type: 'button',
    class: 'danger',
    i18n: 'draft.delete',
    onclick: async () => {
      if (!(await confirmDialog({ title: 'draft.delete_title', body: 'draft.delete_body', confirm: 'draft.delete', danger: true }))) return;
      await run(async () => {
        await api('DELETE', `/documents/${encodeURIComponent(doc.id)}`);
        navigate('/documents?tab=draft');
      });
    },
  });
  main.append(h('h1', { i18n: 'draft.title' }), h('p', { class: 'muted' }, h('span', { translate: 'no' }, doc.filename), ' · ', h('span', { i18n: 'draft.pages', i18nArgs: { n: doc.pages } })), el, saved, h('div', { class: 'actions end' }, remove));
}

// What will go out, in full, before it does.
function review(main, doc) {
  const error = h('div', { class: 'form-error', role: 'alert' });
  const send = h('button', { type: 'button', class: 'primary', i18n: 'review.send' });
  const back = h('button', { type: 'button', i18n: 'review.back', onclick: () => { replace(main); editor(main, doc); main.querySelector('h1').focus(); } });
  send.addEventListener('click', async () => {
    send.disabled = true;
    try {
      await api('POST', `/documents/${encodeURIComponent(doc.id)}/send`);
      navigate(`/documents/${encodeURIComponent(doc.id)}`);
    } catch (e) {
      sayError(error, e);
      send.disabled = false;
    }
  });
  replace(
    main,
    h('h1', { i18n: 'review.title', tabindex: '-1' }),
    h('dl', { class: 'summary' },
      h('dt', { i18n: 'new.doc_title' }), h('dd', { translate: 'no' }, doc.title),
      h('dt', { i18n: 'review.file' }), h('dd', { translate: 'no' }, doc.filename),
      h('dt', { i18n: 'draft.expires_at' }), h('dd', {}, doc.expires_at ? when(doc.expires_at) : h('span', { i18n: 'review.default_expiry' })),
      h('dt', { i18n: 'draft.message' }), h('dd', { class: 'pre', translate: 'no' }, doc.message || '—'),
      h('dt', { i18n: 'documents.confidential' }), h('dd', { i18n: doc.confidential ? 'review.yes' : 'review.no' }),
    ),
    h('h2', { i18n: 'draft.approvers' }),
    doc.approvers.length
      ? h('ol', { class: 'people' }, doc.approvers.map((a) => h('li', { translate: 'no' }, a.name ? `${a.name} <${a.email}>` : a.email)))
      : h('p', { class: 'muted', i18n: 'review.no_approvers' }),
    h('h2', { i18n: 'draft.recipients' }),
    h('ol', { class: 'people' }, doc.recipients.map((r) => h('li', {}, h('span', { translate: 'no' }, [r.name, r.company, r.department].filter(Boolean).join(' / '), ` <${r.email}>`), r.has_access_code ? h('span', { class: 'tag', i18n: 'review.access_code' }) : null))),
    error,
    h('div', { class: 'actions' }, send, back),
  );
  main.querySelector('h1').focus();
}

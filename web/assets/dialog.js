// Confirmations before anything that cannot be undone (同意, 却下, cancel, delete): a modal
// <dialog> (the browser keeps focus inside and Escape closes it), optionally asking for a
// reason or a choice among options. Resolves with false when dismissed, true (or the reason,
// or the chosen option's value) when confirmed.
import { h, setText } from './dom.js';
import { guardComposition } from './form.js';

export function confirmDialog({ title, body, bodyArgs, confirm, danger = false, reason = null, choice = null }) {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', i18n: confirm });
    const cancel = h('button', { type: 'button', i18n: 'dialog.cancel' });
    const error = h('p', { class: 'field-error', id: 'dialog-reason-error', 'aria-live': 'polite' });
    const text = reason && h('textarea', { id: 'dialog-reason', name: 'reason', maxlength: '1000', 'aria-describedby': 'dialog-reason-error' });
    // Options are { value, text } (user data, not translated) or { value, i18n }.
    const select =
      choice &&
      h(
        'select',
        { id: 'dialog-choice', name: 'choice' },
        choice.options.map((o) => h('option', { value: o.value, selected: o.value === choice.value, ...(o.i18n ? { i18n: o.i18n } : { translate: 'no' }) }, o.text || '')),
      );
    const form = h(
      'form',
      { method: 'dialog', novalidate: true },
      h('h2', { id: 'dialog-title', i18n: title }),
      h('p', { id: 'dialog-body', i18n: body, i18nArgs: bodyArgs }),
      reason && h('div', { class: 'field' }, h('label', { for: 'dialog-reason', i18n: reason.label }), text, error),
      choice && h('div', { class: 'field' }, h('label', { for: 'dialog-choice', i18n: choice.label }), select),
      h('div', { class: 'actions' }, ok, cancel),
    );
    guardComposition(form);
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title', 'aria-describedby': 'dialog-body' }, form);
    let answer = false;
    form.addEventListener('submit', (e) => {
      if (reason && reason.required && !text.value.trim()) {
        e.preventDefault();
        setText(error, 'dialog.reason_required');
        text.setAttribute('aria-invalid', 'true');
        text.focus();
        return;
      }
      answer = reason ? text.value.trim() || true : choice ? select.value : true;
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      const opener = dialog.opener;
      dialog.remove();
      opener?.focus?.();
      resolve(answer);
    });
    dialog.opener = document.activeElement;
    document.body.append(dialog);
    dialog.showModal();
    (text || cancel).focus();
  });
}

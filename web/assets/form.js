// Forms as people in Japan type into them: browser validation off in favour of our own
// messages next to the field the API names; addresses, codes and search terms NFKC-normalised
// and trimmed (full-width １２３４ and ＠ work); the Enter that confirms an IME conversion
// never submits; a failed request keeps everything typed.
import { h, setText } from './dom.js';
import { has } from './i18n.js';
import { ApiError } from './api.js';

let serial = 0;

// A labelled input. `normalize` marks what is NFKC-normalised and trimmed on submit.
export function field({ name, label, type = 'text', autocomplete, normalize = false, hint, value, required = true, inputmode, multiline = false }) {
  serial += 1;
  const id = `f${serial}-${name}`;
  const describedBy = [hint && `${id}-hint`, `${id}-error`].filter(Boolean).join(' ');
  const input = h(multiline ? 'textarea' : 'input', {
    id,
    name,
    type: multiline ? null : type,
    autocomplete,
    inputmode,
    'aria-describedby': describedBy,
    'aria-required': required ? 'true' : null,
    spellcheck: type === 'email' || type === 'password' || normalize ? 'false' : null,
    autocapitalize: type === 'email' || normalize ? 'off' : null,
    value,
  });
  if (normalize) input.dataset.normalize = 'nfkc';
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id, i18n: label }),
    hint && h('p', { id: `${id}-hint`, class: 'hint', i18n: hint }),
    input,
    h('p', { id: `${id}-error`, class: 'field-error', 'aria-live': 'polite' }),
  );
}

// A form: fields, a message area, a submit button. `onSubmit(values, form)` may throw an
// ApiError, shown next to its field or above the button.
export function form({ fields, submit, onSubmit, extra }) {
  const button = h('button', { type: 'submit', class: 'primary', i18n: submit });
  const message = h('div', { class: 'form-error', role: 'alert' });
  const el = h('form', { novalidate: true }, fields, extra, message, h('div', { class: 'actions' }, button));
  guardComposition(el);
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (el.dataset.busy) return;
    clearErrors(el);
    el.dataset.busy = '1';
    button.disabled = true;
    el.setAttribute('aria-busy', 'true');
    try {
      await onSubmit(values(el), el);
    } catch (e) {
      showError(el, e);
    } finally {
      delete el.dataset.busy;
      button.disabled = false;
      el.removeAttribute('aria-busy');
    }
  });
  return el;
}

// The Enter that confirms a conversion (isComposing; keyCode 229 in Safari) is not a submit.
export function guardComposition(el) {
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.isComposing || e.keyCode === 229)) e.preventDefault();
  });
}

export function normalized(s) {
  return s.normalize('NFKC').trim();
}

export function values(el) {
  const out = {};
  for (const input of el.querySelectorAll('input[name], textarea[name], select[name]')) {
    if (input.type === 'checkbox') out[input.name] = input.checked;
    else out[input.name] = input.dataset.normalize ? normalized(input.value) : input.value;
  }
  return out;
}

// Says in `el` what went wrong: by the API's code (its status for the words that need it);
// anything but an API's answer is a defect, reported on the console too.
export function sayError(el, e) {
  if (!(e instanceof ApiError)) console.error(e);
  setText(el, errorKey(e), e instanceof ApiError ? { status: e.status } : undefined);
}

// Marks `input` of form `el` as refused and says why under it.
function refuse(el, input) {
  input.setAttribute('aria-invalid', 'true');
  const said = el.querySelector(`#${CSS.escape(input.id)}-error`);
  said.classList.remove('ok');
  return said;
}

// Says what went wrong: by the API's code, next to the field it names when the form has it.
export function showError(el, e) {
  const input = e instanceof ApiError && e.field ? el.querySelector(`[name="${CSS.escape(e.field)}"]`) : null;
  if (input) {
    sayError(refuse(el, input), e);
    input.focus();
  } else {
    sayError(el.querySelector('.form-error'), e);
  }
}

export function fieldError(el, name, key) {
  setText(refuse(el, el.querySelector(`[name="${CSS.escape(name)}"]`)), key);
}

export function clearErrors(el) {
  for (const p of el.querySelectorAll('.field-error, .form-error')) {
    p.textContent = '';
    delete p.dataset.i18n;
  }
  for (const i of el.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

export function errorKey(e) {
  if (!(e instanceof ApiError)) return 'error.unexpected';
  const key = `error.${e.code}`;
  return has(key) ? key : e.status >= 500 ? 'error.server' : 'error.generic';
}

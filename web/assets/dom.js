// Elements built from parts. Text always goes in as text (textContent, attributes): the
// page's Trusted Types policy makes every HTML-parsing sink throw, and nothing here needs one.
import { t, template } from './i18n.js';
import { dateTime } from './format.js';

// h('button', { class: 'primary', onclick: f, i18n: 'login.submit' }, child, …)
// `i18n` names the catalogue key of the element's text (kept in data-i18n, so a language
// switch re-translates in place); `i18nArgs` its parameters; `i18n-<attr>` the key of an
// attribute (aria-label, placeholder, title).
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'i18n') {
      el.dataset.i18n = v;
    } else if (k === 'i18nArgs') {
      el.dataset.i18nArgs = JSON.stringify(v);
    } else if (k === 'i18nUser') {
      el.dataset.i18nUser = v;
    } else if (k.startsWith('i18n-')) {
      el.dataset[camel(k)] = v;
    } else if (k === 'value' && 'value' in el) {
      el.value = v;
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  translate(el);
  return el;
}

function camel(name) {
  return name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// Appends children (nested arrays flattened; null, undefined and false skipped).
export function add(el, ...children) {
  append(el, children);
}

// Replaces an element's children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// Sets the translated text of `el` (and of its descendants) from their data-i18n keys.
export function translate(root) {
  const els = root.querySelectorAll ? [root, ...root.querySelectorAll('*')] : [root];
  for (const el of els) {
    if (!el.dataset) continue;
    const { i18n, i18nArgs, i18nUser } = el.dataset;
    if (i18n && i18nUser) withUserData(el, i18n, JSON.parse(i18nArgs || '{}'), i18nUser.split(','));
    else if (i18n) el.textContent = t(i18n, i18nArgs ? JSON.parse(i18nArgs) : undefined);
    if (el.dataset.when !== undefined) el.textContent = dateTime(el.getAttribute('datetime'));
    for (const [attr, key] of Object.entries(el.dataset)) {
      if (!attr.startsWith('i18n') || attr === 'i18n' || attr === 'i18nArgs' || attr === 'i18nUser') continue;
      const name = attr.slice(4).replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()).slice(1);
      el.setAttribute(name, t(key));
    }
  }
}

// A sentence of the catalogue whose `user` parameters are user data (names, titles): each
// is its own element marked translate="no", so neither a translator nor a test of the
// language takes it for the page's own words.
function withUserData(el, key, args, user) {
  const parts = template(key).split(/\{(\w+)\}/);
  el.replaceChildren(
    ...parts.map((part, i) => {
      if (i % 2 === 0) return part;
      const value = part in args ? String(args[part]) : `{${part}}`;
      if (!user.includes(part)) return value;
      const span = document.createElement('span');
      span.translate = false;
      span.textContent = value;
      return span;
    }),
  );
}

// A point in time as the viewer reads it (their zone, their language), drawn again when the
// language changes.
export function when(iso) {
  return h('time', { datetime: iso, 'data-when': '' });
}

// Sets an element's text by key, kept for re-translation.
export function setText(el, key, args, user) {
  el.dataset.i18n = key;
  if (args) el.dataset.i18nArgs = JSON.stringify(args);
  else delete el.dataset.i18nArgs;
  if (user) el.dataset.i18nUser = user;
  else delete el.dataset.i18nUser;
  translate(el);
}

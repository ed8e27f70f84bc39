// The language of the page: Japanese by default, English by the switch (remembered in this
// browser and, once logged in, on the account, so mails follow it) or the browser's language.
// Every string is in a catalogue module per language; a key missing from one is a defect the
// browser tests catch (reported on the console, never shown as a raw key).
import ja from './i18n/ja.js';
import en from './i18n/en.js';

export const LANGUAGES = ['ja', 'en'];
const catalogues = { ja, en };
const STORE = 'keiyaku.language';
let current = initial();

function initial() {
  const saved = safeStorage(() => localStorage.getItem(STORE));
  if (LANGUAGES.includes(saved)) return saved;
  for (const l of navigator.languages || []) {
    const base = l.toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'ja';
}

function safeStorage(f) {
  try {
    return f();
  } catch {
    return null;
  }
}

export function language() {
  return current;
}

// Switches the language of the page (the caller re-translates what is shown).
export function setLanguage(lang, { remember = true } = {}) {
  if (!LANGUAGES.includes(lang)) return;
  current = lang;
  document.documentElement.lang = lang;
  if (remember) safeStorage(() => localStorage.setItem(STORE, lang));
}

export function has(key) {
  return key in catalogues[current];
}

// The text of `key` in the current language with its `{name}` placeholders.
export function template(key) {
  const s = catalogues[current][key];
  if (s !== undefined) return s;
  console.error(`i18n: no "${key}" in the ${current} catalogue`);
  return catalogues[current]['app.missing'];
}

// The text of `key` in the current language, `{name}` replaced from `args`.
export function t(key, args) {
  const s = template(key);
  return args ? s.replace(/\{(\w+)\}/g, (m, k) => (k in args ? String(args[k]) : m)) : s;
}

document.documentElement.lang = current;

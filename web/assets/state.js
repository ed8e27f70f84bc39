// Who is logged in, and moving between screens without reloading the page.
import { api, setCsrf } from './api.js';

let user = null;
let router = () => {};
const listeners = [];

export function currentUser() {
  return user;
}

export function setUser(u) {
  user = u || null;
  setCsrf(user && user.csrf_token);
  for (const f of listeners) f(user);
}

export function onUser(f) {
  listeners.push(f);
}

// Asks the server who this browser is (401 → nobody).
export async function loadUser() {
  try {
    setUser(await api('GET', '/me'));
  } catch (e) {
    if (e.status === 401) setUser(null);
    else throw e;
  }
}

export function setRouter(f) {
  router = f;
}

let languageSwitch = () => {};

// The page's language switch (drawn by app.js), for screens that offer it too.
export function setLanguageSwitch(f) {
  languageSwitch = f;
}

export function switchLanguage(lang) {
  return languageSwitch(lang);
}

export function navigate(path, { replace = false } = {}) {
  history[replace ? 'replaceState' : 'pushState'](null, '', path);
  return router();
}

// The secret a mailed link carries in its fragment: taken out of the address bar and the
// history before anything else happens (captureFragment, at start), so it is never
// bookmarked, shared or sent; handed once to the screen that uses it (takeFragment).
let fragment = '';

export function captureFragment() {
  if (!location.hash) return;
  try {
    fragment = decodeURIComponent(location.hash.slice(1));
  } catch {
    fragment = '';
  }
  history.replaceState(null, '', location.pathname + location.search);
}

export function takeFragment() {
  const secret = fragment;
  fragment = '';
  return secret;
}

// The browser client's entry: finds who is logged in, draws the menu, and shows the screen
// of the current path. Screens are modules under screens/; each draws into <main>.
import { h, replace, translate } from './dom.js';
import { language, setLanguage } from './i18n.js';
import { api } from './api.js';
import { sayError } from './form.js';
import { captureFragment, currentUser, loadUser, navigate, onUser, setLanguageSwitch, setRouter, setUser } from './state.js';
import * as auth from './screens/auth.js';
import * as documents from './screens/documents.js';
import * as draft from './screens/draft.js';
import * as detail from './screens/detail.js';
import * as recipient from './screens/recipient.js';
import * as verify from './screens/verify.js';
import * as ops from './screens/ops.js';
import * as team from './screens/team.js';
import * as audit from './screens/audit.js';
import * as misc from './screens/misc.js';

// [pattern, screen, who may see it]: 'user' needs a login (others are sent to it first).
const ROUTES = [
  ['/', misc.home, 'any'],
  ['/login', auth.login, 'any'],
  ['/signup', auth.signup, 'any'],
  ['/verify-email', auth.verifyEmail, 'any'],
  ['/reset', auth.reset, 'any'],
  ['/invitation', auth.invitation, 'any'],
  ['/domain', auth.confirmDomain, 'any'],
  ['/address', auth.confirmAddress, 'any'],
  ['/settings', auth.settings, 'user'],
  ['/team', team.team, 'user'],
  ['/audit', audit.audit, 'user'],
  ['/documents', documents.list, 'user'],
  ['/documents/new', draft.newDocument, 'user'],
  ['/documents/:id', detail.show, 'user'],
  ['/r', recipient.recipient, 'any'],
  ['/verify', verify.verify, 'any'],
  ['/ops', ops.executions, 'any'],
  ['/ops/executions/:id', ops.execution, 'any'],
];

function match(path) {
  for (const [pattern, screen, who] of ROUTES) {
    const names = [];
    const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (_, n) => (names.push(n), '([^/]+)')) + '/?$');
    const m = path.match(re);
    if (!m) continue;
    try {
      return { screen, who, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
    } catch {
      // A malformed escape in the address (a mangled link): nothing of ours.
      break;
    }
  }
  return { screen: misc.notFound, who: 'any', params: {} };
}

const main = document.getElementById('main');
let generation = 0;
// The first screen keeps the page's natural focus; later ones move it to their heading.
let first = true;

async function route() {
  generation += 1;
  const mine = generation;
  const { screen, who, params } = match(location.pathname);
  if (who === 'user' && !currentUser()) {
    const next = location.pathname + location.search;
    return navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
  }
  // The team requires two-factor login: nothing else until it is set up.
  if (who === 'user' && currentUser().must_enrol_two_factor && location.pathname !== '/settings') {
    return navigate('/settings', { replace: true });
  }
  replace(main);
  main.removeAttribute('aria-busy');
  try {
    await screen(main, params, () => mine === generation);
  } catch (e) {
    // A request the screen needed failed (the network, the server): said in words.
    const said = h('p');
    sayError(said, e);
    replace(main, h('h1', { i18n: 'error.title', tabindex: '-1' }), said);
  }
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    document.title = `${heading.textContent} — keiyaku`;
    if (!first) heading.focus();
  }
  first = false;
  performance.mark('ready');
}

function drawNav() {
  const nav = document.getElementById('nav');
  const user = currentUser();
  const other = language() === 'ja' ? 'en' : 'ja';
  const items = user
    ? [
        h('a', { href: '/documents', 'data-link': true, i18n: 'nav.documents' }),
        h('a', { href: '/verify', 'data-link': true, i18n: 'nav.verify' }),
        user.operator && h('a', { href: '/ops', 'data-link': true, i18n: 'nav.ops' }),
        h('a', { href: '/team', 'data-link': true, i18n: 'nav.team' }),
        (user.role === 'admin' || user.role === 'auditor') && h('a', { href: '/audit', 'data-link': true, i18n: 'nav.audit' }),
        h('a', { href: '/settings', 'data-link': true, i18n: 'nav.settings' }),
        h('button', { type: 'button', class: 'link', i18n: 'nav.logout', onclick: logout }),
      ]
    : [h('a', { href: '/verify', 'data-link': true, i18n: 'nav.verify' }), h('a', { href: '/login', 'data-link': true, i18n: 'nav.login' })];
  replace(
    nav,
    ...items,
    h('button', { type: 'button', class: 'link', lang: other, i18n: 'nav.switch_language', onclick: () => switchLanguage(other) }),
  );
}

async function switchLanguage(lang) {
  setLanguage(lang);
  translate(document.body);
  drawNav();
  const select = document.getElementById('language');
  if (select) select.value = lang;
  const heading = main.querySelector('h1');
  if (heading) document.title = `${heading.textContent} — keiyaku`;
  if (currentUser()) {
    try {
      setUser({ ...currentUser(), ...(await api('PATCH', '/me', { language: lang })), csrf_token: currentUser().csrf_token });
    } catch (e) {
      console.warn('the language could not be saved on the account', e.code);
    }
  }
}

async function logout() {
  try {
    await api('POST', '/auth/logout');
  } catch (e) {
    if (e.status !== 401) throw e;
  }
  setUser(null);
  navigate('/login');
}

document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', () => route());
// A mailed link opened in a tab already showing its path changes only the fragment.
window.addEventListener('hashchange', () => {
  captureFragment();
  route();
});

onUser((user) => {
  if (user && user.language && user.language !== language()) {
    setLanguage(user.language);
    translate(document.body);
  }
  drawNav();
});
setRouter(route);
setLanguageSwitch(switchLanguage);

async function start() {
  captureFragment();
  translate(document.body);
  try {
    await loadUser();
  } catch (e) {
    replace(main, h('h1', { i18n: 'error.title' }), h('p', { i18n: e.code === 'network' ? 'error.network' : 'error.server' }));
    drawNav();
    return;
  }
  drawNav();
  await route();
}

start();

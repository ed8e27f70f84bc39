// The screens that are not a flow of their own: the start page and the not-found page.
import { h } from '../dom.js';
import { currentUser, navigate } from '../state.js';

export function home() {
  return navigate(currentUser() ? '/documents' : '/login', { replace: true });
}

export function notFound(main) {
  main.append(
    h('h1', { i18n: 'not_found.title' }),
    h('p', { i18n: 'not_found.body' }),
    h('p', {}, h('a', { href: '/', 'data-link': true, i18n: 'not_found.home' })),
  );
}

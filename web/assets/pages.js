// A document's pages as images drawn by the server (every browser, phone and in-app browser
// shows them; no PDF viewer needed), loaded as they come near the screen, at a width that
// suits it. Each page can take focus, so the keyboard reads through them too; `onEnd` runs
// once the last page is on screen.
import { h } from './dom.js';

const WIDTHS = [600, 900, 1200, 1600, 2000];
let serial = 0;

function widthFor(el) {
  const wanted = (el.clientWidth || 800) * (window.devicePixelRatio || 1);
  return WIDTHS.find((w) => w >= wanted) || WIDTHS[WIDTHS.length - 1];
}

export function pageViewer({ count, url, onEnd }) {
  serial += 1;
  const list = h('div', { class: 'pages' });
  const pages = [];
  for (let n = 1; n <= count; n += 1) {
    const caption = `pages-${serial}-${n}`;
    const figure = h(
      'figure',
      { class: 'page', tabindex: '0', 'aria-labelledby': caption, 'data-page': String(n) },
      h('img', { alt: '', decoding: 'async' }),
      h('figcaption', { id: caption, i18n: 'pages.page', i18nArgs: { n, count } }),
    );
    pages.push(figure);
    list.append(figure);
  }
  const load = (figure) => {
    const img = figure.querySelector('img');
    if (img.getAttribute('src')) return;
    img.addEventListener('load', () => figure.classList.add('loaded'), { once: true });
    img.src = url(Number(figure.dataset.page), widthFor(list));
  };
  const near = new IntersectionObserver(
    (entries) => {
      for (const e of entries) if (e.isIntersecting) load(e.target);
    },
    { rootMargin: '400px 0px' },
  );
  for (const p of pages) near.observe(p);
  // The end of the document, after the last page: it takes focus too, so tabbing through
  // the pages reaches it even when a page is taller than the screen.
  const marker = h('p', { class: 'end-of-document', tabindex: '0', i18n: 'pages.end' });
  list.append(marker);
  if (pages.length && onEnd) {
    const end = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        end.disconnect();
        onEnd();
      }
    });
    end.observe(marker);
  }
  return list;
}

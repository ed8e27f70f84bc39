// Accounts: sign-up (the password rules explained as the user types), the confirmation of
// the address from the mailed link, login, password reset by mail, and the settings screen
// (language, era, password change, two-factor login, API tokens for scripts).
import { h, setText, replace, translate, when } from '../dom.js';
import { confirmDialog } from '../dialog.js';
import { api } from '../api.js';
import { field, form, fieldError, clearErrors, normalized, sayError } from '../form.js';
import { language } from '../i18n.js';
import { japaneseEra, setJapaneseEra } from '../format.js';
import { currentUser, navigate, setUser, switchLanguage, takeFragment } from '../state.js';

const MIN = 10;
const MAX = 256;

// The rules the page can check itself, as the user types; the rest (dictionary words,
// guessability) come from POST /auth/password-check when the field loses focus.
const RULES = [
  ['password.rule_length', (p) => [...p].length >= MIN && [...p].length <= MAX],
  ['password.rule_repetitive', (p) => p.length > 0 && !repetitive([...p])],
  ['password.rule_personal', (p, email, name) => p.length > 0 && !personal(p, email, name)],
];

function repetitive(chars) {
  const n = chars.length;
  for (let unit = 1; unit <= n / 2; unit += 1) {
    if (n % unit === 0 && chars.every((c, i) => c === chars[i % unit])) return true;
  }
  if (n < 2) return false;
  const step = (a, b) => {
    const [x, y] = [parseInt(a, 10), parseInt(b, 10)];
    if (!Number.isNaN(x) && !Number.isNaN(y) && /\d/.test(a) && /\d/.test(b)) {
      const d = (((y - x) % 10) + 10) % 10;
      return d === 1 ? 1 : d === 9 ? -1 : 0;
    }
    return b.codePointAt(0) - a.codePointAt(0);
  };
  const first = step(chars[0], chars[1]);
  return Math.abs(first) === 1 && chars.every((c, i) => i === 0 || step(chars[i - 1], c) === first);
}

function personal(password, email, name) {
  const lower = password.toLowerCase();
  const parts = [];
  const e = normalized(email || '').toLowerCase();
  if (e.includes('@')) parts.push(e.slice(0, e.lastIndexOf('@')), e);
  const n = (name || '').trim().toLowerCase();
  if (n) parts.push(n.split(/\s+/).join(''), ...n.split(/\s+/), n);
  return parts.filter((p) => [...p].length >= 3).some((p) => lower.includes(p));
}

// The rules list under a new-password field, kept current as the user types; the server's
// verdict when the field is left. `context()` gives the e-mail and name to check against.
function passwordRules(el, name, context) {
  const input = el.querySelector(`[name="${name}"]`);
  const items = RULES.map(([key]) => h('li', { i18n: key }));
  const list = h('ul', { class: 'rules', 'aria-live': 'polite', 'i18n-aria-label': 'password.rules' }, items);
  input.closest('.field').append(list);
  const update = () => {
    const { email, name: person } = context();
    RULES.forEach(([, ok], i) => {
      const met = ok(input.value, email, person);
      items[i].classList.toggle('met', met);
      items[i].dataset.met = met ? 'yes' : 'no';
    });
  };
  input.addEventListener('input', update);
  input.addEventListener('blur', async () => {
    if (!input.value) return;
    const { email, name: person } = context();
    try {
      const verdict = await api('POST', '/auth/password-check', { password: input.value, email: email || undefined, name: person || undefined });
      const error = el.querySelector(`#${CSS.escape(input.id)}-error`);
      if (verdict.acceptable) {
        input.removeAttribute('aria-invalid');
        // Good news, said where a refusal would be, in the colour of good news.
        error.classList.add('ok');
        setText(error, 'password.acceptable');
      } else {
        fieldError(el, name, `error.${verdict.code}`);
      }
    } catch (e) {
      // Advice only: the submit gets the same verdict.
      if (e.status !== 429 && e.code !== 'network') console.warn('password-check', e.code);
    }
  });
  update();
}

export function signup(main) {
  const f = form({
    fields: [
      field({ name: 'name', label: 'signup.name', autocomplete: 'name' }),
      field({ name: 'email', label: 'signup.email', type: 'email', autocomplete: 'email', normalize: true, inputmode: 'email' }),
      field({ name: 'password', label: 'signup.password', type: 'password', autocomplete: 'new-password', hint: 'password.hint' }),
    ],
    submit: 'signup.submit',
    onSubmit: async (v) => {
      await api('POST', '/auth/signup', { ...v, language: language() });
      replace(main, h('h1', { i18n: 'signup.sent_title' }), h('p', { i18n: 'signup.sent', i18nArgs: { email: v.email }, i18nUser: 'email' }));
      main.querySelector('h1').focus();
    },
  });
  passwordRules(f, 'password', () => ({ email: normalized(f.elements.email.value), name: f.elements.name.value }));
  main.append(
    h('h1', { i18n: 'signup.title' }),
    f,
    h('p', {}, h('a', { href: '/login', 'data-link': true, i18n: 'signup.have_account' })),
  );
}

// A page a mailed link opens: the token from the fragment goes to `path`; `done` says what
// came of it (and may add to the page), `failed` why not, `noToken` when the link was cut.
async function redeemLink(main, { title, path, noToken, done, failed }) {
  const token = takeFragment();
  main.append(h('h1', { i18n: title }));
  const status = h('p', { role: 'status', i18n: 'verify_email.checking' });
  main.append(status);
  if (!token) {
    setText(status, noToken);
    return;
  }
  try {
    done(status, await api('POST', path, { token }));
  } catch (e) {
    setText(status, e.code === 'network' ? 'error.network' : failed);
  }
}

export function verifyEmail(main) {
  return redeemLink(main, {
    title: 'verify_email.title',
    path: '/auth/verify-email',
    noToken: 'verify_email.no_token',
    failed: 'verify_email.failed',
    done: (status) => {
      setText(status, 'verify_email.done');
      main.append(h('p', {}, h('a', { href: '/login', 'data-link': true, class: 'button primary', i18n: 'verify_email.login' })));
    },
  });
}

// The end of an address change, from the link mailed to the new address.
export function confirmAddress(main) {
  return redeemLink(main, {
    title: 'address.title',
    path: '/auth/address',
    noToken: 'domain.no_token',
    failed: 'address.failed',
    done: (status, result) => {
      setText(status, 'address.done', { email: result.email }, 'email');
      if (currentUser()) setUser({ ...currentUser(), email: result.email });
    },
  });
}

// The proof of a domain claim, from the link mailed to an address at the domain.
export function confirmDomain(main) {
  return redeemLink(main, {
    title: 'domain.title',
    path: '/auth/domain',
    noToken: 'domain.no_token',
    failed: 'domain.failed',
    done: (status, result) => setText(status, 'domain.done', { domain: result.domain }, 'domain'),
  });
}

export function login(main) {
  const next = new URLSearchParams(location.search).get('next');
  const f = form({
    fields: [
      field({ name: 'email', label: 'login.email', type: 'email', autocomplete: 'username', normalize: true, inputmode: 'email' }),
      field({ name: 'password', label: 'login.password', type: 'password', autocomplete: 'current-password' }),
    ],
    submit: 'login.submit',
    onSubmit: async (v) => {
      const done = await api('POST', '/auth/login', { email: v.email, password: v.password });
      if (done.second_factor_required) secondFactor(main, done.login_token, finish);
      else finish(done);
    },
  });
  const finish = (done) => {
    setUser(done.user);
    // Only a path of ours: never a link to elsewhere.
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/documents');
  };
  main.append(
    h('h1', { i18n: 'login.title' }),
    f,
    h('p', {}, h('a', { href: '/reset', 'data-link': true, i18n: 'login.forgot' })),
    h('p', {}, h('a', { href: '/signup', 'data-link': true, i18n: 'login.signup' })),
  );
}

// The second step of a login to an account with two-factor login: the app's code or a
// recovery code.
function secondFactor(main, loginToken, finish) {
  const f = form({
    fields: [field({ name: 'code', label: 'login.code', autocomplete: 'one-time-code', normalize: true, hint: 'login.code_hint' })],
    submit: 'login.verify',
    onSubmit: async (v) => finish(await api('POST', '/auth/login/second-factor', { login_token: loginToken, code: v.code })),
  });
  replace(
    main,
    h('h1', { i18n: 'login.code_title', tabindex: '-1' }),
    f,
    h('p', {}, h('a', { href: '/login', 'data-link': true, i18n: 'login.start_over' })),
  );
  f.querySelector('input').focus();
}

// An invitation from its mailed link (the token from the fragment): the name and password
// of the new member's account; the address is the invited one.
export function invitation(main) {
  const token = takeFragment();
  if (!token) {
    main.append(h('h1', { i18n: 'invitation.title' }), h('p', { i18n: 'invitation.no_token' }));
    return;
  }
  const f = form({
    fields: [
      field({ name: 'name', label: 'signup.name', autocomplete: 'name' }),
      field({ name: 'password', label: 'signup.password', type: 'password', autocomplete: 'new-password', hint: 'password.hint' }),
    ],
    submit: 'invitation.submit',
    onSubmit: async (v) => {
      await api('POST', '/auth/invitation', { token, name: v.name, password: v.password });
      replace(
        main,
        h('h1', { i18n: 'invitation.done_title', tabindex: '-1' }),
        h('p', { i18n: 'invitation.done' }),
        h('p', {}, h('a', { href: '/login', 'data-link': true, class: 'button primary', i18n: 'invitation.login' })),
      );
      main.querySelector('h1').focus();
    },
  });
  passwordRules(f, 'password', () => ({ name: f.querySelector('[name="name"]').value }));
  main.append(h('h1', { i18n: 'invitation.title' }), h('p', { i18n: 'invitation.intro' }), f);
}

export function reset(main) {
  const token = takeFragment();
  if (!token) {
    const f = form({
      fields: [field({ name: 'email', label: 'reset.email', type: 'email', autocomplete: 'email', normalize: true, inputmode: 'email' })],
      submit: 'reset.submit',
      onSubmit: async (v) => {
        await api('POST', '/auth/reset', { email: v.email });
        replace(main, h('h1', { i18n: 'reset.sent_title' }), h('p', { i18n: 'reset.sent' }));
        main.querySelector('h1').focus();
      },
    });
    main.append(h('h1', { i18n: 'reset.title' }), h('p', { i18n: 'reset.intro' }), f);
    return;
  }
  const f = form({
    fields: [field({ name: 'new', label: 'reset.new', type: 'password', autocomplete: 'new-password', hint: 'password.hint' })],
    submit: 'reset.confirm',
    onSubmit: async (v) => {
      await api('POST', '/auth/reset/confirm', { token, new: v.new });
      replace(
        main,
        h('h1', { i18n: 'reset.done_title' }),
        h('p', { i18n: 'reset.done' }),
        h('p', {}, h('a', { href: '/login', 'data-link': true, class: 'button primary', i18n: 'reset.login' })),
      );
      main.querySelector('h1').focus();
    },
  });
  passwordRules(f, 'new', () => ({}));
  main.append(h('h1', { i18n: 'reset.new_title' }), f);
}

export function settings(main) {
  const user = currentUser();
  const languages = h(
    'select',
    { id: 'language', name: 'language' },
    h('option', { value: 'ja', lang: 'ja' }, '日本語'),
    h('option', { value: 'en', lang: 'en' }, 'English'),
  );
  languages.value = language();
  languages.addEventListener('change', () => switchLanguage(languages.value));
  const era = h('input', { type: 'checkbox', id: 'era', name: 'era' });
  era.checked = japaneseEra();
  era.addEventListener('change', () => {
    setJapaneseEra(era.checked);
    translate(document.body);
  });
  const done = h('p', { role: 'status', class: 'notice' });
  const f = form({
    fields: [
      field({ name: 'current', label: 'settings.current', type: 'password', autocomplete: 'current-password' }),
      field({ name: 'new', label: 'settings.new', type: 'password', autocomplete: 'new-password', hint: 'password.hint' }),
    ],
    submit: 'settings.change',
    onSubmit: async (v, el) => {
      await api('POST', '/auth/password', v);
      el.reset();
      clearErrors(el);
      setText(done, 'settings.changed');
    },
  });
  passwordRules(f, 'new', () => ({ email: user.email, name: user.name }));
  const tokens = apiTokens(user);
  // The address: changed when the link mailed to the new one is opened.
  const addressDone = h('p', { role: 'status', class: 'notice' });
  const address = form({
    fields: [
      field({ name: 'email', label: 'settings.new_email', type: 'email', autocomplete: 'email', normalize: true, inputmode: 'email' }),
      field({ name: 'password', label: 'settings.email_password', type: 'password', autocomplete: 'current-password' }),
    ],
    submit: 'settings.change_email',
    onSubmit: async (v, el) => {
      await api('POST', '/me/email', v);
      el.reset();
      setText(addressDone, 'settings.email_mailed', { email: v.email }, 'email');
    },
  });
  main.append(
    h('h1', { i18n: 'settings.title' }),
    user.must_enrol_two_factor ? h('p', { class: 'notice', role: 'status', i18n: 'two_factor.required_by_team' }) : '',
    h('section', { 'aria-labelledby': 'settings-display' },
      h('h2', { id: 'settings-display', i18n: 'settings.display' }),
      h('div', { class: 'field' }, h('label', { for: 'language', i18n: 'settings.language' }), languages),
      h('div', { class: 'field check' }, era, h('label', { for: 'era', i18n: 'settings.era' })),
    ),
    h('section', { 'aria-labelledby': 'settings-password' },
      h('h2', { id: 'settings-password', i18n: 'settings.password' }),
      f,
      done,
    ),
    h('section', { 'aria-labelledby': 'settings-email' },
      h('h2', { id: 'settings-email', i18n: 'settings.email' }),
      h('p', { class: 'hint', i18n: 'settings.email_now', i18nArgs: { email: user.email }, i18nUser: 'email' }),
      address,
      addressDone,
    ),
    twoFactor(user, tokens.render),
    tokens.section,
    h('p', { class: 'muted', i18n: 'settings.account', i18nArgs: { name: user.name, email: user.email }, i18nUser: 'name,email' }),
  );
}

// Two-factor login in the settings: enrolment (the QR code and the key for typing by hand,
// confirmed by the app's first code, then the recovery codes shown once), or turning it off
// with the password and a code.
function twoFactor(user, onChange) {
  const section = h('section', { 'aria-labelledby': 'settings-2fa' });
  const heading = () => h('h2', { id: 'settings-2fa', i18n: 'two_factor.title', tabindex: '-1' });
  const show = (...content) => {
    replace(section, heading(), ...content);
  };
  const off = () => {
    const start = h('button', { type: 'button', class: 'primary', i18n: 'two_factor.start' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    start.addEventListener('click', async () => {
      start.disabled = true;
      try {
        enrol(await api('POST', '/me/two-factor'));
      } catch (e) {
        sayError(error, e);
        start.disabled = false;
      }
    });
    show(h('p', { i18n: 'two_factor.off' }), h('p', { class: 'hint', i18n: 'two_factor.why' }), error, h('div', { class: 'actions' }, start));
  };
  const enrol = (started) => {
    const confirm = form({
      fields: [field({ name: 'code', label: 'two_factor.code', autocomplete: 'one-time-code', inputmode: 'numeric', normalize: true })],
      submit: 'two_factor.confirm',
      onSubmit: async (v) => recovery((await api('POST', '/me/two-factor/confirm', { code: v.code })).recovery_codes),
    });
    show(
      h('ol', { class: 'steps' },
        h('li', {}, h('p', { i18n: 'two_factor.scan' }), h('img', { src: started.qr_code, class: 'qr', width: '200', height: '200', 'i18n-alt': 'two_factor.qr_alt' })),
        h('li', {}, h('p', { i18n: 'two_factor.by_hand' }), h('code', { class: 'secret', translate: 'no' }, started.secret)),
        h('li', {}, h('p', { i18n: 'two_factor.enter' }), confirm),
      ),
    );
    confirm.querySelector('input').focus();
  };
  const recovery = (codes) => {
    user.two_factor = true;
    user.must_enrol_two_factor = false;
    onChange();
    const done = h('button', { type: 'button', class: 'primary', i18n: 'two_factor.saved' });
    done.addEventListener('click', () => {
      on();
      section.querySelector('h2').focus();
    });
    show(
      h('p', { role: 'status', class: 'notice', i18n: 'two_factor.enabled' }),
      h('p', { i18n: 'two_factor.recovery_intro' }),
      h('ol', { class: 'recovery', translate: 'no' }, codes.map((c) => h('li', {}, h('code', {}, c)))),
      h('div', { class: 'actions' }, done),
    );
    section.querySelector('h2').focus();
  };
  const on = () => {
    const disable = form({
      fields: [
        field({ name: 'password', label: 'two_factor.password', type: 'password', autocomplete: 'current-password' }),
        field({ name: 'code', label: 'two_factor.code_or_recovery', autocomplete: 'one-time-code', normalize: true }),
      ],
      submit: 'two_factor.disable',
      onSubmit: async (v) => {
        await api('POST', '/me/two-factor/disable', v);
        user.two_factor = false;
        onChange();
        off();
        section.prepend(h('p', { role: 'status', class: 'notice', i18n: 'two_factor.disabled' }));
        section.querySelector('h2').focus();
      },
    });
    show(h('p', { i18n: 'two_factor.on' }), disable);
  };
  if (user.two_factor) on();
  else off();
  return section;
}

// API tokens for scripts: listed by name (never the token), revoked behind a confirmation,
// made (by users with two-factor login: a script cannot give a code) and shown once.
function apiTokens(user) {
  const section = h('section', { 'aria-labelledby': 'settings-tokens' });
  const list = h('ul', { class: 'tokens' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const shown = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    try {
      const tokens = await api('GET', '/me/tokens');
      replace(list, tokens.length ? tokens.map(row) : h('li', { i18n: 'tokens.none' }));
    } catch (e) {
      sayError(error, e);
    }
  };
  const row = (t) => {
    const revoke = h('button', { type: 'button', class: 'danger', i18n: 'tokens.revoke' });
    revoke.addEventListener('click', async () => {
      if (!(await confirmDialog({ title: 'tokens.revoke_title', body: 'tokens.revoke_body', confirm: 'tokens.revoke', danger: true }))) return;
      try {
        await api('DELETE', `/me/tokens/${encodeURIComponent(t.id)}`);
        replace(shown);
        await load();
      } catch (e) {
        sayError(error, e);
      }
    });
    return h(
      'li',
      {},
      t.name ? h('strong', { translate: 'no' }, t.name) : h('strong', { i18n: 'tokens.login' }),
      h('span', { class: 'muted' }, h('span', { i18n: 'tokens.last_used' }), ' ', when(t.last_used), ' · ', h('span', { i18n: 'tokens.expires' }), ' ', when(t.expires_at)),
      revoke,
    );
  };
  const render = () => {
    const create = user.two_factor
      ? form({
        fields: [field({ name: 'name', label: 'tokens.name' })],
        submit: 'tokens.create',
        onSubmit: async (v, el) => {
          const made = await api('POST', '/me/tokens', { name: v.name });
          el.reset();
          replace(shown, h('p', { role: 'status', class: 'notice', i18n: 'tokens.made' }), h('p', { i18n: 'tokens.copy' }), h('code', { class: 'secret', translate: 'no' }, made.token));
          await load();
        },
      })
      : h('p', { class: 'hint', i18n: 'tokens.needs_two_factor' });
    replace(section, h('h2', { id: 'settings-tokens', i18n: 'tokens.title' }), h('p', { i18n: 'tokens.intro' }), list, error, shown, create);
    // Before enrolment a team that requires it answers nothing else.
    if (!user.must_enrol_two_factor) load();
  };
  render();
  return { section, render };
}

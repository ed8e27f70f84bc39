// The team: its members and their roles, and for admins the invitations, role changes and
// removals (each removal behind a confirmation). Everyone in the team sees who is in it.
import { h, replace, when } from '../dom.js';
import { api } from '../api.js';
import { field, form, sayError } from '../form.js';
import { confirmDialog } from '../dialog.js';
import { currentUser } from '../state.js';

const ROLES = ['admin', 'member', 'auditor'];

// A labelled role picker named `name`.
function rolePicker(name, value, label) {
  const id = `role-${name}-${Math.random().toString(36).slice(2, 8)}`;
  // `selected` (not only the value), so a form reset comes back to it.
  const select = h('select', { id, name }, ROLES.map((r) => h('option', { value: r, i18n: `role.${r}`, selected: r === value })));
  return h('div', { class: 'field' }, h('label', { for: id, i18n: label }), select);
}

export async function team(main, _params, current) {
  const me = currentUser();
  const admin = me.role === 'admin';
  const members = h('ul', { class: 'members' });
  const invitations = h('ul', { class: 'members' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const notice = h('p', { role: 'status', class: 'notice' });

  const load = async () => {
    const [list, waiting] = await Promise.all([api('GET', '/team/members'), admin ? api('GET', '/team/invitations') : []]);
    if (!current()) return;
    replace(members, list.map(memberRow));
    replace(invitations, waiting.length ? waiting.map(invitationRow) : h('li', { i18n: 'team.no_invitations' }));
  };
  const act = async (work, done) => {
    replace(notice);
    error.textContent = '';
    try {
      await work();
      if (done) replace(notice, h('span', { i18n: done }));
      await load();
    } catch (e) {
      sayError(error, e);
    }
  };

  const memberRow = (m) => {
    const info = [
      h('strong', { translate: 'no' }, m.name),
      h('span', { class: 'muted', translate: 'no' }, m.email),
      h('span', { i18n: m.two_factor ? 'team.two_factor_on' : 'team.two_factor_off' }),
    ];
    if (!admin) return h('li', {}, info, h('span', { i18n: `role.${m.role}` }));
    const picker = rolePicker(`member-${m.id}`, m.role, 'team.role');
    const select = picker.querySelector('select');
    select.addEventListener('change', () => act(() => api('PATCH', `/team/members/${encodeURIComponent(m.id)}`, { role: select.value }), 'team.role_changed'));
    const remove = h('button', { type: 'button', class: 'danger', i18n: 'team.remove' });
    remove.addEventListener('click', async () => {
      if (!(await confirmDialog({ title: 'team.remove_title', body: 'team.remove_body', bodyArgs: { name: m.name }, confirm: 'team.remove', danger: true }))) return;
      act(() => api('DELETE', `/team/members/${encodeURIComponent(m.id)}`), 'team.removed');
    });
    return h('li', {}, info, picker, m.id === me.id ? null : remove);
  };

  const invitationRow = (i) => {
    const withdraw = h('button', { type: 'button', i18n: 'team.withdraw' });
    withdraw.addEventListener('click', () => act(() => api('DELETE', `/team/invitations/${encodeURIComponent(i.id)}`), 'team.withdrawn'));
    return h('li', {}, h('strong', { translate: 'no' }, i.email), h('span', { i18n: `role.${i.role}` }), h('span', { class: 'muted' }, h('span', { i18n: 'team.expires' }), ' ', when(i.expires_at)), withdraw);
  };

  await load();
  main.append(h('h1', { i18n: 'team.title' }), notice, error, h('section', { 'aria-labelledby': 'team-members' }, h('h2', { id: 'team-members', i18n: 'team.members' }), members));
  if (!admin) return;
  main.append(await security());
  const invite = form({
    fields: [field({ name: 'email', label: 'team.email', type: 'email', autocomplete: 'off', normalize: true, inputmode: 'email' }), rolePicker('role', 'member', 'team.role')],
    submit: 'team.invite',
    onSubmit: async (v, el) => {
      await api('POST', '/team/invitations', { email: v.email, role: v.role });
      el.reset();
      replace(notice, h('span', { i18n: 'team.invited' }));
      await load();
    },
  });
  main.append(
    h('section', { 'aria-labelledby': 'team-invite' }, h('h2', { id: 'team-invite', i18n: 'team.invite_title' }), h('p', { class: 'hint', i18n: 'team.invite_hint' }), invite),
    h('section', { 'aria-labelledby': 'team-invitations' }, h('h2', { id: 'team-invitations', i18n: 'team.invitations' }), invitations),
  );
}

// The team's security settings (admins): two-factor login for every member, and the
// networks members may work from (one per line), with a confirmation before a list that
// leaves out the admin's own address.
async function security() {
  const team = await api('GET', '/team');
  const section = h('section', { 'aria-labelledby': 'team-security' });
  const notice = h('p', { role: 'status', class: 'notice' });
  const required = h('input', { type: 'checkbox', id: 'require-2fa', name: 'require_two_factor' });
  required.checked = team.require_two_factor;
  const f = form({
    fields: [
      h('div', { class: 'field check' }, required, h('label', { for: 'require-2fa', i18n: 'team.require_two_factor' })),
      field({ name: 'allowed_networks', label: 'team.networks', hint: 'team.networks_hint', multiline: true, required: false, value: team.allowed_networks.join('\n') }),
      h('p', { class: 'hint', i18n: 'team.your_address', i18nArgs: { address: team.client_address }, i18nUser: 'address' }),
    ],
    submit: 'team.save',
    onSubmit: async (v) => {
      const body = {
        require_two_factor: v.require_two_factor,
        allowed_networks: v.allowed_networks.split(/[\n,]/).map((l) => l.normalize('NFKC').trim()).filter(Boolean),
      };
      try {
        await api('PATCH', '/team', body);
      } catch (e) {
        if (e.code !== 'would_lock_you_out') throw e;
        if (!(await confirmDialog({ title: 'team.lockout_title', body: 'team.lockout_body', bodyArgs: { address: team.client_address }, confirm: 'team.save_anyway', danger: true }))) return;
        await api('PATCH', '/team', { ...body, confirm_lockout: true });
      }
      replace(notice, h('span', { i18n: 'team.saved' }));
    },
  });
  replace(section, h('h2', { id: 'team-security', i18n: 'team.security' }), notice, f);
  return section;
}

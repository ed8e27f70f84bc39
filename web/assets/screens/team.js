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
    replace(members, list.map((m) => memberRow(m, list)));
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

  // Removes member `m`, first handing their documents to the member the admin chose (every
  // document moves, a thousand per call) unless the admin keeps them with the leaver.
  const removeMember = async (m, list) => {
    const receivers = list.filter((r) => r.id !== m.id && r.role !== 'auditor');
    const to = await confirmDialog({
      title: 'team.remove_title',
      body: 'team.remove_body',
      bodyArgs: { name: m.name },
      confirm: 'team.remove',
      danger: true,
      choice: { label: 'team.hand_over_to', value: me.id, options: [...receivers.map((r) => ({ value: r.id, text: `${r.name} (${r.email})` })), { value: 'keep', i18n: 'team.hand_over_none' }] },
    });
    if (!to) return;
    act(async () => {
      let moved = 0;
      for (let more = to !== 'keep'; more; ) {
        const done = await api('POST', `/team/members/${encodeURIComponent(m.id)}/hand-over`, { to });
        moved += done.moved;
        more = done.remaining;
      }
      await api('DELETE', `/team/members/${encodeURIComponent(m.id)}`);
      replace(notice, h('span', moved ? { i18n: 'team.removed_handed_over', i18nArgs: { count: String(moved) } } : { i18n: 'team.removed' }));
    });
  };

  const memberRow = (m, list) => {
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
    remove.addEventListener('click', () => removeMember(m, list));
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
  main.append(await security(), await domains(me));
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

// Registration restriction (admins): the mail domains the team claimed, each released
// behind a confirmation, and a claim proved by a mail to an address at the domain (at once
// with the admin's own address there).
async function domains(me) {
  const section = h('section', { 'aria-labelledby': 'team-domains' });
  const notice = h('p', { role: 'status', class: 'notice' });
  const list = h('ul', { class: 'members' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const load = async () => {
    const team = await api('GET', '/team');
    replace(
      list,
      team.domains.length
        ? team.domains.map((d) => {
            const release = h('button', { type: 'button', class: 'danger', i18n: 'team.domain_release' });
            release.addEventListener('click', async () => {
              if (!(await confirmDialog({ title: 'team.domain_release_title', body: 'team.domain_release_body', bodyArgs: { domain: d.domain }, confirm: 'team.domain_release', danger: true }))) return;
              error.textContent = '';
              try {
                await api('DELETE', `/team/domains/${encodeURIComponent(d.domain)}`);
                replace(notice, h('span', { i18n: 'team.domain_released' }));
                await load();
              } catch (e) {
                sayError(error, e);
              }
            });
            return h('li', {}, h('strong', { translate: 'no' }, d.domain), h('span', { class: 'muted' }, h('span', { i18n: 'team.domain_since' }), ' ', when(d.claimed_at)), release);
          })
        : h('li', { i18n: 'team.no_domains' }),
    );
  };
  const claim = form({
    fields: [
      field({ name: 'domain', label: 'team.domain', hint: 'team.domain_hint', autocomplete: 'off', normalize: true, inputmode: 'url' }),
      field({ name: 'email', label: 'team.domain_email', hint: 'team.domain_email_hint', type: 'email', autocomplete: 'off', normalize: true, inputmode: 'email', value: me.email }),
    ],
    submit: 'team.domain_claim',
    onSubmit: async (v, el) => {
      const done = await api('POST', '/team/domains', { domain: v.domain, email: v.email });
      replace(notice, h('span', { i18n: done.status === 'claimed' ? 'team.domain_claimed' : 'team.domain_mailed', i18nArgs: { email: v.email }, i18nUser: 'email' }));
      el.reset();
      await load();
    },
  });
  await load();
  replace(section, h('h2', { id: 'team-domains', i18n: 'team.domains' }), h('p', { class: 'hint', i18n: 'team.domains_hint' }), notice, error, list, claim);
  return section;
}

// The approval rule's fields: how it counts (none, any one, each in order) and the members
// it names, numbered in the order they were ticked (the order `in_order` asks them in).
function approvalFields(team, members) {
  const chosen = (team.approval?.approvers || []).map((a) => a.id);
  const kind = h(
    'select',
    { id: 'approval-kind', name: 'approval_kind' },
    ['none', 'any_of', 'in_order'].map((k) => h('option', { value: k, i18n: `team.approval_${k}`, selected: k === (team.approval?.kind || 'none') })),
  );
  const boxes = members
    .filter((m) => m.role !== 'auditor')
    .map((m) => {
      const id = `approver-${m.id}`;
      const box = h('input', { type: 'checkbox', id, value: m.id });
      box.checked = chosen.includes(m.id);
      const place = h('span', { class: 'muted', 'aria-hidden': 'true' });
      box.addEventListener('change', () => {
        const at = chosen.indexOf(m.id);
        if (box.checked && at < 0) chosen.push(m.id);
        if (!box.checked && at >= 0) chosen.splice(at, 1);
        number();
      });
      return { m, place, row: h('div', { class: 'field check' }, box, h('label', { for: id, translate: 'no' }, `${m.name} (${m.email})`), place) };
    });
  const list = h('div', { class: 'approvers' }, boxes.map((b) => b.row));
  const number = () => {
    for (const b of boxes) b.place.textContent = kind.value === 'in_order' && chosen.includes(b.m.id) ? ` ${chosen.indexOf(b.m.id) + 1}` : '';
    list.hidden = kind.value === 'none';
  };
  kind.addEventListener('change', number);
  number();
  const fieldset = h(
    'fieldset',
    {},
    h('legend', { i18n: 'team.approval' }),
    h('p', { class: 'hint', i18n: 'team.approval_hint' }),
    h('div', { class: 'field' }, h('label', { for: 'approval-kind', i18n: 'team.approval_kind' }), kind),
    list,
  );
  return { fieldset, read: () => ({ kind: kind.value, approvers: kind.value === 'none' ? [] : [...chosen] }) };
}

// The team's security settings (admins): two-factor login for every member, the networks
// members may work from (one per line), with a confirmation before a list that leaves out
// the admin's own address, and the approval every document needs before it is sent.
async function security() {
  const [team, members] = await Promise.all([api('GET', '/team'), api('GET', '/team/members')]);
  const approval = approvalFields(team, members);
  const section = h('section', { 'aria-labelledby': 'team-security' });
  const notice = h('p', { role: 'status', class: 'notice' });
  const required = h('input', { type: 'checkbox', id: 'require-2fa', name: 'require_two_factor' });
  required.checked = team.require_two_factor;
  const f = form({
    fields: [
      h('div', { class: 'field check' }, required, h('label', { for: 'require-2fa', i18n: 'team.require_two_factor' })),
      field({ name: 'allowed_networks', label: 'team.networks', hint: 'team.networks_hint', multiline: true, required: false, value: team.allowed_networks.join('\n') }),
      h('p', { class: 'hint', i18n: 'team.your_address', i18nArgs: { address: team.client_address }, i18nUser: 'address' }),
      approval.fieldset,
    ],
    submit: 'team.save',
    onSubmit: async (v) => {
      const body = {
        require_two_factor: v.require_two_factor,
        allowed_networks: v.allowed_networks.split(/[\n,]/).map((l) => l.normalize('NFKC').trim()).filter(Boolean),
        approval: approval.read(),
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

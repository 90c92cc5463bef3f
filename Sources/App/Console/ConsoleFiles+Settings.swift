extension ConsoleFiles {
    /// `settings.js`: members and invitations, API keys, webhooks and deliveries, the plan and its usage.
    static let settings = ConsoleAsset(name: "settings.js", contentType: "text/javascript; charset=utf-8", text: #"""
// Settings for admins: members and invitations, API keys, webhooks and their deliveries, and
// the plan with its limits and today's usage. A secret the API shows once is shown once here.
import { api } from './api.js';
import { el, replace, badge, when, json, problem } from './dom.js';
import { pagedTable } from './work.js';

const ROLES = ['owner', 'admin', 'member', 'viewer'];
const SCOPES = ['runs:read', 'runs:write', 'workflows:read', 'workflows:write', 'jobs:read', 'jobs:work', 'sandboxes:read',
  'sandboxes:write', 'audit:read', 'events:read', 'webhooks:manage', 'usage:read', 'members:read'];

// A secret shown once, with a button that copies it.
function shownOnce(label, secret) {
  const value = el('code', { class: 'secret' }, secret);
  const copied = el('span', { class: 'muted', role: 'status' });
  return el('div', { class: 'once' }, el('p', {}, label + ' (shown once):'), value,
    el('button', { type: 'button', class: 'copy', onclick: async () => {
      try { await navigator.clipboard.writeText(secret); copied.textContent = ' copied'; } catch { copied.textContent = ' select it and copy'; }
    } }, 'Copy'), copied);
}

function members(me) {
  const base = '/v1/workspaces/' + encodeURIComponent(me.workspace_id) + '/members';
  const status = el('div', { role: 'status' });
  const table = pagedTable('members', base, ['Email', 'Role', 'Joined', ''], (member) => {
    const role = el('select', { 'aria-label': 'Role of ' + member.email, onchange: async () => {
      try { await api('PATCH', base + '/' + encodeURIComponent(member.user_id), { role: role.value }); replace(status); } catch (error) { replace(status, problem(error)); }
    } }, ROLES.map((value) => el('option', { value, selected: value === member.role }, value)));
    const tr = el('tr', { 'data-member': member.user_id }, el('td', {}, member.email), el('td', {}, role), el('td', {}, when(member.joined_at)),
      el('td', {}, el('button', { type: 'button', class: 'danger', onclick: async () => {
        try { await api('DELETE', base + '/' + encodeURIComponent(member.user_id)); tr.remove(); } catch (error) { replace(status, problem(error)); }
      } }, 'Remove')));
    return tr;
  });
  const email = el('input', { id: 'invite-email', type: 'email', 'aria-label': 'Email', placeholder: 'email', required: true });
  const role = el('select', { id: 'invite-role', 'aria-label': 'Role' }, ROLES.slice(1).map((value) => el('option', { value, selected: value === 'member' }, value)));
  const invited = el('div');
  const invite = el('form', { class: 'filters', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const invitation = await api('POST', base, { email: email.value.trim(), role: role.value });
      replace(invited, shownOnce('Invitation token for ' + invitation.email, invitation.invite_token));
    } catch (error) { replace(invited, problem(error)); }
  } }, email, role, el('button', { type: 'submit' }, 'Invite'));
  return el('div', {}, table, status, el('h3', {}, 'Invite someone'), invite, invited);
}

function keys() {
  const status = el('div', { role: 'status' });
  const row = (key) => {
    const toggle = el('button', { type: 'button', onclick: async () => {
      try {
        const updated = await api('POST', '/v1/api-keys/' + encodeURIComponent(key.id) + (key.disabled ? '/enable' : '/disable'));
        tr.replaceWith(row(updated.api_key || updated));
      } catch (error) { replace(status, problem(error)); }
    } }, key.disabled ? 'Enable' : 'Disable');
    const tr = el('tr', { 'data-key': key.id }, el('td', {}, key.name), el('td', {}, el('code', {}, key.prefix + '…')),
      el('td', {}, key.scopes.join(' ')), el('td', {}, key.disabled ? badge('disabled') : badge('active')), el('td', {}, when(key.last_used_at)),
      el('td', {}, toggle, ' ', el('button', { type: 'button', class: 'danger', onclick: async () => {
        try { await api('DELETE', '/v1/api-keys/' + encodeURIComponent(key.id)); tr.remove(); } catch (error) { replace(status, problem(error)); }
      } }, 'Revoke')));
    return tr;
  };
  const table = pagedTable('keys', '/v1/api-keys', ['Name', 'Prefix', 'Scopes', 'State', 'Last used', ''], row);
  const name = el('input', { id: 'key-name', 'aria-label': 'Key name', placeholder: 'name', required: true });
  const boxes = SCOPES.map((scope) => el('label', { class: 'check' }, el('input', { type: 'checkbox', value: scope, 'data-scope': scope }), scope));
  const created = el('div', { id: 'created-key' });
  const form = el('form', { class: 'filters', onsubmit: async (event) => {
    event.preventDefault();
    const scopes = boxes.map((box) => box.querySelector('input')).filter((box) => box.checked).map((box) => box.value);
    try {
      const answer = await api('POST', '/v1/api-keys', { name: name.value.trim(), scopes });
      replace(created, shownOnce('The key ' + answer.api_key.name, answer.raw_key));
      table.querySelector('tbody').prepend(row(answer.api_key));
    } catch (error) { replace(created, problem(error)); }
  } }, name, el('div', { class: 'scopes' }, boxes), el('button', { type: 'submit', id: 'create-key' }, 'Create key'));
  return el('div', {}, table, status, el('h3', {}, 'New key'), form, created);
}

function deliveries(hook) {
  return pagedTable('deliveries', '/v1/webhooks/' + encodeURIComponent(hook.id) + '/deliveries', ['Event', 'Status', 'Attempts', 'Next attempt'],
    (delivery) => el('tr', {}, el('td', {}, delivery.event_type), el('td', {}, badge(delivery.status)),
      el('td', {}, (delivery.attempts || []).map((attempt) => (attempt.status_code || attempt.error || '?') + ' ').join('') || '—'),
      el('td', {}, when(delivery.next_attempt_at))));
}

function webhooks() {
  const status = el('div', { role: 'status' });
  const shown = el('div');
  const row = (hook) => {
    const tr = el('tr', { 'data-webhook': hook.id }, el('td', {}, hook.url), el('td', {}, (hook.events || []).join(' ')),
      el('td', {}, el('button', { type: 'button', onclick: () => replace(shown, el('h3', {}, 'Deliveries to ' + hook.url), deliveries(hook)) }, 'Deliveries'), ' ',
        el('button', { type: 'button', class: 'danger', onclick: async () => {
          try { await api('DELETE', '/v1/webhooks/' + encodeURIComponent(hook.id)); tr.remove(); } catch (error) { replace(status, problem(error)); }
        } }, 'Delete')));
    return tr;
  };
  const table = pagedTable('webhooks', '/v1/webhooks', ['URL', 'Events', ''], row);
  const url = el('input', { id: 'webhook-url', type: 'url', 'aria-label': 'URL', placeholder: 'https://…', required: true });
  const events = el('input', { id: 'webhook-events', 'aria-label': 'Events', value: '*', placeholder: 'run.succeeded run.failed or *' });
  const created = el('div');
  const form = el('form', { class: 'filters', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const hook = await api('POST', '/v1/webhooks', { url: url.value.trim(), events: events.value.split(/[\s,]+/).filter(Boolean) });
      replace(created, shownOnce('Its signing secret', hook.secret));
      table.querySelector('tbody').prepend(row(hook));
    } catch (error) { replace(created, problem(error)); }
  } }, url, events, el('button', { type: 'submit' }, 'Add webhook'));
  return el('div', {}, table, status, el('h3', {}, 'New webhook'), form, created, shown);
}

async function plan(me) {
  const [workspace, usage] = await Promise.all([
    api('GET', '/v1/workspaces/' + encodeURIComponent(me.workspace_id)),
    api('GET', '/v1/usage').catch((error) => ({ error })),
  ]);
  const limits = workspace.limits || {};
  const limit = (value) => (value === null || value === undefined ? 'unlimited' : String(value));
  return el('div', { id: 'plan' },
    el('dl', { class: 'facts' },
      el('dt', {}, 'Plan'), el('dd', {}, workspace.plan),
      el('dt', {}, 'Requests a minute'), el('dd', {}, limit(limits.requests_per_minute)),
      el('dt', {}, 'Requests a day'), el('dd', {}, limit(limits.requests_per_day), usage.error ? '' : ' (today: ' + usage.requests + ')'),
      el('dt', {}, 'Active runs'), el('dd', {}, limit(limits.active_runs)),
      el('dt', {}, 'Sandboxes'), el('dd', {}, limit(limits.sandboxes))),
    usage.error ? problem(usage.error) : el('details', {}, el('summary', {}, "Today's usage"), json(usage)));
}

export async function settingsView({ me }) {
  if (!['owner', 'admin'].includes(me.role)) {
    return el('section', {}, el('h1', {}, 'Settings'), el('p', { class: 'muted' }, 'Settings are for the workspace\'s owners and admins.'));
  }
  return el('section', {}, el('h1', {}, 'Settings'),
    el('h2', {}, 'Plan and usage'), await plan(me).catch(problem),
    el('h2', {}, 'Members'), members(me),
    el('h2', {}, 'API keys'), keys(),
    el('h2', {}, 'Webhooks'), webhooks());
}
"""#)
}

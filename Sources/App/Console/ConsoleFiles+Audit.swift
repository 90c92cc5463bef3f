extension ConsoleFiles {
    /// `audit.js`: the audit log with its filters, and the chain's verification.
    static let audit = ConsoleAsset(name: "audit.js", contentType: "text/javascript; charset=utf-8", text: #"""
// The workspace's audit chain: entries newest first with filters, and a check of the chain.
import { api } from './api.js';
import { el, replace, when, problem } from './dom.js';
import { pagedTable } from './work.js';

function toISO(local) {
  if (!local) return '';
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

function entries(filters) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  return pagedTable('audit', '/v1/audit/logs?' + query, ['Seq', 'When', 'Actor', 'Event', 'Target', 'Note'], (entry) => el('tr', { 'data-seq': entry.seq },
    el('td', { class: 'number' }, String(entry.seq)), el('td', {}, when(entry.timestamp)),
    el('td', {}, (entry.actor && (entry.actor.email || entry.actor.id)) || '—'), el('td', {}, entry.event),
    el('td', {}, entry.target_type + (entry.target_id ? ' ' + entry.target_id : '')), el('td', {}, entry.note || '')));
}

export function auditView() {
  const since = el('input', { id: 'audit-since', type: 'datetime-local', 'aria-label': 'Since' });
  const until = el('input', { id: 'audit-until', type: 'datetime-local', 'aria-label': 'Until' });
  const actor = el('input', { id: 'audit-actor', 'aria-label': 'Actor', placeholder: 'actor id' });
  const event = el('input', { id: 'audit-event', 'aria-label': 'Event', placeholder: 'event, e.g. run.approved' });
  const list = el('div', {}, entries({}));
  const verdict = el('div', { id: 'verdict', role: 'status' });
  async function verify() {
    replace(verdict, el('p', { class: 'muted' }, 'Checking…'));
    try {
      const result = await api('GET', '/v1/audit/verify');
      replace(verdict, el('p', { class: result.valid ? 'ok' : 'error', 'data-valid': String(result.valid) },
        result.valid ? 'valid: ' + result.checked_count + ' entries checked'
          : 'invalid: the chain breaks at seq ' + result.first_invalid_seq + ' (' + result.checked_count + ' checked)'));
    } catch (error) {
      replace(verdict, problem(error));
    }
  }
  const filters = el('form', { class: 'filters', onsubmit: (submitted) => {
    submitted.preventDefault();
    replace(list, entries({ since: toISO(since.value), until: toISO(until.value), actor: actor.value.trim(), event: event.value.trim() }));
  } }, el('label', {}, 'Since', since), el('label', {}, 'Until', until), actor, event, el('button', { type: 'submit' }, 'Filter'));
  return el('section', {}, el('h1', {}, 'Audit'),
    el('div', { class: 'actions' }, el('button', { id: 'verify', type: 'button', onclick: verify }, 'Verify the chain'), verdict),
    filters, list);
}
"""#)
}

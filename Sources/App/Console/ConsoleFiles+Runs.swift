extension ConsoleFiles {
    /// `runs.js`: the runs list with its filters and cursor paging.
    static let runs = ConsoleAsset(name: "runs.js", contentType: "text/javascript; charset=utf-8", text: #"""
// The runs of the workspace: filters by status and workflow, newest first, a cursor page at a time.
import { api } from './api.js';
import { el, badge, when } from './dom.js';

const STATUSES = ['', 'queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled', 'planned'];

function link(params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  const text = query.toString();
  return '#/runs' + (text ? '?' + text : '');
}

export async function runsView(params) {
  const status = params.get('status') || '';
  const workflow = params.get('workflow') || '';
  const cursor = params.get('cursor') || '';
  const query = new URLSearchParams({ limit: '25' });
  if (status) query.set('status', status);
  if (workflow) query.set('workflow', workflow);
  if (cursor) query.set('cursor', cursor);
  const page = await api('GET', '/v1/runs?' + query);
  const statusSelect = el('select', { id: 'status-filter', 'aria-label': 'Status' },
    STATUSES.map((value) => el('option', { value, selected: value === status }, value ? value.replace(/_/g, ' ') : 'any status')));
  const workflowInput = el('input', { id: 'workflow-filter', 'aria-label': 'Workflow', placeholder: 'workflow slug', value: workflow });
  const filters = el('form', {
    class: 'filters',
    onsubmit: (event) => {
      event.preventDefault();
      location.hash = link({ status: statusSelect.value, workflow: workflowInput.value.trim() });
    },
  }, statusSelect, workflowInput, el('button', { type: 'submit' }, 'Filter'));
  const rows = page.data.map((run) => el('tr', { 'data-run': run.id },
    el('td', {}, el('a', { href: '#/runs/' + encodeURIComponent(run.id) }, run.id)),
    el('td', {}, run.workflow), el('td', {}, badge(run.status)), el('td', {}, when(run.created_at)),
    el('td', { class: 'number' }, '$' + Number(run.cost_usd || 0).toFixed(4))));
  const table = rows.length
    ? el('div', { class: 'scroll' }, el('table', { id: 'runs' },
      el('thead', {}, el('tr', {}, ['Run', 'Workflow', 'Status', 'Created', 'Cost'].map((title) => el('th', {}, title)))),
      el('tbody', {}, rows)))
    : el('p', { class: 'muted' }, 'No runs match.');
  const pages = el('p', { class: 'pages' },
    cursor ? el('a', { href: link({ status, workflow }) }, 'First page') : null,
    page.has_more ? el('a', { id: 'next-page', href: link({ status, workflow, cursor: page.next_cursor }) }, 'Next page') : null);
  return el('section', {}, el('h1', {}, 'Runs'), filters, table, pages);
}
"""#)
}

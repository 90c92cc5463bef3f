extension ConsoleFiles {
    /// `work.js`: jobs by status and queue, the dead-letter queue with retry and delete, and the locks; its paged table serves the other lists too.
    static let work = ConsoleAsset(name: "work.js", contentType: "text/javascript; charset=utf-8", text: #"""
// Workers and queues: jobs by status and queue, the dead-letter queue with retry and delete,
// and the locks held.
import { api } from './api.js';
import { el, replace, badge, when, json, problem } from './dom.js';

const JOB_STATUSES = ['', 'queued', 'leased', 'succeeded', 'dead', 'cancelled'];

// A table that loads a list route a page at a time, with a "More" button while there are more.
export function pagedTable(id, path, columns, row) {
  const body = el('tbody');
  const more = el('button', { type: 'button', class: 'more' }, 'More');
  const status = el('div', { role: 'status' });
  let cursor = null;
  async function load() {
    try {
      const separator = path.includes('?') ? '&' : '?';
      const page = await api('GET', path + separator + 'limit=50' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      const items = Array.isArray(page) ? page : page.data;
      for (const item of items) body.append(row(item));
      cursor = Array.isArray(page) ? null : page.next_cursor;
      more.hidden = !cursor;
      if (!body.children.length) replace(status, el('p', { class: 'muted' }, 'None.'));
    } catch (error) {
      replace(status, problem(error));
      more.hidden = true;
    }
  }
  more.addEventListener('click', load);
  load();
  return el('div', {}, el('div', { class: 'scroll' }, el('table', { id },
    el('thead', {}, el('tr', {}, columns.map((title) => el('th', {}, title)))), body)), more, status);
}

function jobsTable(status, queue) {
  const query = new URLSearchParams();
  if (status) query.set('status', status);
  if (queue) query.set('queue', queue);
  return pagedTable('jobs', '/v1/jobs?' + query, ['Job', 'Queue', 'Status', 'Attempts', 'Run', 'Updated'], (job) => el('tr', { 'data-job': job.id },
    el('td', {}, job.id), el('td', {}, job.queue), el('td', {}, badge(job.status)), el('td', {}, job.attempts + ' / ' + job.max_attempts),
    el('td', {}, job.run_id ? el('a', { href: '#/runs/' + encodeURIComponent(job.run_id) }, job.run_id) : '—'), el('td', {}, when(job.updated_at))));
}

function deadLetters() {
  return pagedTable('dlq', '/v1/dlq', ['Job', 'Queue', 'Attempts', 'Last error', ''], (job) => {
    const message = el('span', { role: 'status' });
    const tr = el('tr', { 'data-job': job.id },
      el('td', {}, job.id), el('td', {}, job.queue), el('td', {}, String(job.attempts)),
      el('td', {}, job.error ? json(job.error) : '—'),
      el('td', {},
        el('button', { type: 'button', class: 'retry-job', onclick: async () => {
          try { await api('POST', '/v1/dlq/' + encodeURIComponent(job.id) + '/retry'); tr.remove(); } catch (error) { replace(message, problem(error)); }
        } }, 'Retry'), ' ',
        el('button', { type: 'button', class: 'danger delete-job', onclick: async () => {
          try { await api('DELETE', '/v1/dlq/' + encodeURIComponent(job.id)); tr.remove(); } catch (error) { replace(message, problem(error)); }
        } }, 'Delete'), message));
    return tr;
  });
}

export function workView() {
  const statusSelect = el('select', { id: 'job-status', 'aria-label': 'Job status' },
    JOB_STATUSES.map((value) => el('option', { value }, value || 'any status')));
  const queueInput = el('input', { id: 'job-queue', 'aria-label': 'Queue', placeholder: 'queue' });
  const jobs = el('div', {}, jobsTable('', ''));
  const filters = el('form', { class: 'filters', onsubmit: (event) => {
    event.preventDefault();
    replace(jobs, jobsTable(statusSelect.value, queueInput.value.trim()));
  } }, statusSelect, queueInput, el('button', { type: 'submit' }, 'Filter'));
  const locks = pagedTable('locks', '/v1/locks', ['Key', 'Owner', 'Fencing token', 'Expires'], (lock) => el('tr', {},
    el('td', {}, lock.key), el('td', {}, lock.owner), el('td', { class: 'number' }, String(lock.fencing_token)), el('td', {}, when(lock.expires_at))));
  return el('section', {}, el('h1', {}, 'Workers and queues'),
    el('h2', {}, 'Jobs'), filters, jobs,
    el('h2', {}, 'Dead letters'), deadLetters(),
    el('h2', {}, 'Locks'), locks);
}
"""#)
}

extension ConsoleFiles {
    /// `schedules.js`: the schedules with their next fire times, recent runs and counters; create, edit, pause, unpause, trigger.
    static let schedules = ConsoleAsset(name: "schedules.js", contentType: "text/javascript; charset=utf-8", text: #"""
// The workspace's schedules: each one's next fire times in its own time zone and the viewer's,
// its recent runs and counters, and (for members) create, edit, pause, unpause and trigger.
import { api } from './api.js';
import { el, replace, badge, when, problem } from './dom.js';

const POLICIES = ['skip', 'buffer_one', 'allow_all', 'cancel_other'];
const WRITERS = ['owner', 'admin', 'member'];

// A time in the schedule's zone, then in the viewer's.
function fireTime(iso, zone) {
  const date = new Date(iso);
  let there = iso;
  try { there = date.toLocaleString(undefined, { timeZone: zone, dateStyle: 'medium', timeStyle: 'short' }) + ' ' + zone; } catch { there = iso; }
  return el('li', { 'data-fire': iso }, el('span', { class: 'zone-time' }, there), ' · ',
    el('span', { class: 'local-time' }, date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) + ' here'));
}

function rule(schedule) {
  return schedule.cron !== null ? el('code', {}, schedule.cron) : 'every ' + schedule.every_s + ' s';
}

// The create and edit form; `schedule` fills it for an edit (PATCH), else it creates (POST).
function scheduleForm(workflows, schedule, done) {
  const workflow = el('select', { name: 'workflow', 'aria-label': 'Workflow' },
    workflows.map((w) => el('option', { value: w.slug, selected: schedule && schedule.workflow_id === w.id }, w.slug)));
  const kind = el('select', { name: 'kind', 'aria-label': 'Kind' },
    el('option', { value: 'cron', selected: !schedule || schedule.cron !== null }, 'cron'),
    el('option', { value: 'every', selected: schedule && schedule.every_s !== null }, 'every (s)'));
  const expression = el('input', { name: 'expression', 'aria-label': 'Cron or seconds', required: true, placeholder: '0 9 * * mon-fri',
    value: schedule ? String(schedule.cron !== null ? schedule.cron : schedule.every_s) : '' });
  const zone = el('input', { name: 'timezone', 'aria-label': 'Time zone', value: schedule ? schedule.timezone : 'UTC' });
  const policy = el('select', { name: 'overlap_policy', 'aria-label': 'Overlap policy' },
    POLICIES.map((value) => el('option', { value, selected: schedule ? schedule.overlap_policy === value : value === 'skip' }, value.replace(/_/g, ' '))));
  const note = el('input', { name: 'note', 'aria-label': 'Note', placeholder: 'note', value: schedule && schedule.note ? schedule.note : '' });
  const status = el('div', { role: 'status' });
  async function submit(event) {
    event.preventDefault();
    const body = { workflow: workflow.value, timezone: zone.value.trim(), overlap_policy: policy.value, note: note.value || null };
    if (kind.value === 'cron') body.cron = expression.value.trim(); else body.every_s = Number(expression.value);
    try {
      if (schedule) await api('PATCH', '/v1/schedules/' + encodeURIComponent(schedule.id), body);
      else await api('POST', '/v1/schedules', body);
      done();
    } catch (error) {
      replace(status, problem(error));
    }
  }
  return el('form', { class: 'filters schedule-form', onsubmit: submit }, workflow, kind, expression, zone, policy, note,
    el('button', { type: 'submit', class: schedule ? 'save-schedule' : 'create-schedule' }, schedule ? 'Save' : 'Create'), status);
}

function row(schedule, canWrite, workflows, refresh) {
  const message = el('span', { role: 'status' });
  const editor = el('div', { class: 'editor' });
  async function act(action, body) {
    try {
      await api('POST', '/v1/schedules/' + encodeURIComponent(schedule.id) + '/' + action, body);
      refresh();
    } catch (error) {
      replace(message, problem(error));
    }
  }
  const info = schedule.info;
  const actions = canWrite ? el('td', {},
    schedule.paused
      ? el('button', { type: 'button', class: 'unpause', onclick: () => act('unpause') }, 'Unpause')
      : el('button', { type: 'button', class: 'pause', onclick: () => act('pause', {}) }, 'Pause'), ' ',
    el('button', { type: 'button', class: 'trigger', onclick: () => act('trigger', {}) }, 'Trigger'), ' ',
    el('button', { type: 'button', class: 'edit', onclick: () => replace(editor, scheduleForm(workflows, schedule, refresh)) }, 'Edit'),
    message, editor) : null;
  return el('tr', { 'data-schedule': schedule.id },
    el('td', {}, schedule.workflow, schedule.note ? el('div', { class: 'muted' }, schedule.note) : null),
    el('td', {}, rule(schedule), el('div', { class: 'muted' }, schedule.timezone)),
    el('td', {}, badge(schedule.paused ? 'paused' : 'active')),
    el('td', {}, schedule.next_run_times.length
      ? el('ul', { class: 'fires' }, schedule.next_run_times.slice(0, 3).map((iso) => fireTime(iso, schedule.timezone)))
      : el('span', { class: 'muted' }, 'none')),
    el('td', {}, info.recent_runs.length
      ? el('ul', { class: 'recent' }, info.recent_runs.slice(0, 3).map((run) => el('li', {},
        el('a', { href: '#/runs/' + encodeURIComponent(run.run_id) }, run.run_id), ' ', when(run.scheduled_at))))
      : el('span', { class: 'muted' }, 'none')),
    el('td', { class: 'counters' },
      el('span', { 'data-counter': 'action_count' }, info.action_count + ' started'),
      info.overlap_skipped ? el('div', {}, info.overlap_skipped + ' skipped') : null,
      info.missed_catchup_window ? el('div', {}, info.missed_catchup_window + ' missed') : null,
      info.failed_fires ? el('div', { title: info.last_error || '' }, info.failed_fires + ' failed') : null),
    actions);
}

export async function schedulesView(context) {
  const canWrite = WRITERS.includes(context.me.role) || ((context.me.api_key && context.me.api_key.scopes) || []).includes('schedules:write');
  const list = el('div');
  const section = el('section', { id: 'schedules-page' }, el('h1', {}, 'Schedules'));
  // A key that may write schedules but not read workflows gets an empty choice, not a broken page.
  const workflows = canWrite ? await api('GET', '/v1/workflows?limit=200').then((page) => page.data, () => []) : [];
  async function refresh() {
    try {
      const page = await api('GET', '/v1/schedules?limit=200');
      replace(list, page.data.length
        ? el('div', { class: 'scroll' }, el('table', { id: 'schedules' },
          el('thead', {}, el('tr', {}, ['Workflow', 'When', 'Status', 'Next fires', 'Recent runs', 'Counters', canWrite ? '' : null]
            .filter((title) => title !== null).map((title) => el('th', {}, title)))),
          el('tbody', {}, page.data.map((schedule) => row(schedule, canWrite, workflows, refresh)))))
        : el('p', { class: 'muted' }, 'No schedules.'));
    } catch (error) {
      replace(list, problem(error));
    }
  }
  await refresh();
  if (canWrite) section.append(el('h2', {}, 'New schedule'), scheduleForm(workflows, null, refresh));
  section.append(list);
  return section;
}
"""#)
}

extension ConsoleFiles {
    /// `run.js`: one run, live from its event stream, with approve, reject, cancel and retry.
    static let run = ConsoleAsset(name: "run.js", contentType: "text/javascript; charset=utf-8", text: #"""
// One run: its steps as a timeline, kept current from the run's event stream, and what a
// person can do with it (approve or reject with a note, cancel, retry from a step).
import { api, follow } from './api.js';
import { el, replace, badge, when, json, problem } from './dom.js';

const LIVE = ['queued', 'running', 'awaiting_approval'];

function duration(step) {
  if (step.duration_ms === null || step.duration_ms === undefined) return '—';
  return step.duration_ms < 1000 ? step.duration_ms + ' ms' : (step.duration_ms / 1000).toFixed(1) + ' s';
}

function timeline(run) {
  return el('ol', { class: 'timeline', id: 'steps' }, run.steps.map((step) => el('li', { class: 'step ' + step.status, 'data-step': step.id },
    el('div', { class: 'step-head' }, el('strong', {}, step.id), el('span', { class: 'muted' }, step.kind), badge(step.status)),
    el('dl', {},
      el('dt', {}, 'Attempts'), el('dd', {}, String(step.attempts)),
      el('dt', {}, 'Started'), el('dd', {}, when(step.started_at)),
      el('dt', {}, 'Took'), el('dd', {}, duration(step)),
      el('dt', {}, 'Cost'), el('dd', {}, '$' + Number(step.cost_usd || 0).toFixed(4))),
    step.output !== null ? el('details', {}, el('summary', {}, 'Output'), json(step.output)) : null,
    step.error !== null ? el('div', { class: 'step-error' }, json(step.error)) : null)));
}

export async function runView(id, { me, onLeave }) {
  const path = '/v1/runs/' + encodeURIComponent(id);
  let run = await api('GET', path);
  const approvers = {};
  try {
    const workflow = await api('GET', '/v1/workflows/' + encodeURIComponent(run.workflow_id));
    for (const step of workflow.steps || []) if (step.kind === 'approval') approvers[step.id] = step.approvers || ['owner', 'admin'];
  } catch {
    // A deleted workflow: the default approvers below; the API decides in any case.
  }
  const root = el('section', { class: 'run', id: 'run', 'data-live': 'connecting' });
  const message = el('div', { role: 'status', id: 'message' });

  async function act(action, body) {
    try {
      run = await api('POST', path + '/' + action, body);
      replace(message);
      render();
    } catch (error) {
      replace(message, problem(error));
    }
  }

  function actions() {
    const awaiting = run.steps.find((step) => step.status === 'awaiting');
    const allowed = awaiting ? (approvers[awaiting.id] || ['owner', 'admin']) : [];
    const controls = [];
    // An API key approves as a member (API.md): approval steps are for people unless they list member.
    const role = me.role || (me.api_key ? 'member' : null);
    if (run.status === 'awaiting_approval' && allowed.includes(role)) {
      const note = el('input', { id: 'note', 'aria-label': 'Note', placeholder: 'note (optional)', maxlength: '1000' });
      const body = () => (note.value.trim() ? { note: note.value.trim() } : {});
      controls.push(el('div', { class: 'approval' }, note,
        el('button', { id: 'approve', type: 'button', class: 'primary', onclick: () => act('approve', body()) }, 'Approve'),
        el('button', { id: 'reject', type: 'button', class: 'danger', onclick: () => act('reject', body()) }, 'Reject')));
    }
    if (LIVE.includes(run.status)) {
      controls.push(el('button', { id: 'cancel', type: 'button', onclick: () => act('cancel') }, 'Cancel run'));
    }
    if (run.status === 'failed' || run.status === 'cancelled') {
      const from = el('select', { id: 'retry-from', 'aria-label': 'Retry from' },
        el('option', { value: '' }, 'the failed steps'), run.steps.map((step) => el('option', { value: step.id }, 'step ' + step.id)));
      controls.push(el('div', { class: 'retry' }, from,
        el('button', { id: 'retry', type: 'button', onclick: () => act('retry', from.value ? { from_step_id: from.value } : {}) }, 'Retry')));
    }
    return el('div', { class: 'actions' }, controls);
  }

  function render() {
    replace(root,
      el('p', {}, el('a', { href: '#/runs' }, '← Runs')),
      el('h1', {}, run.id, ' ', badge(run.status)),
      el('dl', { class: 'facts' },
        el('dt', {}, 'Workflow'), el('dd', {}, run.workflow + ' v' + run.workflow_version),
        el('dt', {}, 'Created'), el('dd', {}, when(run.created_at)),
        el('dt', {}, 'Ticket'), el('dd', {}, run.ticket || '—'),
        el('dt', {}, 'Env'), el('dd', {}, run.env || '—'),
        el('dt', {}, 'Cost'), el('dd', {}, '$' + Number(run.cost_usd || 0).toFixed(4)),
        el('dt', {}, 'Live'), el('dd', { id: 'live' }, root.dataset.live)),
      run.failure ? el('p', { class: 'error', id: 'failure' }, run.failure.code + ': ' + run.failure.message) : null,
      actions(), message,
      el('h2', {}, 'Steps'), timeline(run),
      el('h2', {}, 'Metadata'), el('div', { id: 'metadata' }, json(run.metadata)),
      el('h2', {}, 'Input'), json(run.input));
  }

  const controller = new AbortController();
  const setLive = (state) => {
    root.dataset.live = state;
    const live = root.querySelector('#live');
    if (live) live.textContent = state;
  };
  // Events come in bursts (the stream replays the run from its start): one read of the run
  // for each burst, not one per event.
  let refreshing = null;
  const refresh = () => {
    if (refreshing) return;
    refreshing = setTimeout(async () => {
      refreshing = null;
      try {
        run = await api('GET', path);
        render();
      } catch (error) {
        replace(message, problem(error));
      }
    }, 100);
  };
  onLeave(() => { controller.abort(); clearTimeout(refreshing); });
  follow(path + '/events', refresh, controller.signal, () => setLive('open'))
    .then(async () => {
      setLive('ended');
      run = await api('GET', path);
      render();
    })
    .catch((error) => { if (!controller.signal.aborted) setLive('lost: ' + error.message); });
  render();
  return root;
}
"""#)
}

extension ConsoleFiles {
    /// `app.js`: sign-in, the workspace switcher and the hash router.
    static let app = ConsoleAsset(name: "app.js", contentType: "text/javascript; charset=utf-8", text: #"""
// The console's shell: sign-in, the workspace switcher, and a hash router over the views.
import { api, session, APIError } from './api.js';
import { el, replace, problem } from './dom.js';
import { runsView } from './runs.js';
import { runView } from './run.js';
import { workView } from './work.js';
import { schedulesView } from './schedules.js';
import { auditView } from './audit.js';
import { settingsView } from './settings.js';

const bar = document.getElementById('bar');
const view = document.getElementById('view');
let me = null;
let leave = null;

function signOut() {
  session.clear();
  me = null;
  location.hash = '#/signin';
  route();
}

async function switchWorkspace(id) {
  try {
    const answer = await api('POST', '/v1/workspaces/' + encodeURIComponent(id) + '/switch');
    session.set(answer.token);
    me = null;
    location.hash = '#/runs';
    route();
  } catch (error) {
    replace(view, problem(error));
  }
}

function renderBar() {
  const items = [el('a', { class: 'brand', href: '#/runs' }, 'Troupe')];
  if (me) {
    const select = el('select', { 'aria-label': 'Workspace', id: 'workspace', onchange: (event) => switchWorkspace(event.target.value) },
      (me.workspaces || []).map((workspace) => el('option', { value: workspace.id, selected: workspace.id === me.workspace_id }, workspace.name)));
    const admin = ['owner', 'admin'].includes(me.role);
    items.push(el('nav', {}, el('a', { href: '#/runs' }, 'Runs'), el('a', { href: '#/schedules' }, 'Schedules'), el('a', { href: '#/work' }, 'Workers'), el('a', { href: '#/audit' }, 'Audit'),
      admin ? el('a', { href: '#/settings', id: 'settings-link' }, 'Settings') : null), select,
      el('span', { class: 'who' }, (me.user && me.user.email) || 'API key', ' · ', me.role || ''),
      el('button', { id: 'sign-out', type: 'button', onclick: signOut }, 'Sign out'));
  }
  replace(bar, items);
}

function signInView(message) {
  const email = el('input', { id: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = el('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const key = el('input', { id: 'api-key', type: 'password', autocomplete: 'off', placeholder: 'sk_live_…' });
  const status = el('div', { role: 'status' }, message ? problem(message) : null);
  async function signIn(event) {
    event.preventDefault();
    try {
      const answer = await api('POST', '/v1/auth/login', { email: email.value, password: password.value });
      session.set(answer.token);
      location.hash = '#/runs';
      route();
    } catch (error) {
      replace(status, problem(error));
    }
  }
  function useKey(event) {
    event.preventDefault();
    session.set(key.value.trim());
    location.hash = '#/runs';
    route();
  }
  return el('section', { class: 'signin' },
    el('h1', {}, 'Sign in'),
    el('form', { id: 'signin-form', onsubmit: signIn },
      el('label', {}, 'Email', email), el('label', {}, 'Password', password),
      el('button', { type: 'submit', id: 'sign-in' }, 'Sign in')),
    el('form', { id: 'key-form', onsubmit: useKey },
      el('label', {}, 'Or an API key', key), el('button', { type: 'submit' }, 'Use the key')),
    status);
}

async function route() {
  if (leave) { leave(); leave = null; }
  const hash = location.hash || '#/runs';
  if (!session.token) {
    me = null;
    renderBar();
    replace(view, signInView());
    return;
  }
  try {
    if (!me) me = await api('GET', '/v1/auth/me');
  } catch (error) {
    if (error instanceof APIError && error.status === 401) {
      session.clear();
      me = null;
      renderBar();
      replace(view, signInView(error));
      return;
    }
    replace(view, problem(error));
    return;
  }
  renderBar();
  const [path, query] = hash.slice(2).split('?');
  const parts = path.split('/');
  const context = { me, onLeave: (stop) => { leave = stop; } };
  try {
    if (parts[0] === 'runs' && parts[1]) replace(view, await runView(decodeURIComponent(parts[1]), context));
    else if (parts[0] === 'work') replace(view, workView(context));
    else if (parts[0] === 'schedules') replace(view, await schedulesView(context));
    else if (parts[0] === 'audit') replace(view, auditView(context));
    else if (parts[0] === 'settings') replace(view, await settingsView(context));
    else replace(view, await runsView(new URLSearchParams(query || ''), context));
  } catch (error) {
    replace(view, problem(error));
  }
}

window.addEventListener('hashchange', route);
route();
"""#)
}

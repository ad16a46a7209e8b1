// The dashboard's shell: hash routes (#/overview, #/jobs, #/jobs/<id>, #/submit/<type>), the live socket, and
// the token prompt that replaces the page whenever the server answers 401.

import { api, setUnauthorizedHandler, token } from './api.js';
import { h, replace } from './dom.js';
import { JobView } from './job.js';
import { JobsView } from './jobs.js';
import { LiveSocket } from './live.js';
import { OverviewView } from './overview.js';
import { SubmitView } from './submit.js';

const root = document.getElementById('view');
const connection = document.getElementById('connection');
const signOut = document.getElementById('sign-out');

let view = null;
let live = null;
let locked = false;

function route() {
  const [path, queryText] = location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(queryText ?? '');
  if (parts[0] === 'jobs' && parts[1]) return new JobView(parts[1], live);
  if (parts[0] === 'jobs') return new JobsView(query);
  if (parts[0] === 'submit') return new SubmitView(parts[1]);
  return new OverviewView();
}

function show() {
  if (locked) return;
  view?.unmount();
  view = route();
  document.title = `${view.title} · Offload`;
  const section = location.hash.split('/')[1]?.split('?')[0] || 'overview';
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  view.mount(root);
  root.focus({ preventScroll: true });
}

function setConnection(state) {
  const text = { live: '● live', reconnecting: '○ reconnecting…', closed: '○ offline' }[state] ?? state;
  connection.textContent = text;
  connection.dataset.state = state;
}

function startLive() {
  live?.close();
  live = new LiveSocket({
    stats: (s) => view?.stats?.(s),
    jobs: (views, dropped) => view?.jobs?.(views, dropped),
    state: setConnection,
    refused: () => api.stats().catch(() => {}), // a 401 locks the page
  });
}

/** The server refused the token (or there is none): ask for one instead of showing a broken page. */
function lock(error) {
  if (locked) return;
  locked = true;
  view?.unmount();
  view = null;
  live?.close();
  live = null;
  setConnection('closed');
  const field = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const hadToken = token.get() !== '';
  replace(root,
    h('section', { class: 'unauthorised', 'aria-labelledby': 'h-unauthorised', 'data-unauthorised': '' },
      h('h1', { id: 'h-unauthorised' }, 'Unauthorised'),
      h('p', { role: 'alert' }, hadToken
        ? `The server refused the token (${error.message}).`
        : 'This server requires a token. Enter one of the tokens in its --token-file (or OFFLOAD_TOKEN).'),
      h('form', { onsubmit: (e) => { e.preventDefault(); unlock(field.value); } },
        h('label', { for: 'token' }, 'Token'), field,
        h('p', { id: 'token-help', class: 'muted' }, 'Kept in this tab only (sessionStorage); sent as a bearer token, and to the WebSocket as a subprotocol, never in a URL.'),
        h('button', { type: 'submit' }, 'Sign in'))));
  signOut.hidden = true;
  field.focus();
}

async function unlock(value) {
  token.set(value.trim());
  locked = false;
  await start();
}

async function start() {
  try {
    await api.stats();
  } catch (e) {
    if (e.status === 401) return; // lock() has run
    replace(root, h('h1', {}, 'Offload'), h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  signOut.hidden = token.get() === '';
  startLive();
  show();
}

setUnauthorizedHandler(lock);
signOut.addEventListener('click', () => {
  token.clear();
  lock({ message: 'signed out' });
});
window.addEventListener('hashchange', show);
start();

// Jobs: newest first, filtered by state and type, paged with the API's cursors. On the first page, the live
// socket's `jobs` messages insert new jobs and move rows to their new state as it happens.

import { api } from './api.js';
import { h, replace } from './dom.js';
import { between, duration, states, time } from './format.js';

const pageSize = 50;

export function stateBadge(state) {
  // The state's name is always written out: colour is a second signal only.
  return h('span', { class: `state state-${state}`, 'data-state': state }, state.replace('_', ' '));
}

export class JobsView {
  title = 'Jobs';

  constructor(query) {
    this.state = query.get('state') ?? '';
    this.type = query.get('type') ?? '';
    this.after = query.get('after') ?? '';
    this.rows = new Map(); // id -> <tr>
    this.refreshTimer = null;
  }

  mount(root) {
    this.root = root;
    this.tbody = h('tbody');
    this.status = h('p', { class: 'muted', role: 'status' }, 'Loading…');
    this.pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
    this.typeSelect = h('select', { id: 'filter-type', onchange: () => this.navigate() },
      h('option', { value: '' }, 'any type'));
    this.stateSelect = h('select', { id: 'filter-state', onchange: () => this.navigate() },
      h('option', { value: '' }, 'any state'),
      states.map((s) => h('option', { value: s, selected: s === this.state }, s.replace('_', ' '))));
    replace(root,
      h('h1', {}, 'Jobs'),
      h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
        h('label', { for: 'filter-state' }, 'State'), this.stateSelect,
        h('label', { for: 'filter-type' }, 'Type'), this.typeSelect),
      h('table', { class: 'grid jobs' },
        h('caption', { class: 'visually-hidden' }, 'Jobs, newest first'),
        h('thead', {}, h('tr', {},
          ['Job', 'Type', 'State', 'Lane', 'Created', 'Ran for', 'Attempt'].map((c) => h('th', { scope: 'col' }, c)))),
        this.tbody),
      this.status,
      this.pager);
    api.types().then(({ types }) => {
      for (const t of types) this.typeSelect.append(h('option', { value: t.name, selected: t.name === this.type }, t.name));
    }, () => {});
    this.load();
  }

  unmount() {
    clearTimeout(this.refreshTimer);
    this.root = null;
  }

  navigate(after = '') {
    const query = new URLSearchParams();
    if (this.stateSelect.value) query.set('state', this.stateSelect.value);
    if (this.typeSelect.value) query.set('type', this.typeSelect.value);
    if (after) query.set('after', after);
    location.hash = `#/jobs${query.size ? `?${query}` : ''}`;
  }

  async load() {
    try {
      const page = await api.list({ state: this.state, type: this.type, after: this.after, limit: pageSize });
      if (!this.root) return;
      this.render(page);
    } catch (e) {
      if (this.root && e.status !== 401) replace(this.status, h('span', { class: 'error', role: 'alert' }, e.message));
    }
  }

  render(page) {
    this.rows.clear();
    replace(this.tbody, page.jobs.map((job) => this.row(job)));
    replace(this.status, page.jobs.length ? `${page.jobs.length} job${page.jobs.length === 1 ? '' : 's'} on this page` : 'No jobs.');
    replace(this.pager,
      this.after ? h('button', { type: 'button', onclick: () => this.navigate() }, '← Newest') : null,
      page.next ? h('button', { type: 'button', onclick: () => this.navigate(page.next) }, 'Older →') : null);
  }

  row(job) {
    const tr = h('tr', { 'data-job': job.id },
      h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'mono' }, job.id)),
      h('td', {}, job.type),
      h('td', {}, stateBadge(job.state)),
      h('td', {}, job.lane),
      h('td', {}, time(job.created_at)),
      h('td', { class: 'num' }, job.started_at ? duration(between(job.started_at, job.finished_at)) : '–'),
      h('td', { class: 'num' }, `${job.attempt}/${job.max_attempts}`));
    this.rows.set(job.id, tr);
    return tr;
  }

  matches(job) {
    return (!this.state || job.state === this.state) && (!this.type || job.type === this.type);
  }

  /** The live socket's batch of accepted or changed jobs. */
  jobs(views, dropped) {
    if (!this.root || this.after) return; // older pages stay as listed
    if (dropped > 0) {
      // More changed than one message reports: list again, at most once a second.
      this.refreshTimer ??= setTimeout(() => { this.refreshTimer = null; this.load(); }, 1000);
      return;
    }
    for (const job of views) {
      const existing = this.rows.get(job.id);
      if (existing) {
        if (this.matches(job)) {
          const fresh = this.row(job);
          existing.replaceWith(fresh);
        } else {
          existing.remove();
          this.rows.delete(job.id);
        }
      } else if (this.matches(job)) {
        // Newest first: a job not on the page yet is newer than every row (ids sort in submission order).
        const first = this.tbody.querySelector('tr[data-job]');
        if (!first || job.id > first.dataset.job) {
          this.tbody.prepend(this.row(job));
          while (this.tbody.rows.length > pageSize) {
            const last = this.tbody.rows[this.tbody.rows.length - 1];
            this.rows.delete(last.dataset.job);
            last.remove();
          }
        }
      }
    }
    replace(this.status, this.tbody.rows.length ? `${this.tbody.rows.length} jobs on this page, updated live` : 'No jobs.');
  }
}

// Overview: lanes and pools, throughput by state, the reactor's lag, worker processes, the server itself.
// Redrawn from each `stats` message of the live socket (one a second), or from GET /v1/stats until the
// socket is up.

import { api } from './api.js';
import { finishedSeries, line, stackedBars } from './chart.js';
import { facts, h, replace } from './dom.js';
import { bytes, count, duration, millis } from './format.js';

export class OverviewView {
  title = 'Overview';

  mount(root) {
    this.root = root;
    replace(root, h('h1', {}, 'Overview'), h('p', { class: 'muted' }, 'Loading statistics…'));
    api.stats().then((stats) => this.stats(stats), (e) => this.failed(e));
  }

  failed(error) {
    if (error.status === 401 || !this.root) return;
    replace(this.root, h('h1', {}, 'Overview'), h('p', { class: 'error', role: 'alert' }, error.message));
  }

  stats(s) {
    if (!this.root) return;
    const recent = (key) => s.finished_per_second[key].slice(-60).reduce((a, b) => a + b, 0);
    const throughputSummary = finishedSeries.map((f) => `${recent(f.key)} ${f.label}`).join(', ');
    const lag = s.reactor.lag_ms;
    replace(this.root,
      h('h1', {}, 'Overview'),
      h('section', { 'aria-labelledby': 'h-jobs', class: 'cards' },
        h('h2', { id: 'h-jobs', class: 'visually-hidden' }, 'Jobs'),
        card('Queued', count(s.jobs.queued), 'jobs.queued', s.jobs.delayed ? `${count(s.jobs.delayed)} delayed` : null),
        card('Running', count(s.jobs.running), 'jobs.running'),
        card('Submitted', count(s.jobs.submitted), 'jobs.submitted', 'since start'),
        card('Finished', count(s.jobs.finished), 'jobs.finished', 'since start'),
        card('Retained', count(s.jobs.retained), 'jobs.retained', 'finished jobs kept')),
      h('section', { 'aria-labelledby': 'h-pools' },
        h('h2', { id: 'h-pools' }, 'Lanes and pools'),
        poolTable(s.pools)),
      h('div', { class: 'columns' },
        h('section', { 'aria-labelledby': 'h-throughput' },
          h('h2', { id: 'h-throughput' }, 'Finished per second'),
          stackedBars(s.finished_per_second, `Jobs finished per second over the last ${s.finished_per_second.succeeded.length} seconds`),
          h('ul', { class: 'legend' }, finishedSeries.map((f) =>
            h('li', {}, h('span', { class: `swatch ${f.css}`, 'aria-hidden': 'true' }), `${f.label}: `,
              h('strong', { 'data-stat': `last60.${f.key}` }, count(recent(f.key))), ' in the last minute'))),
          h('p', { class: 'visually-hidden' }, `Last minute: ${throughputSummary}.`)),
        h('section', { 'aria-labelledby': 'h-reactor' },
          h('h2', { id: 'h-reactor' }, 'Reactor lag'),
          facts([
            ['p50', millis(lag.p50), 'reactor.p50'],
            ['p99', millis(lag.p99), 'reactor.p99'],
            ['max', millis(lag.max), 'reactor.max'],
          ]),
          line(s.reactor.lag_max_ms_per_second, `Worst reactor lag per second over the last ${s.reactor.lag_max_ms_per_second.length} seconds`),
          h('p', { class: 'muted' }, `Over the last ${count(lag.samples)} samples (every 20 ms); the line is each second's worst.`))),
      h('section', { 'aria-labelledby': 'h-server' },
        h('h2', { id: 'h-server' }, 'Server'),
        facts([
          ['Version', s.version, 'version'],
          ['Up for', duration(s.uptime_seconds * 1000), 'uptime'],
          ['Store', s.store, 'store'],
          s.store_commits ? ['Store commits', storeCommits(s.store_commits), 'store.commits'] : null,
          ['State', s.draining ? 'draining (no new jobs)' : 'accepting jobs', 'draining'],
          ['Connections', `${count(s.connections.http)} HTTP, ${count(s.connections.websocket)} WebSocket`, 'connections'],
          ['Memory', s.process ? bytes(s.process.resident_bytes) : '–', 'process.resident'],
          ['CPU time', s.process ? `${s.process.cpu_seconds.toFixed(1)} s` : '–', 'process.cpu'],
        ].filter(Boolean))));
  }

  unmount() {
    this.root = null;
  }
}

// The store's group commits since start: how many, their size and time on average, and what is wrong.
function storeCommits(c) {
  const each = c.commits
    ? `, ${(c.operations / c.commits).toFixed(1)} operations in ${millis((c.seconds * 1000) / c.commits)} each on average`
    : '';
  return `${count(c.commits)}${each}; ${count(c.pending)} pending, ${count(c.failures)} failed`;
}

function card(label, value, key, note) {
  return h('div', { class: 'card' },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value', 'data-stat': key }, value),
    note ? h('div', { class: 'card-note' }, note) : null);
}

function poolTable(pools) {
  return h('table', { class: 'grid' },
    h('caption', { class: 'visually-hidden' }, 'Queued, running and capacity of each pool'),
    h('thead', {}, h('tr', {},
      ['Pool', 'Kind', 'Lane', 'Queued', 'Running', 'Capacity', 'Workers'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, pools.map((p) => h('tr', { 'data-pool': p.name },
      h('th', { scope: 'row' }, p.name),
      h('td', {}, p.kind),
      h('td', {}, p.lane),
      h('td', { class: 'num', 'data-stat': `pool.${p.name}.queued` }, count(p.queued)),
      h('td', { class: 'num', 'data-stat': `pool.${p.name}.running` }, count(p.running)),
      h('td', { class: 'num', 'data-stat': `pool.${p.name}.capacity` }, count(p.capacity)),
      h('td', {}, p.workers ? workers(p.workers) : '–')))));
}

function workers(w) {
  return [
    `${count(w.busy)} busy, ${count(w.idle)} idle, ${count(w.starts)} started, ${count(w.crashes)} crashed `,
    w.healthy
      ? h('span', { class: 'badge badge-ok' }, '✓ healthy')
      : h('span', { class: 'badge badge-bad', title: w.trouble ?? '' }, `✗ ${w.trouble ?? 'unhealthy'}`),
  ];
}

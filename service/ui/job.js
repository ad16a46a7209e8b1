// One job: its spec, timeline, progress, live output, and result or error; cancel and resubmit. The view
// follows the job's events over the live socket from the first one: each event updates the page as it comes.

import { api } from './api.js';
import { facts, h, replace } from './dom.js';
import { between, duration, terminal, time } from './format.js';
import { stateBadge } from './jobs.js';

/** Output kept on the page: the tail of what the job wrote. */
const maxOutputChars = 256 * 1024;

function decodeBase64(data) {
  const binary = atob(data);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  // Shown as text where it decodes, with U+FFFD for the rest.
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

export class JobView {
  constructor(id, live) {
    this.id = id;
    this.live = live;
    this.title = `Job ${id}`;
  }

  async mount(root) {
    this.root = root;
    replace(root, h('h1', {}, 'Job ', h('span', { class: 'mono' }, this.id)), h('p', { class: 'muted' }, 'Loading…'));
    try {
      this.job = await api.job(this.id, true);
    } catch (e) {
      if (this.root && e.status !== 401) replace(root, h('h1', {}, 'Job'), h('p', { class: 'error', role: 'alert' }, e.message));
      return;
    }
    if (!this.root) return;
    this.layout();
    this.render();
    this.unsubscribe = this.live.subscribe(this.id, (event) => this.event(event),
      (error) => this.show(this.actionStatus, error.message, true));
  }

  unmount() {
    this.unsubscribe?.();
    this.root = null;
  }

  layout() {
    this.header = h('div', { class: 'job-header' });
    this.specFacts = h('div');
    this.timeline = h('ol', { class: 'timeline' });
    this.progress = h('div', { class: 'progress-block' });
    this.outcome = h('div');
    this.output = h('pre', { class: 'output', tabindex: '0', 'aria-label': 'Output', 'data-output': '' });
    this.outputNote = h('p', { class: 'muted' }, 'No output yet.');
    this.actionStatus = h('p', { role: 'status', class: 'muted' });
    this.cancelButton = h('button', { type: 'button', onclick: () => this.cancel() }, 'Cancel job');
    this.resubmitButton = h('button', { type: 'button', onclick: () => this.resubmit() }, 'Resubmit');
    replace(this.root,
      this.header,
      h('div', { class: 'actions' }, this.cancelButton, this.resubmitButton),
      this.actionStatus,
      h('div', { class: 'columns' },
        h('section', { 'aria-labelledby': 'h-spec' }, h('h2', { id: 'h-spec' }, 'Spec'), this.specFacts),
        h('section', { 'aria-labelledby': 'h-timeline' }, h('h2', { id: 'h-timeline' }, 'Timeline'), this.timeline, this.progress)),
      h('section', { 'aria-labelledby': 'h-outcome' }, h('h2', { id: 'h-outcome' }, 'Outcome'), this.outcome),
      h('section', { 'aria-labelledby': 'h-output' }, h('h2', { id: 'h-output' }, 'Output'), this.outputNote, this.output));
  }

  render() {
    const j = this.job;
    replace(this.header, h('h1', {}, 'Job ', h('span', { class: 'mono' }, j.id)), stateBadge(j.state));
    this.cancelButton.disabled = terminal(j.state);
    replace(this.specFacts, facts([
      ['Type', j.type, 'type'],
      ['Lane', j.lane, 'lane'],
      ['Priority', String(j.priority), 'priority'],
      ['Timeout', j.timeout_ms ? duration(j.timeout_ms) : 'none', 'timeout'],
      ['Attempts', `${j.attempt} of ${j.max_attempts}`, 'attempts'],
      ['Idempotency key', j.idempotency_key ?? '–', 'idempotency_key'],
    ]), j.input !== undefined ? [h('h3', {}, 'Input'), h('pre', { class: 'json' }, JSON.stringify(j.input, null, 2))] : null);
    const now = terminal(j.state) ? j.finished_at : undefined;
    replace(this.timeline,
      h('li', {}, h('strong', {}, 'queued'), ` ${time(j.created_at)}`),
      j.started_at ? h('li', {}, h('strong', {}, 'started'), ` ${time(j.started_at)} — waited ${duration(between(j.created_at, j.started_at))}`) : null,
      j.run_at ? h('li', {}, h('strong', {}, 'eligible'), ` ${time(j.run_at)}`) : null,
      terminal(j.state)
        ? h('li', {}, h('strong', {}, j.state.replace('_', ' ')), ` ${time(j.finished_at)}`,
          j.started_at ? ` — ran ${duration(between(j.started_at, j.finished_at))}` : '')
        : j.started_at ? h('li', {}, h('strong', {}, 'running'), ` for ${duration(between(j.started_at, now))}`) : null);
    const fraction = j.progress?.fraction ?? (j.state === 'succeeded' ? 1 : 0);
    replace(this.progress,
      h('label', { for: 'job-progress' }, `Progress: ${Math.round(fraction * 100)} %`, j.progress?.note ? ` — ${j.progress.note}` : ''),
      h('progress', { id: 'job-progress', max: '1', value: String(fraction) }));
    const attempts = j.error?.attempts ?? j.attempt_errors ?? [];
    replace(this.outcome,
      j.state === 'succeeded' ? [h('h3', {}, 'Result'), h('pre', { class: 'json', 'data-result': '' }, JSON.stringify(j.result, null, 2))] : null,
      j.error ? h('p', { class: 'error', 'data-error': j.error.code }, h('strong', {}, j.error.code), `: ${j.error.message}`) : null,
      attempts.length ? [h('h3', {}, 'Earlier attempts'), h('ol', {}, attempts.map((e) => h('li', {}, h('strong', {}, e.code), `: ${e.message}`)))] : null,
      !terminal(j.state) ? h('p', { class: 'muted' }, 'Not finished yet.') : null);
  }

  /** An event of the job's log, in order, each once. */
  event(e) {
    const j = this.job;
    switch (e.type) {
      case 'output':
        this.append(e.stream, e.data ?? decodeBase64(e.data_base64), e.data === undefined);
        return;
      case 'output_truncated':
        this.append('stderr', `[output truncated after ${e.logged_bytes} bytes]\n`, false);
        return;
      case 'progress':
        j.progress = { fraction: e.fraction, note: e.note };
        break;
      case 'started':
        j.state = 'running';
        j.started_at = e.time;
        if (e.attempt) j.attempt = e.attempt;
        break;
      case 'retrying':
        j.state = 'queued';
        j.run_at = e.retry_at;
        break;
      case 'queued':
        break;
      default:
        // A terminal event: the view with the result and the error's attempts comes from the API.
        j.state = e.type;
        j.finished_at = e.time;
        if (e.result !== undefined) j.result = e.result;
        if (e.error) j.error = e.error;
        api.job(this.id, true).then((fresh) => { if (this.root) { this.job = fresh; this.render(); } }, () => {});
        break;
    }
    this.render();
  }

  append(stream, text, binary) {
    this.outputNote.hidden = true;
    const chunk = h('span', { class: stream === 'stderr' ? 'stderr' : 'stdout', 'data-stream': stream },
      binary ? `[binary] ${text}` : text);
    this.output.append(chunk);
    this.outputChars = (this.outputChars ?? 0) + chunk.textContent.length;
    // Keep the tail: drop the oldest chunks past the cap.
    while (this.outputChars > maxOutputChars && this.output.firstChild) {
      this.outputChars -= this.output.firstChild.textContent.length;
      this.output.firstChild.remove();
    }
    this.output.scrollTop = this.output.scrollHeight;
  }

  show(target, message, isError) {
    replace(target, message);
    target.className = isError ? 'error' : 'muted';
  }

  async cancel() {
    this.cancelButton.disabled = true;
    try {
      const view = await api.cancel(this.id);
      this.show(this.actionStatus, `Cancel requested: the job is ${view.state.replace('_', ' ')}.`, false);
    } catch (e) {
      this.show(this.actionStatus, e.message, true);
      this.cancelButton.disabled = terminal(this.job.state);
    }
  }

  async resubmit() {
    const j = this.job;
    const spec = { type: j.type, lane: j.lane, priority: j.priority, max_attempts: j.max_attempts };
    if (j.input !== undefined) spec.input = j.input;
    if (j.timeout_ms) spec.timeout_ms = j.timeout_ms;
    try {
      const view = await api.submit(spec);
      location.hash = `#/jobs/${encodeURIComponent(view.id)}`;
    } catch (e) {
      this.show(this.actionStatus, e.message, true);
    }
  }
}

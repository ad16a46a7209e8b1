// The dashboard's one WebSocket (`/v1/ws`): `watch` for statistics and job-state changes, and `subscribe`
// for the events of the job on screen. It reconnects with a growing, jittered delay and resumes every
// subscription after the last event it delivered, so a view never misses or repeats an event. The token
// travels as a subprotocol (never in the URL, which logs keep).

import { token } from './api.js';

function base64url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export class LiveSocket {
  /** `handlers`: `stats(stats)`, `jobs(views, dropped)`, `state('live' | 'reconnecting' | 'closed')`,
   *  `refused()` (a connection attempt failed before opening). */
  constructor(handlers) {
    this.handlers = handlers;
    this.subscriptions = new Map(); // id -> {after, onEvent}
    this.attempt = 0;
    this.closed = false;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const protocols = ['offload.v1'];
    const bearer = token.get();
    if (bearer) protocols.push(`offload.bearer.${base64url(bearer)}`);
    const socket = new WebSocket(`${scheme}://${location.host}/v1/ws`, protocols);
    this.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.attempt = 0;
      this.handlers.state?.('live');
      this.send({ op: 'watch', stats: true, jobs: true });
      for (const [id, sub] of this.subscriptions) this.send({ op: 'subscribe', id, after: sub.after });
    });
    socket.addEventListener('message', (message) => this.receive(message.data));
    socket.addEventListener('close', () => {
      if (this.socket !== socket || this.closed) return;
      this.handlers.state?.('reconnecting');
      // A refused handshake says nothing about why (a browser hides the status): the app asks over HTTP,
      // which tells a revoked token (401) from a server that is away.
      if (!opened) this.handlers.refused?.();
      // 0.25 s doubling up to 8 s, with jitter so that many dashboards do not return together.
      const delay = Math.min(8000, 250 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    switch (message.op) {
      case 'stats':
        this.handlers.stats?.(message.stats);
        break;
      case 'jobs':
        this.handlers.jobs?.(message.jobs, message.dropped ?? 0);
        break;
      case 'event': {
        const sub = this.subscriptions.get(message.id);
        if (!sub || message.seq <= sub.after) return;
        sub.after = message.seq;
        sub.onEvent(message.event);
        break;
      }
      case 'error':
        // A subscription to a job that is gone, or a refused request: the view that asked shows it.
        if (message.req?.subscribe) this.subscriptions.get(message.req.subscribe)?.onError?.(message.error);
        break;
      default:
        break;
    }
  }

  /** Follows job `id`'s events from the start; `onEvent(event)` gets each once, in order. Returns a
   *  function that stops following. */
  subscribe(id, onEvent, onError) {
    this.subscriptions.set(id, { after: 0, onEvent, onError });
    this.send({ op: 'subscribe', req: { subscribe: id }, id, after: 0 });
    return () => {
      this.subscriptions.delete(id);
      this.send({ op: 'unsubscribe', id });
    };
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close(1000);
    this.handlers.state?.('closed');
  }
}

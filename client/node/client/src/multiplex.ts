// One `/v1/ws` socket for every job a client follows (PROTOCOL.md, "WebSocket streams"): each `events()`
// iterator is a subscription on it. When the socket drops (a cut connection, a 1013 from a server whose
// limits it passed) the client reconnects with back-off and subscribes again after the last seq each
// iterator received, so every iterator still gets every event once and in order. An iterator whose consumer
// falls more than the high-water mark behind is unsubscribed until it catches up.
import { OffloadError } from "./errors.js";
import { MessageSocket, type WebSocketConstructor } from "./websocket.js";
import { backoff, sleep, woken } from "./signals.js";
import { TERMINAL_EVENTS, TERMINAL_STATES, type JobEvent, type JobState } from "./types.js";
import type { ReconnectInfo } from "./client.js";

export interface MultiplexOptions {
  url: string;
  protocols: string[];
  ctor: () => Promise<WebSocketConstructor>;
  highWaterBytes: number;
  maxReconnectAttempts: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  /** Why a handshake failed, when it is for good (`unauthorized`); undefined when worth retrying. */
  diagnose: () => Promise<OffloadError | undefined>;
}

// One iterator.
interface Follower {
  id: string;
  /** The newest seq queued for (or given to) the consumer. */
  received: number;
  queue: { event: JobEvent; bytes: number }[];
  queuedBytes: number;
  failure: OffloadError | undefined;
  done: boolean;
  wake: (() => void) | undefined;
  onReconnect: ((info: ReconnectInfo) => void) | undefined;
}

export class Multiplexer {
  private socket: MessageSocket | undefined;
  private connecting: Promise<void> | undefined;
  private readonly followers = new Map<string, Set<Follower>>();
  // Jobs unsubscribed while a follower catches up.
  private readonly paused = new Set<string>();
  // Request numbers of subscribe messages, to tell which job an error is about.
  private readonly requests = new Map<number, string>();
  private nextRequest = 1;
  private closed = false;

  constructor(private readonly options: MultiplexOptions) {}

  /** Every event of job `id` with `seq > after`, until its terminal event. */
  async *follow(
    id: string,
    after: number,
    signal?: AbortSignal,
    onReconnect?: (info: ReconnectInfo) => void,
  ): AsyncGenerator<JobEvent, void, undefined> {
    if (this.closed) throw new OffloadError("connection_lost", "the client was closed");
    const me: Follower = {
      id,
      received: after,
      queue: [],
      queuedBytes: 0,
      failure: undefined,
      done: false,
      wake: undefined,
      onReconnect,
    };
    let set = this.followers.get(id);
    // A later follower of a job already followed may need events the others have passed: subscribing
    // again from its `after` replays them; the others skip what they already have.
    const resubscribe = !set || after < this.after(id);
    if (!set) this.followers.set(id, (set = new Set()));
    set.add(me);
    try {
      if (resubscribe) this.subscribe(id);
      await this.connect();
      for (;;) {
        const item = me.queue.shift();
        if (item) {
          me.queuedBytes -= item.bytes;
          yield item.event;
          if (TERMINAL_EVENTS.includes(item.event.type)) return;
          continue;
        }
        if (me.failure) throw me.failure;
        if (me.done) return;
        if (this.paused.has(id) && this.caughtUp(id)) {
          this.paused.delete(id);
          me.onReconnect?.({ id, code: 1000, reason: "consumer caught up", shed: true, after: this.after(id), failures: 0 });
          this.subscribe(id);
        }
        await woken(signal, (wake) => (me.wake = wake));
      }
    } finally {
      set.delete(me);
      if (set.size === 0) {
        this.followers.delete(id);
        this.paused.delete(id);
        if (!me.done) this.send({ op: "unsubscribe", id });
      }
    }
  }

  close(): void {
    this.closed = true;
    this.socket?.close(1000, "client closed");
    for (const set of this.followers.values())
      for (const f of set) this.fail(f, new OffloadError("connection_lost", "the client was closed"));
  }

  // The smallest seq the followers of `id` have received: where a new subscription starts.
  private after(id: string): number {
    let min = Infinity;
    for (const f of this.followers.get(id) ?? []) min = Math.min(min, f.received);
    return min === Infinity ? 0 : min;
  }

  private caughtUp(id: string): boolean {
    for (const f of this.followers.get(id) ?? []) if (f.queuedBytes > this.options.highWaterBytes / 2) return false;
    return true;
  }

  private subscribe(id: string): void {
    const req = this.nextRequest++;
    this.requests.set(req, id);
    this.send({ op: "subscribe", req, id, after: this.after(id) });
  }

  private send(message: unknown): void {
    this.socket?.send(message);
  }

  // Opens the socket unless it is open or opening; reconnects with back-off until it opens.
  private connect(): Promise<void> {
    if (this.socket && !this.socket.end) return Promise.resolve();
    this.connecting ??= this.run().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async run(): Promise<void> {
    let failures = 0;
    const ctor = await this.options.ctor();
    for (;;) {
      if (this.closed || this.followers.size === 0) return;
      const socket = new MessageSocket(ctor, this.options.url, this.options.protocols, Infinity);
      if (await socket.waitOpen()) {
        this.socket = socket;
        this.requests.clear();
        for (const id of this.followers.keys()) if (!this.paused.has(id)) this.subscribe(id);
        void this.read(socket);
        return;
      }
      const fatal = await this.options.diagnose();
      if (fatal) return this.failAll(fatal);
      failures += 1;
      if (failures > this.options.maxReconnectAttempts)
        return this.failAll(
          new OffloadError("reconnect_exhausted", `gave up on ${this.options.url} after ${failures} attempts`),
        );
      await sleep(backoff(failures, this.options.reconnectInitialDelayMs, this.options.reconnectMaxDelayMs));
    }
  }

  private async read(socket: MessageSocket): Promise<void> {
    let delivered = false;
    for (;;) {
      const message = (await socket.next()) as
        | {
            op?: string;
            id?: string;
            seq?: number;
            req?: number;
            event?: JobEvent;
            error?: { code: string; message: string };
            state?: string;
            last_seq?: number;
          }
        | undefined;
      if (message === undefined) break;
      if (message.op === "event" && typeof message.id === "string" && message.event) {
        delivered = true;
        this.deliver(message.id, message.event);
      } else if (message.op === "ack" && typeof message.id === "string" && typeof message.last_seq === "number") {
        // A subscription to a finished job whose whole log a follower already has: nothing will come.
        if (TERMINAL_STATES.includes(message.state as JobState))
          for (const f of this.followers.get(message.id) ?? []) if (f.received >= message.last_seq) this.end(f);
      } else if (message.op === "error" && message.error) {
        const id = typeof message.req === "number" ? this.requests.get(message.req) : undefined;
        if (id !== undefined) {
          const status = message.error.code === "too_many_subscriptions" ? 429 : message.error.code === "not_found" ? 404 : undefined;
          const error = new OffloadError(message.error.code, message.error.message, { status });
          for (const f of this.followers.get(id) ?? []) this.fail(f, error);
        }
      }
    }
    // The socket ended: reconnect for the followers left, after a pause when it delivered nothing.
    if (this.closed || this.followers.size === 0) return;
    const end = socket.end!;
    for (const set of this.followers.values())
      for (const f of set)
        if (!f.done)
          f.onReconnect?.({ id: f.id, code: end.code, reason: end.reason, shed: false, after: f.received, failures: delivered ? 1 : 2 });
    if (!delivered) await sleep(backoff(1, this.options.reconnectInitialDelayMs, this.options.reconnectMaxDelayMs));
    this.connect().catch((error: unknown) =>
      this.failAll(error instanceof OffloadError ? error : new OffloadError("connection_lost", String(error))),
    );
  }

  private deliver(id: string, event: JobEvent): void {
    for (const f of this.followers.get(id) ?? []) {
      if (event.seq <= f.received || f.done) continue;
      f.received = event.seq;
      const bytes = JSON.stringify(event).length;
      f.queue.push({ event, bytes });
      f.queuedBytes += bytes;
      if (TERMINAL_EVENTS.includes(event.type)) f.done = true;
      if (f.queuedBytes > this.options.highWaterBytes && !this.paused.has(id) && !f.done) {
        this.paused.add(id);
        this.send({ op: "unsubscribe", id });
      }
      const wake = f.wake;
      f.wake = undefined;
      wake?.();
    }
  }

  private end(f: Follower): void {
    f.done = true;
    const wake = f.wake;
    f.wake = undefined;
    wake?.();
  }

  private fail(f: Follower, error: OffloadError): void {
    f.failure ??= error;
    const wake = f.wake;
    f.wake = undefined;
    wake?.();
  }

  private failAll(error: OffloadError): void {
    for (const set of this.followers.values()) for (const f of set) this.fail(f, error);
  }
}

// OffloadClient: the C++ async_client's calls for Node.js back ends (client/include/offload/client/).
import { randomUUID } from "node:crypto";

import { OffloadError, isTransient } from "./errors.js";
import { parseBase, request, urlOf, type HttpContext } from "./http.js";
import { Multiplexer } from "./multiplex.js";
import { backoff, sleep, throwIfAborted, withTimeout } from "./signals.js";
import {
  TERMINAL_EVENTS,
  TERMINAL_STATES,
  type HealthStatus,
  type Stats,
  type JobEvent,
  type JobPage,
  type JobSpec,
  type JobView,
  type ListFilter,
  type Submission,
  type TypeInfo,
} from "./types.js";
import {
  MessageSocket,
  subprotocols,
  webSocketClass,
  webSocketUrl,
  type WebSocketConstructor,
} from "./websocket.js";

export interface ClientOptions {
  /** `http(s)://host[:port][/prefix]`; default `http://127.0.0.1:8080`. */
  url?: string;
  /** The bearer token, when offloadd runs with `--token-file`. */
  token?: string;
  /** Writing one request and reading its whole answer (a submission's `wait` adds to it). Default 30 s. */
  requestTimeoutMs?: number;
  /** Give every submission without an `idempotency_key` a random one, so that a retry never creates a
   * second job. Default true. */
  autoIdempotencyKey?: boolean;
  /** How often a keyed submission is sent again after a transient failure (no connection, a broken one,
   * a timeout, `storage_unavailable`). Default 2. */
  submitRetries?: number;
  /** Event streams reconnect with capped, jittered exponential back-off, and give up after this many
   * attempts in a row that deliver nothing. Default 8. */
  maxReconnectAttempts?: number;
  reconnectInitialDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** Events waiting for a slow consumer, per iterator, before the client stops reading them from the server
   * (and resumes once the consumer caught up). Default 8 MiB. */
  highWaterBytes?: number;
  /** The largest HTTP answer accepted. Default 64 MiB. */
  maxResponseBytes?: number;
  /** Follow every job's events over one multiplexed `/v1/ws` socket instead of one socket per job. */
  multiplex?: boolean;
  /** The WebSocket class to use; default the global one (Node ≥ 22), else the `ws` package. */
  WebSocket?: WebSocketConstructor;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface SubmitOptions extends CallOptions {
  /** Hold the answer until the job ends, at most this many milliseconds (≤ 300 000). */
  wait?: number;
  /** Overrides the spec's `idempotency_key`. */
  idempotencyKey?: string;
}

export interface WaitOptions extends CallOptions {
  /** Give up (`wait_timeout`) after this many milliseconds; the job keeps running. Default: no limit. */
  timeout?: number;
}

export interface EventsOptions extends CallOptions {
  /** Only events with `seq > after` (default 0: the whole log). */
  after?: number;
  /** Told before each reconnect: why the last socket ended, and where the stream resumes. */
  onReconnect?: (info: ReconnectInfo) => void;
}

export interface ReconnectInfo {
  id: string;
  /** The WebSocket close code (1013: the server shed a slow reader; 1006: the connection broke). */
  code: number;
  reason: string;
  /** The client closed it itself: its consumer was more than `highWaterBytes` behind. */
  shed: boolean;
  /** The stream resumes with the events after this seq. */
  after: number;
  /** Attempts in a row that delivered nothing (0 after a shed). */
  failures: number;
}

export class OffloadClient {
  private readonly http: HttpContext;
  private readonly options: Required<Omit<ClientOptions, "token" | "WebSocket">> &
    Pick<ClientOptions, "token" | "WebSocket">;
  private mux: Multiplexer | undefined;

  constructor(options: ClientOptions = {}) {
    this.options = {
      url: options.url ?? "http://127.0.0.1:8080",
      token: options.token,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      autoIdempotencyKey: options.autoIdempotencyKey ?? true,
      submitRetries: options.submitRetries ?? 2,
      maxReconnectAttempts: options.maxReconnectAttempts ?? 8,
      reconnectInitialDelayMs: options.reconnectInitialDelayMs ?? 100,
      reconnectMaxDelayMs: options.reconnectMaxDelayMs ?? 5_000,
      highWaterBytes: options.highWaterBytes ?? 8 << 20,
      maxResponseBytes: options.maxResponseBytes ?? 64 << 20,
      multiplex: options.multiplex ?? false,
      WebSocket: options.WebSocket,
    };
    this.http = {
      base: parseBase(this.options.url),
      token: this.options.token,
      requestTimeoutMs: this.options.requestTimeoutMs,
      maxResponseBytes: this.options.maxResponseBytes,
    };
  }

  /**
   * `POST /v1/jobs`. Without `wait` the answer comes once the job is stored; with it, the server holds the
   * answer until the job ends or the wait runs out. A keyed submission (every one, by default) is sent again
   * after a transient failure: the server answers a repeat with the job the first one created.
   */
  async submit(spec: JobSpec, options: SubmitOptions = {}): Promise<Submission> {
    const body: JobSpec = { ...spec };
    if (options.idempotencyKey !== undefined) body.idempotency_key = options.idempotencyKey;
    else if (body.idempotency_key === undefined && this.options.autoIdempotencyKey) body.idempotency_key = randomUUID();
    const keyed = body.idempotency_key !== undefined;
    const query = options.wait === undefined ? undefined : { wait: (options.wait / 1000).toFixed(3) };
    for (let attempt = 0; ; ++attempt) {
      try {
        const answer = await request(this.http, {
          method: "POST",
          path: "/v1/jobs",
          query,
          body,
          signal: options.signal,
          extraMs: options.wait ?? 0,
        });
        return { ...(answer.body as JobView), replayed: answer.headers.get("idempotent-replayed") === "true" };
      } catch (error) {
        if (!keyed || !isTransient(error) || attempt >= this.options.submitRetries) throw error;
        await sleep(backoff(attempt + 1, this.options.reconnectInitialDelayMs, this.options.reconnectMaxDelayMs), options.signal);
      }
    }
  }

  /** `GET /v1/jobs/{id}`; with `input: true` the view carries the submitted input too. */
  async get(id: string, options: CallOptions & { input?: boolean } = {}): Promise<JobView> {
    const path = jobPath(id) + (options.input ? "?input=true" : "");
    const answer = await request(this.http, { method: "GET", path, signal: options.signal });
    return answer.body as JobView;
  }

  /**
   * The job's final view, once it reached a terminal state. Follows its events from where it is (no replay
   * of what already happened); `wait_timeout` when `timeout` passes first (the job keeps running).
   */
  async wait(id: string, options: WaitOptions = {}): Promise<JobView> {
    const limit = withTimeout(options.signal, options.timeout);
    try {
      const now = await this.get(id, { signal: limit.signal });
      if (TERMINAL_STATES.includes(now.state)) return now;
      for await (const event of this.events(id, { after: now.last_seq, signal: limit.signal })) void event;
      return await this.get(id, { signal: limit.signal });
    } catch (error) {
      if (limit.timedOut() && !options.signal?.aborted)
        throw new OffloadError("wait_timeout", `job ${id} did not finish within ${options.timeout} ms`);
      throw error;
    } finally {
      limit.dispose();
    }
  }

  /** `DELETE /v1/jobs/{id}`: the view once the cancellation took effect (`already_finished` if it had ended). */
  async cancel(id: string, options: CallOptions = {}): Promise<JobView> {
    const answer = await request(this.http, { method: "DELETE", path: jobPath(id), signal: options.signal });
    return answer.body as JobView;
  }

  /** `GET /v1/jobs`: one page. */
  async list(filter: ListFilter = {}, options: CallOptions = {}): Promise<JobPage> {
    const query = {
      state: filter.state,
      type: filter.type,
      limit: filter.limit === undefined ? undefined : String(filter.limit),
      after: filter.after,
      order: filter.newest ? "newest" : undefined,
      results: filter.results ? "true" : undefined,
    };
    const answer = await request(this.http, { method: "GET", path: "/v1/jobs", query, signal: options.signal });
    return answer.body as JobPage;
  }

  /** Every job the filter selects, page after page. */
  async *listAll(filter: ListFilter = {}, options: CallOptions = {}): AsyncGenerator<JobView, void, undefined> {
    let after = filter.after;
    for (;;) {
      const page = await this.list({ ...filter, after }, options);
      yield* page.jobs;
      if (page.next === null || page.jobs.length === 0) return;
      after = page.next;
    }
  }

  /** `GET /v1/types`. */
  async types(options: CallOptions = {}): Promise<TypeInfo[]> {
    const answer = await request(this.http, { method: "GET", path: "/v1/types", signal: options.signal });
    return (answer.body as { types: TypeInfo[] }).types;
  }

  /** `GET /v1/stats`: pools, job counts, throughput, reactor lag, connections (what the dashboard shows). */
  async stats(options: CallOptions = {}): Promise<Stats> {
    return (await request(this.http, { method: "GET", path: "/v1/stats", signal: options.signal })).body as Stats;
  }

  /** `GET /healthz`: resolves when the server is alive. */
  async health(options: CallOptions = {}): Promise<HealthStatus> {
    return (await request(this.http, { method: "GET", path: "/healthz", signal: options.signal })).body as HealthStatus;
  }

  /** `GET /readyz`: resolves when the server accepts jobs; rejects with `draining`, `overloaded`, … */
  async ready(options: CallOptions = {}): Promise<HealthStatus> {
    return (await request(this.http, { method: "GET", path: "/readyz", signal: options.signal })).body as HealthStatus;
  }

  /**
   * The job's events with `seq > after`, in order and each exactly once, until its terminal event. A dropped
   * connection (or the server shedding a slow reader with 1013) is followed by a reconnect with capped,
   * jittered back-off that resumes after the last delivered `seq`. Fails at once when retrying cannot help
   * (`not_found`, `unauthorized`). Breaking out of the loop closes the stream.
   */
  async *events(id: string, options: EventsOptions = {}): AsyncGenerator<JobEvent, void, undefined> {
    const { signal } = options;
    let last = options.after ?? 0;
    if (this.options.multiplex) {
      yield* this.multiplexer().follow(id, last, signal, options.onReconnect);
      return;
    }
    const ctor = await webSocketClass(this.options.WebSocket);
    let failures = 0;
    for (;;) {
      throwIfAborted(signal);
      const url = webSocketUrl(urlOf(this.http, jobPath(id) + "/events", { after: String(last) }));
      const socket = new MessageSocket(ctor, url, subprotocols(this.options.token), this.options.highWaterBytes);
      let delivered = false;
      try {
        for (;;) {
          const event = (await socket.next(signal)) as JobEvent | undefined;
          if (event === undefined) break;
          if (typeof event.seq !== "number" || event.seq <= last) continue;
          last = event.seq;
          delivered = true;
          yield event;
          if (TERMINAL_EVENTS.includes(event.type)) return;
        }
      } finally {
        socket.close();
      }
      const end = socket.end!;
      const report = (failures: number) =>
        options.onReconnect?.({ id, code: end.code, reason: end.reason, shed: end.shed, after: last, failures });
      if (end.shed) {
        report(0);
        continue; // the consumer caught up: resume where it is
      }
      // The server closes with 1000 after the terminal event, also when `after` was already past it.
      if (end.opened && end.code === 1000) return;
      if (!end.opened) {
        const fatal = await this.diagnose(id, signal);
        if (fatal) throw fatal;
      }
      failures = delivered ? 1 : failures + 1;
      if (failures > this.options.maxReconnectAttempts)
        throw new OffloadError(
          "reconnect_exhausted",
          `gave up on the events of job ${id} after ${failures} attempts (last close: ${end.code} ${end.reason})`,
        );
      report(failures);
      await sleep(backoff(failures, this.options.reconnectInitialDelayMs, this.options.reconnectMaxDelayMs), signal);
    }
  }

  /** Closes the multiplexed socket, if one is open; its iterators fail with `connection_lost`. */
  close(): void {
    this.mux?.close();
    this.mux = undefined;
  }

  // Why a WebSocket handshake failed, when retrying cannot help: the job (or the token) is refused over
  // HTTP too. Undefined when the refusal is worth retrying.
  private async diagnose(id: string | undefined, signal?: AbortSignal): Promise<OffloadError | undefined> {
    try {
      await request(this.http, { method: "GET", path: id === undefined ? "/v1/types" : jobPath(id), signal });
      return undefined;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof OffloadError && ["not_found", "unauthorized"].includes(error.code)) return error;
      return undefined;
    }
  }

  private multiplexer(): Multiplexer {
    this.mux ??= new Multiplexer({
      url: webSocketUrl(urlOf(this.http, "/v1/ws")),
      protocols: subprotocols(this.options.token),
      ctor: () => webSocketClass(this.options.WebSocket),
      highWaterBytes: this.options.highWaterBytes,
      maxReconnectAttempts: this.options.maxReconnectAttempts,
      reconnectInitialDelayMs: this.options.reconnectInitialDelayMs,
      reconnectMaxDelayMs: this.options.reconnectMaxDelayMs,
      diagnose: () => this.diagnose(undefined),
    });
    return this.mux;
  }
}

function jobPath(id: string): string {
  return "/v1/jobs/" + encodeURIComponent(id);
}

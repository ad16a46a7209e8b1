// The wire types of the v1 API. They mirror proto/schema/*.json (job view, job event) and the bodies of
// proto/PROTOCOL.md; test/schema.test.mjs checks these declarations against the schemas member by member.

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type Lane = "thread" | "process";

export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out" | "crashed";

/** The terminal states: a job reaches exactly one of them, once. */
export const TERMINAL_STATES: readonly JobState[] = ["succeeded", "failed", "cancelled", "timed_out", "crashed"];

/** The body of a submission (`POST /v1/jobs`). Only `type` is required; unknown members are refused. */
export interface JobSpec {
  type: string;
  /** The handler's input, checked against the type's `input_schema`. */
  input?: { [key: string]: Json };
  lane?: Lane;
  /** 0–9, higher first; 5 when absent. */
  priority?: number;
  /** 1 ms – 24 h. */
  timeout_ms?: number;
  /** 1–128 printable ASCII characters. The client makes one up when absent (see `autoIdempotencyKey`). */
  idempotency_key?: string;
  /** Runs allowed, the first included (1–100). */
  max_attempts?: number;
  /** Base of the exponential back-off between attempts (1 ms – 1 h). */
  retry_backoff_ms?: number;
  /** Do not run before this many milliseconds from now (at most 30 days). Not with `run_at`. */
  delay_ms?: number;
  /** Do not run before this time (RFC 3339, at most 30 days ahead). Not with `delay_ms`. */
  run_at?: string;
}

/** An error, of the API or of a job. */
export interface ErrorInfo {
  code: string;
  message: string;
}

/** A job as the server shows it (proto/schema/job_view.schema.json). */
export interface JobView {
  id: string;
  type: string;
  lane: Lane;
  priority: number;
  state: JobState;
  /** RFC 3339, UTC, milliseconds. */
  created_at: string;
  started_at?: string;
  finished_at?: string;
  timeout_ms?: number;
  idempotency_key?: string;
  /** The attempt running or last run, from 1. */
  attempt: number;
  max_attempts: number;
  /** The newest event's seq: `events(id, {after: last_seq})` waits for the next. */
  last_seq: number;
  /** While a queued job waits for its delay or a retry's back-off. */
  run_at?: string;
  progress?: { fraction: number; note: string };
  /** The submitted input: only from `get(id, {input: true})`. */
  input?: Json;
  /** Present when `state` is `succeeded` (and the listing asked for results). */
  result?: Json;
  /** Present in every terminal state but `succeeded`; `attempts` lists earlier attempts' errors. */
  error?: ErrorInfo & { attempts?: ErrorInfo[] };
  /** The errors of earlier attempts while a retried job is still on its way. */
  attempt_errors?: ErrorInfo[];
  links: { self: string; events: string };
}

export type JobEventType =
  | "queued"
  | "started"
  | "progress"
  | "output"
  | "output_truncated"
  | "succeeded"
  | "failed"
  | "cancelled"
  | "timed_out"
  | "crashed"
  | "retrying";

/** One entry of a job's event log (proto/schema/job_event.schema.json); the type's fields sit beside `seq`. */
export interface JobEvent {
  /** 1 for a job's first event, then consecutive. */
  seq: number;
  type: JobEventType;
  time: string;
  /** `queued` */
  lane?: Lane;
  priority?: number;
  /** `queued` when delayed */
  run_at?: string;
  /** `started` (from the second attempt) and `retrying` (the attempt that ended) */
  attempt?: number;
  /** `retrying` */
  retry_at?: string;
  /** `progress` */
  fraction?: number;
  note?: string;
  /** `output`: `data` (UTF-8 text) or `data_base64` (bytes that are not UTF-8) */
  stream?: "stdout" | "stderr";
  data?: string;
  data_base64?: string;
  /** `output_truncated` */
  logged_bytes?: number;
  /** `succeeded` */
  result?: Json;
  /** `failed`, `cancelled`, `timed_out`, `crashed`, `retrying` */
  error?: ErrorInfo;
  /** terminal events of a job whose output was cut at `--max-log-bytes` */
  output_truncated?: true;
}

/** The event types that end a job's log. */
export const TERMINAL_EVENTS: readonly JobEventType[] = ["succeeded", "failed", "cancelled", "timed_out", "crashed"];

/** `POST /v1/jobs`'s answer: the job, and whether an earlier submission with the same key created it. */
export interface Submission extends JobView {
  replayed: boolean;
}

/** One page of `GET /v1/jobs`. */
export interface JobPage {
  jobs: JobView[];
  /** The `after` of the following page; null on the last. */
  next: string | null;
}

export interface ListFilter {
  state?: JobState;
  type?: string;
  /** 1–1000 (100 when absent). */
  limit?: number;
  /** A job id: the page starts after it. */
  after?: string;
  /** Newest first (the server's `order=newest`). */
  newest?: boolean;
  /** Include `result` in each view (listings are summaries otherwise). */
  results?: boolean;
}

export interface TypeInfo {
  name: string;
  description: string;
  /** The lanes it can run in on this server; the first is its default. */
  lanes: Lane[];
  /** A JSON Schema of the type's `input`. */
  input_schema: { [key: string]: Json };
}

/** One set of execution slots in `Stats.pools`. */
export interface PoolStats {
  /** `threads`, `builtin`, `commands`, or the config's worker pool name. */
  name: string;
  kind: "threads" | "workers" | "commands";
  lane: Lane;
  queued: number;
  running: number;
  capacity: number;
  /** Worker pools: their processes. */
  workers?: { busy: number; idle: number; starts: number; crashes: number; healthy: boolean; trouble?: string };
}

/** `GET /v1/stats` (proto/schema/stats.schema.json): what the server is doing now. */
export interface Stats {
  version: string;
  started_at: string;
  uptime_seconds: number;
  store: string;
  draining: boolean;
  jobs: { submitted: number; finished: number; queued: number; delayed: number; running: number; retained: number };
  pools: PoolStats[];
  /** Jobs finished in each of the last 120 whole seconds, oldest first, by state. */
  finished_per_second: {
    step_seconds: 1;
    succeeded: number[];
    failed: number[];
    cancelled: number[];
    timed_out: number[];
  };
  reactor: {
    lag_ms: { p50: number; p99: number; max: number; samples: number };
    lag_max_ms_per_second: number[];
  };
  connections: { http: number; websocket: number };
  /** The job store's group commits since start (absent with the memory store). */
  store_commits?: { commits: number; operations: number; seconds: number; failures: number; pending: number };
  process?: { resident_bytes: number; cpu_seconds: number; open_fds: number };
}

export interface HealthStatus {
  status: "ok" | "ready";
  version?: string;
  /** `/readyz`: what works only in part. */
  degraded?: string[];
}

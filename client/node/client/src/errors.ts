// Every failure of a call is an OffloadError: the server's code (the same strings as proto/PROTOCOL.md) or
// one of the client-side codes below. An aborted call rejects with its AbortSignal's reason instead, as
// fetch does.

/** Failures on the client's side of the wire (the C++ client's codes from 100 on). */
export type ClientErrorCode =
  | "invalid_url"
  | "connect_failed"
  | "timeout"
  | "connection_lost"
  | "bad_response"
  | "wait_timeout"
  | "reconnect_exhausted"
  | "websocket_unavailable";

export class OffloadError extends Error {
  /** A server code (`queue_full`, `not_found`, …) or a client one (`ClientErrorCode`). */
  readonly code: string;
  /** The HTTP status of the answer that carried the error, when there was one. */
  readonly status: number | undefined;
  /** Seconds the server asked to wait before trying again (`Retry-After` of a 429). */
  readonly retryAfter: number | undefined;

  constructor(code: string, message: string, options: { status?: number; retryAfter?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OffloadError";
    this.code = code;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
  }

  /** Whether the error is `code`. */
  is(code: string): boolean {
    return this.code === code;
  }
}

/** Failures after which resending a keyed submission is safe and may succeed. */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof OffloadError &&
    ["connect_failed", "timeout", "connection_lost", "storage_unavailable"].includes(error.code)
  );
}

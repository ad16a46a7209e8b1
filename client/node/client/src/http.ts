// One HTTP exchange with offloadd over fetch (keep-alive comes with Node's fetch), mapped to values and
// OffloadErrors.
import { OffloadError } from "./errors.js";
import { withTimeout } from "./signals.js";

export interface HttpContext {
  /** The base URL without a trailing slash, e.g. `http://127.0.0.1:8080` or `http://proxy/offload`. */
  base: string;
  token: string | undefined;
  requestTimeoutMs: number;
  maxResponseBytes: number;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface HttpRequest {
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Added to the request timeout (a submission that waits for its job). */
  extraMs?: number;
}

/** The base URL, checked: `http(s)://host[:port][/prefix]`, no query or fragment. */
export function parseBase(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OffloadError("invalid_url", `not a URL: ${url}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new OffloadError("invalid_url", `${url}: the scheme must be http or https`);
  if (parsed.search || parsed.hash || parsed.username || parsed.password)
    throw new OffloadError("invalid_url", `${url}: no query, fragment or credentials (use the token option)`);
  return parsed.href.replace(/\/+$/, "");
}

export function urlOf(ctx: HttpContext, path: string, query?: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.append(k, v);
  const q = params.toString();
  return ctx.base + path + (q ? "?" + q : "");
}

// What a failed fetch means: no connection at all, or one that broke.
function transportError(error: unknown, url: string): OffloadError {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? "";
  const what = cause?.message ?? (error as Error)?.message ?? String(error);
  if (["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"].includes(code))
    return new OffloadError("connect_failed", `cannot connect to ${url}: ${what}`, { cause: error });
  return new OffloadError("connection_lost", `the connection to ${url} broke: ${what}`, { cause: error });
}

/** The error an answer carries: `{"error":{code,message}}`, or `bad_response` when it has none. */
export function errorOf(status: number, headers: Headers, body: unknown): OffloadError {
  const retry = headers.get("retry-after");
  const retryAfter = retry !== null && /^\d+$/.test(retry) ? Number(retry) : undefined;
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (error && typeof error.code === "string")
    return new OffloadError(error.code, String(error.message ?? error.code), { status, retryAfter });
  return new OffloadError("bad_response", `unexpected answer: HTTP ${status}`, { status, retryAfter });
}

export async function request(ctx: HttpContext, req: HttpRequest): Promise<HttpAnswer> {
  const url = urlOf(ctx, req.path, req.query);
  const timeout = withTimeout(req.signal, ctx.requestTimeoutMs + (req.extraMs ?? 0));
  const headers: Record<string, string> = { accept: "application/json" };
  if (ctx.token) headers.authorization = `Bearer ${ctx.token}`;
  if (req.body !== undefined) headers["content-type"] = "application/json";
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        method: req.method,
        headers,
        body: req.body === undefined ? null : JSON.stringify(req.body),
        signal: timeout.signal,
      });
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason;
      if (timeout.timedOut()) throw new OffloadError("timeout", `no answer from ${url} in time`);
      throw transportError(error, url);
    }
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > ctx.maxResponseBytes) {
      await response.body?.cancel();
      throw new OffloadError("bad_response", `the answer is ${declared} bytes, over maxResponseBytes`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason;
      if (timeout.timedOut()) throw new OffloadError("timeout", `the answer from ${url} did not arrive in time`);
      throw transportError(error, url);
    }
    let body: unknown = undefined;
    if (text.length > 0 && (response.headers.get("content-type") ?? "").startsWith("application/json")) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new OffloadError("bad_response", `the answer from ${url} is not JSON`, { status: response.status });
      }
    } else if (text.length > 0) {
      body = text;
    }
    if (response.status >= 400) throw errorOf(response.status, response.headers, body);
    return { status: response.status, headers: response.headers, body };
  } finally {
    timeout.dispose();
  }
}

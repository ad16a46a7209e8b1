// The WebSocket underneath event streams: Node's global WebSocket (Node ≥ 22, or 20 with
// --experimental-websocket) or, without one, the `ws` package. Both take the token as a subprotocol
// (`offload.bearer.<base64url>`, beside `offload.v1`), so it never appears in a URL.
import { OffloadError } from "./errors.js";
import { woken } from "./signals.js";

/** What this client needs of a WebSocket: the WHATWG interface, which `ws` implements too. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

let found: Promise<WebSocketConstructor> | undefined;

/** The global WebSocket, else `ws`; `websocket_unavailable` when there is neither. */
export function webSocketClass(preferred?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (preferred) return Promise.resolve(preferred);
  found ??= (async () => {
    const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof global === "function") return global;
    try {
      const ws = await import("ws");
      return (ws.WebSocket ?? ws.default) as unknown as WebSocketConstructor;
    } catch (cause) {
      found = undefined;
      throw new OffloadError(
        "websocket_unavailable",
        "following events needs a WebSocket: Node.js 22 or later, or the ws package (npm install ws)",
        { cause },
      );
    }
  })();
  return found;
}

/** The subprotocols to offer: `offload.v1`, and the token when there is one. */
export function subprotocols(token: string | undefined): string[] {
  return token ? ["offload.v1", "offload.bearer." + Buffer.from(token, "utf8").toString("base64url")] : ["offload.v1"];
}

/** `http(s)://…` to `ws(s)://…`. */
export function webSocketUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws");
}

/** How a socket ended. */
export interface SocketEnd {
  /** The handshake succeeded. */
  opened: boolean;
  code: number;
  reason: string;
  /** This side closed it: its consumer fell more than the high-water mark behind. */
  shed: boolean;
}

/**
 * One WebSocket whose JSON messages are read in order through `next()`. Messages wait in a queue for the
 * consumer; past `highWaterBytes` of them the socket is closed (`shed`), so that a slow consumer costs a
 * bounded amount of memory and resumes later from where it was.
 */
export class MessageSocket {
  private readonly queue: { value: unknown; bytes: number }[] = [];
  private queuedBytes = 0;
  private waiter: (() => void) | undefined;
  private ended: SocketEnd | undefined;
  private opened = false;
  private shed = false;
  private readonly socket: WebSocketLike;
  private readonly openWaiters: ((ok: boolean) => void)[] = [];

  constructor(ctor: WebSocketConstructor, url: string, protocols: string[], private readonly highWaterBytes: number) {
    this.socket = new ctor(url, protocols);
    this.socket.addEventListener("open", () => {
      this.opened = true;
      for (const w of this.openWaiters.splice(0)) w(true);
    });
    this.socket.addEventListener("message", (event: { data: unknown }) => {
      if (this.ended) return;
      const text = typeof event.data === "string" ? event.data : Buffer.from(event.data as ArrayBuffer).toString("utf8");
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        this.socket.close(1007, "a frame that is not JSON");
        return;
      }
      this.queue.push({ value, bytes: text.length });
      this.queuedBytes += text.length;
      if (this.queuedBytes > this.highWaterBytes && !this.shed) {
        this.shed = true;
        this.socket.close(1000, "consumer behind; resuming later");
      }
      this.wake();
    });
    this.socket.addEventListener("close", (event: { code?: number; reason?: string }) => {
      this.finish(event.code ?? 1006, event.reason ?? "");
    });
    // An error ends the stream too: the close event that should follow it does not always come (Node 20's
    // WebSocket stays CONNECTING after a refused handshake).
    this.socket.addEventListener("error", (event: { message?: string }) => {
      this.finish(1006, event.message ?? "WebSocket error");
    });
  }

  /** Resolves true once open, false when the socket closed first. */
  waitOpen(): Promise<boolean> {
    if (this.opened) return Promise.resolve(true);
    if (this.ended) return Promise.resolve(false);
    return new Promise((resolve) => this.openWaiters.push(resolve));
  }

  send(message: unknown): void {
    if (this.socket.readyState === 1) this.socket.send(JSON.stringify(message));
  }

  /** The next message, or undefined once the socket has closed and every message was read. */
  async next(signal?: AbortSignal): Promise<unknown | undefined> {
    for (;;) {
      const item = this.queue.shift();
      if (item) {
        this.queuedBytes -= item.bytes;
        return item.value;
      }
      if (this.ended) return undefined;
      await woken(signal, (wake) => (this.waiter = wake));
    }
  }

  /** How the socket ended; undefined while it is open. */
  get end(): SocketEnd | undefined {
    return this.ended;
  }

  get backlogBytes(): number {
    return this.queuedBytes;
  }

  close(code = 1000, reason = ""): void {
    try {
      if (this.socket.readyState <= 1) this.socket.close(code, reason);
    } catch {
      // Closing a socket that failed while connecting: nothing left to close.
    }
  }

  private finish(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = { opened: this.opened, code, reason, shed: this.shed };
    for (const w of this.openWaiters.splice(0)) w(false);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

// Offload worker SDK for Node.js (no dependencies).
//
// A worker is a long-lived process that offloadd starts from the `workers` section of its config. It
// runs one job at a time: offloadd writes a request line on stdin, the worker answers with event lines on
// stdout (PROTOCOL.md, "Worker protocol"). This module speaks that protocol:
//
//   import { handler, run } from "@offload/worker";
//   handler("thumbnail", async (input, ctx) => {
//     ctx.progress(0.5, "decoded");
//     ctx.output("resized\n");
//     return { width: input.width / 2 };
//   });
//   run();
//
// A handler returns (or resolves to) a JSON-serialisable result, or throws: a JobError("code", "message")
// fails the job with that code (shown as `handler_error` with the code in the message unless it is one of
// the service's own); any other exception fails it with `handler_error` and its message. console.log and
// friends write to stderr, which offloadd copies to its log: stdout belongs to the protocol.
import { format } from "node:util";

export const PROTOCOL_VERSION = 1;
// The longest line offloadd accepts (16 MiB); a larger result fails the job here, not the worker.
const MAX_LINE_BYTES = 16 * 1024 * 1024;

const handlers = new Map();

export class JobError extends Error {
  constructor(code, message = "") {
    super(message);
    this.name = "JobError";
    this.code = String(code);
  }
}

/** Registers `fn(input, ctx)` as the handler of job type `name`. */
export function handler(name, fn) {
  if (typeof name !== "string" || name === "") throw new TypeError("a handler needs a type name");
  if (typeof fn !== "function") throw new TypeError(`the handler of ${name} must be a function`);
  if (handlers.has(name)) throw new Error(`a handler for ${name} is already registered`);
  handlers.set(name, fn);
}

// Writes one event line, given as its JSON text.
function writeLine(out, json) {
  let line = json + "\n";
  if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
    line = JSON.stringify({
      event: "error",
      error: { code: "handler_error", message: "the result is larger than the 16 MiB line limit" },
    }) + "\n";
  }
  out.write(line);
}

class Context {
  #send;
  constructor(send) {
    this.#send = send;
  }
  /** Reports progress: `fraction` from 0 to 1 and a short note. */
  progress(fraction, note = "") {
    const f = Number(fraction);
    if (!(f >= 0 && f <= 1)) throw new RangeError("progress fraction must be from 0 to 1");
    this.#send({ event: "progress", fraction: f, note: String(note) });
  }
  /** Emits a chunk of output: a string, or bytes decoded as UTF-8. */
  output(data) {
    const text = typeof data === "string" ? data : Buffer.from(data).toString("utf8");
    this.#send({ event: "output", data: text });
  }
}

function errorEvent(code, message) {
  return JSON.stringify({ event: "error", error: { code, message } });
}

// Serves one request line; the JSON text of the event that ends it. The result is serialised once, into
// that text (a result that cannot be fails the job).
async function serveOne(line, table, send) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    return errorEvent("protocol_error", `bad request line: ${e.message}`);
  }
  if (!request || typeof request.type !== "string" || typeof request.input !== "object" || request.input === null) {
    return errorEvent("protocol_error", "bad request line: needs type and input");
  }
  const fn = table.get(request.type);
  if (!fn) return errorEvent("unknown_type", `no handler for ${request.type}`);
  try {
    const result = await fn(request.input, new Context(send));
    const encoded = JSON.stringify(result === undefined ? null : result);
    if (encoded === undefined) throw new TypeError("the result is not JSON (a function or a symbol)");
    return `{"event":"result","result":${encoded}}`;
  } catch (e) {
    if (e instanceof JobError) return errorEvent(e.code, e.message);
    process.stderr.write(`${e && e.stack ? e.stack : String(e)}\n`);
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return errorEvent("handler_error", message);
  }
}

/**
 * Serves jobs until offloadd closes stdin. `extra` (an object of name -> handler) adds to the handlers
 * registered with handler(). Resolves when stdin ends.
 */
export async function run(extra = {}, { input = process.stdin, output = process.stdout } = {}) {
  const table = new Map(handlers);
  for (const [name, fn] of Object.entries(extra)) table.set(name, fn);
  // console output must not corrupt the protocol: send it to stderr.
  for (const level of ["log", "info", "debug", "warn"]) {
    console[level] = (...args) => process.stderr.write(format(...args) + "\n");
  }
  const send = (event) => writeLine(output, JSON.stringify(event));
  send({ event: "ready", protocol: PROTOCOL_VERSION, types: [...table.keys()].sort() });
  // Lines are split by hand and served one at a time, in order (readline's async iterator costs more per
  // line than a small job does).
  let pending = "";
  let queue = [];
  let busy = false;
  let ended = false;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const pump = async () => {
    if (busy) return;
    busy = true;
    while (queue.length > 0) {
      const line = queue.shift();
      if (line !== "") writeLine(output, await serveOne(line, table, send));
    }
    busy = false;
    if (ended) finish();
  };
  input.setEncoding("utf8");
  input.on("data", (chunk) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop();
    if (lines.length > 0) {
      queue = queue.concat(lines);
      pump();
    }
  });
  input.on("end", () => {
    ended = true;
    if (pending !== "") queue.push(pending);
    pending = "";
    if (!busy) pump();
  });
  return done;
}

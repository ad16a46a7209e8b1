// The point of Offload, in one file: a node:http app with a CPU-heavy route. Computed inline, the route
// blocks the event loop and every other request waits (even /ping); sent to offloadd, the loop stays free.
//
//   offloadd &                                # or scripts/run.sh from the repository
//   node examples/responsive-server.mjs       # PORT (default 3000), OFFLOAD_URL (default http://127.0.0.1:8080)
//   curl 'localhost:3000/primes/inline?limit=30000000'    # blocks the loop for a second or so
//   curl 'localhost:3000/primes/offload?limit=30000000'   # the same answer; the loop stays free
//   curl localhost:3000/loop-delay                        # the event loop's delay since the last call
import http from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

import { OffloadClient } from "@offload/client";

/** Counts the primes ≤ limit with a sieve: the kind of work that must not run on an event loop. */
export function countPrimes(limit) {
  if (limit < 2) return 0;
  const composite = new Uint8Array(limit + 1);
  let count = 0;
  for (let i = 2; i <= limit; ++i) {
    if (composite[i]) continue;
    ++count;
    for (let j = i * i; j <= limit; j += i) composite[j] = 1;
  }
  return count;
}

/** The app: `/primes/inline`, `/primes/offload`, `/ping` and `/loop-delay`. */
export function createApp({ offloadUrl = process.env.OFFLOAD_URL ?? "http://127.0.0.1:8080", token = process.env.OFFLOAD_TOKEN } = {}) {
  const offload = new OffloadClient({ url: offloadUrl, token });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://localhost");
    const reply = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      const limit = Number(url.searchParams.get("limit") ?? "10000000");
      if (url.pathname === "/ping") return reply(200, { pong: true });
      if (url.pathname === "/primes/inline") return reply(200, { count: countPrimes(limit) });
      if (url.pathname === "/primes/offload") {
        // Waits for the job without blocking anything: the loop serves other requests meanwhile.
        const job = await offload.submit({ type: "primes", input: { limit } }, { wait: 60_000 });
        const done = job.state === "succeeded" || job.state === "failed" ? job : await offload.wait(job.id);
        if (done.state !== "succeeded") return reply(502, { error: done.error });
        return reply(200, { count: done.result.count });
      }
      if (url.pathname === "/loop-delay") {
        const ms = (ns) => Math.round(ns / 1e4) / 100;
        const body = { p50_ms: ms(delay.percentile(50)), p99_ms: ms(delay.percentile(99)), max_ms: ms(delay.max) };
        delay.reset();
        return reply(200, body);
      }
      reply(404, { error: "no such route" });
    } catch (error) {
      reply(502, { error: { code: error.code ?? "internal", message: error.message } });
    }
  });
  server.on("close", () => {
    delay.disable();
    offload.close();
  });
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 3000);
  createApp().listen(port, () => console.log(`listening on http://127.0.0.1:${port}`));
}

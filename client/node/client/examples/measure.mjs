// Shows what the example's two routes do to the app's event loop: the same CPU-heavy requests, computed
// inline and sent to offloadd, while a probe pings the app every 10 ms. Prints the probe's latency and the
// event loop's delay (perf_hooks.monitorEventLoopDelay) for each.
//
//   node examples/measure.mjs [REQUESTS] [LIMIT]     (OFFLOAD_URL, OFFLOAD_TOKEN as for the example)
import { fileURLToPath } from "node:url";

import { createApp } from "./responsive-server.mjs";

async function get(url) {
  const response = await fetch(url);
  return response.json();
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** Runs `requests` heavy requests, two at a time, on each route; returns one row per route. */
export async function measure({ requests = 6, limit = 20_000_000, offloadUrl, token } = {}) {
  const app = createApp({ offloadUrl, token });
  await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${app.address().port}`;
  const rows = [];
  try {
    for (const route of ["inline", "offload"]) {
      await get(`${base}/loop-delay`); // resets the histogram
      const pings = [];
      let running = true;
      const probe = (async () => {
        while (running) {
          const start = performance.now();
          await get(`${base}/ping`);
          pings.push(performance.now() - start);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const started = performance.now();
      const counts = [];
      const worker = async () => {
        while (counts.length < requests) {
          const slot = counts.push(null) - 1;
          counts[slot] = (await get(`${base}/primes/${route}?limit=${limit}`)).count;
        }
      };
      await Promise.all([worker(), worker()]);
      const seconds = (performance.now() - started) / 1000;
      running = false;
      await probe;
      const loop = await get(`${base}/loop-delay`);
      pings.sort((a, b) => a - b);
      rows.push({
        route,
        requests,
        seconds: Math.round(seconds * 100) / 100,
        counts: [...new Set(counts)],
        ping_p50_ms: Math.round(percentile(pings, 50) * 10) / 10,
        ping_p99_ms: Math.round(percentile(pings, 99) * 10) / 10,
        ping_max_ms: Math.round((pings.at(-1) ?? 0) * 10) / 10,
        loop_delay_p99_ms: loop.p99_ms,
        loop_delay_max_ms: loop.max_ms,
      });
    }
  } finally {
    await new Promise((resolve) => app.close(resolve));
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await measure({ requests: Number(process.argv[2] ?? 6), limit: Number(process.argv[3] ?? 20_000_000) });
  console.table(rows);
}

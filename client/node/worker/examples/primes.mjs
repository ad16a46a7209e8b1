#!/usr/bin/env node
// An Offload worker in Node.js: the CPU-heavy function a web back end would otherwise run on its event
// loop (or in a worker_threads Worker), moved into a warm Offload worker. `node_fail` throws a JobError,
// `node_throw` a plain Error, `node_crash` kills its own process, `node_sleep` waits (for timeout and
// cancel tests).
import { JobError, handler, run } from "../offload-worker.mjs";

handler("count_primes", async ({ below }, ctx) => {
  const n = Number(below);
  if (!Number.isInteger(n) || n < 2) throw new JobError("bad_input", "below must be an integer ≥ 2");
  const sieve = new Uint8Array(n);
  let count = 0;
  const step = Math.max(1, Math.floor(n / 4));
  for (let i = 2; i < n; i++) {
    if (!sieve[i]) {
      count++;
      for (let j = i * i; j < n; j += i) sieve[j] = 1;
    }
    if (i % step === 0) ctx.progress(i / n, `checked ${i} of ${n}`);
  }
  ctx.output(`${count} primes below ${n}\n`);
  return { below: n, count, pid: process.pid };
});

handler("node_fail", async () => {
  throw new JobError("bad_input", "failed on purpose");
});

handler("node_throw", async () => {
  throw new TypeError("something broke");
});

handler("node_crash", () => process.kill(process.pid, "SIGKILL"));

// A result that cannot be sent: a BigInt or a function is not JSON. The job fails.
handler("node_unsendable", ({ kind }) => (kind === "bigint" ? { big: 1n } : () => 1));

handler("node_sleep", ({ ms }) => new Promise((resolve) => setTimeout(() => resolve({ slept: ms }), ms)));

await run();

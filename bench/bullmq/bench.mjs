// The bench's BullMQ peer: N no-op jobs end to end on one redis-server, the way a Node back end does it with
// BullMQ, measured like offloadd's "e2e_redis" row: 16 producers (or P) each adding one job at a time (as
// 16 HTTP clients submitting), one worker process with the given concurrency; the time from the first add to
// the last completion. Completed jobs are kept (BullMQ's default), as offloadd keeps finished jobs.
//   node bench.mjs --port REDIS_PORT --jobs N --concurrency C [--producers P]
// Prints one JSON line: jobs, seconds, per_second, concurrency, producers, and each process's CPU seconds.
import { fork } from "node:child_process";
import { parseArgs } from "node:util";

import { Queue, Worker } from "bullmq";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    jobs: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "2" },
    producers: { type: "string", default: "16" },
    role: { type: "string", default: "main" },
  },
});
const connection = { host: "127.0.0.1", port: Number(values.port) };
const jobs = Number(values.jobs);
const name = "offload-bench";
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

if (values.role === "worker") {
  let done = 0;
  const worker = new Worker(name, async () => ({}), { connection, concurrency: Number(values.concurrency) });
  worker.on("completed", () => {
    if (++done === jobs) process.send({ done, cpu_s: cpuSeconds() });
  });
  worker.on("error", (e) => console.error("bullmq worker:", e.message));
  await worker.waitUntilReady();
  process.send({ ready: true });
  process.on("message", async () => {
    await worker.close();
    process.exit(0);
  });
} else if (values.role === "producer") {
  const queue = new Queue(name, { connection });
  let next = 0;
  const producer = async () => {
    while (next < jobs) {
      ++next;
      await queue.add("noop", { a: 1 });
    }
  };
  await Promise.all(Array.from({ length: Number(values.producers) }, producer));
  process.send({ added: next, cpu_s: cpuSeconds() });
  await queue.close();
  process.exit(0);
} else {
  const queue = new Queue(name, { connection });
  await queue.obliterate({ force: true });
  const self = new URL(import.meta.url).pathname;
  const child = (role) => fork(self, ["--role", role, ...process.argv.slice(2)]);
  const message = (c) => new Promise((resolve) => c.once("message", resolve));
  // A run that cannot finish (Redis went away, jobs were lost) fails instead of hanging the bench.
  setTimeout(() => {
    console.error("bullmq bench: not finished after 300 s");
    process.exit(1);
  }, 300_000).unref();
  const worker = child("worker");
  await message(worker);
  const started = process.hrtime.bigint();
  const producer = child("producer");
  const [finished, produced] = await Promise.all([message(worker), message(producer)]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  worker.send("stop");
  console.log(JSON.stringify({
    jobs, seconds: Number(seconds.toFixed(3)), per_second: Math.round(jobs / seconds),
    concurrency: Number(values.concurrency), producers: Number(values.producers),
    worker_cpu_s: finished.cpu_s, producer_cpu_s: produced.cpu_s,
  }));
  await queue.obliterate({ force: true });
  await queue.close();
}

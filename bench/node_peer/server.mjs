// The bench's Node.js peer: what a Node back end does without Offload, serving the bench's requests with the
// same API. POST /v1/jobs?wait=S with {"type","input","lane"}:
//   echo, lane thread (default): a Piscina worker thread returns the input (as Offload's thread lane);
//   echo, lane process: one of two warm child_process.fork() children returns it (as Offload's workers);
//   true: execFile("/bin/true") (as an allow-listed command).
// Answers 200 with a job-view-like body, like offloadd's ?wait answer. Prints "listening on http://…:PORT".
import { execFile, fork } from "node:child_process";
import http from "node:http";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

import Piscina from "piscina";

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
// Node's best case, found by trying: a fixed pool (Piscina's default minimum of one thread makes it start and
// stop threads under this load: 0.9k req/s) that hands each thread up to 16 tasks at a time (9.8k → 13.8k).
const threads = new Piscina({
  filename: here("echo_task.mjs"),
  minThreads: availableParallelism(),
  maxThreads: availableParallelism(),
  concurrentTasksPerWorker: 16,
});

// Two warm children, each running one job at a time.
const idle = [];
const waiting = [];
for (let i = 0; i < 2; ++i) idle.push(fork(here("echo_child.mjs"), { serialization: "advanced" }));
function inChild(input) {
  return new Promise((resolve) => {
    const run = (child) => {
      child.once("message", (result) => {
        resolve(result);
        const next = waiting.shift();
        if (next) next(child);
        else idle.push(child);
      });
      child.send(input);
    };
    const child = idle.pop();
    if (child) run(child);
    else waiting.push(run);
  });
}

function runCommand() {
  return new Promise((resolve) => execFile("/bin/true", (error) => resolve({ exit_code: error ? error.code ?? 1 : 0 })));
}

let next = 1;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const reply = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== "POST" || !req.url.startsWith("/v1/jobs")) return reply(404, { error: { code: "not_found", message: "no such route" } });
    let spec;
    try {
      spec = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return reply(400, { error: { code: "invalid_json", message: "not JSON" } });
    }
    const created_at = new Date().toISOString();
    let result;
    if (spec.type === "echo" && spec.lane === "process") result = await inChild(spec.input ?? {});
    else if (spec.type === "echo") result = await threads.run(spec.input ?? {});
    else if (spec.type === "true") result = await runCommand();
    else return reply(400, { error: { code: "unknown_type", message: `no job type ${spec.type}` } });
    reply(200, {
      id: String(next++).padStart(20, "0"),
      type: spec.type,
      lane: spec.type === "true" ? "process" : spec.lane ?? "thread",
      state: "succeeded",
      created_at,
      finished_at: new Date().toISOString(),
      result,
    });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"])
  process.on(signal, async () => {
    server.close();
    for (const child of idle) child.kill();
    await threads.destroy();
    process.exit(0);
  });

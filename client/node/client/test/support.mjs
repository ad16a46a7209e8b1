// What the tests share: a real offloadd started on port 0 (path from OFFLOAD_OFFLOADD, else the default
// build), a TCP proxy that can cut or stall connections, and waiting for a condition with a deadline.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../../../..");
const build = process.env.OFFLOAD_BUILD_DIR ?? join(repo, "build");
// OFFLOAD_TEST_OFFLOADD overrides the server of the whole suite (CI's TSan run), as for the C++ tests.
export const offloadd = process.env.OFFLOAD_TEST_OFFLOADD || process.env.OFFLOAD_OFFLOADD || join(build, "service/offloadd");
export const testChild = process.env.OFFLOAD_TEST_CHILD ?? join(build, "tests/offload_test_child");

/** Commands for streaming tests: output in 16 KiB pieces (`drip`) or as fast as possible (`flood`). */
export function streamingConfig() {
  return {
    commands: {
      drip: { argv: [testChild, "drip", "{input.mib}", "{input.pause_us}"], result: "exit_code", max_output_bytes: 64 << 20 },
      flood: { argv: [testChild, "flood", "{input.mib}"], result: "exit_code", max_output_bytes: 64 << 20 },
    },
  };
}

/**
 * Starts offloadd with `args` (and `config`, a --config object); `stop()` ends it and removes its files. The
 * store is memory unless `sqlite` (the default store, in a data directory among those files).
 */
export async function startServer({ args = [], config, token, sqlite = false } = {}) {
  if (!existsSync(offloadd)) throw new Error(`offloadd not found at ${offloadd}: build first or set OFFLOAD_OFFLOADD`);
  const dir = mkdtempSync(join(tmpdir(), "offload-node-test-"));
  const store = sqlite ? ["--store", "sqlite", "--data-dir", join(dir, "data")] : ["--store", "memory"];
  const all = ["--listen", "127.0.0.1:0", ...store, "--log-level", "warn", "--work-root", dir,
    "--drain-seconds", "0", ...args];
  if (config) {
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    all.push("--config", join(dir, "config.json"));
  }
  if (token) {
    writeFileSync(join(dir, "tokens"), token + "\n", { mode: 0o600 });
    all.push("--token-file", join(dir, "tokens"));
  }
  const child = spawn(offloadd, all, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const port = await new Promise((resolvePort, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("offloadd did not start in 10 s:\n" + stderr)), 10_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`offloadd exited ${code}:\n${stderr}`)));
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    /** Stops it with SIGTERM; throws when it then exits other than 0 (a sanitizer's report, a crash). */
    async stop() {
      let code = child.exitCode;
      let signal = child.signalCode;
      if (code === null && signal === null) {
        const exited = new Promise((r) => child.once("exit", (c, s) => r([c, s])));
        child.kill("SIGTERM");
        [code, signal] = await exited;
      }
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) throw new Error(`offloadd exited ${code ?? signal} after SIGTERM:\n${stderr.slice(-4000)}`);
    },
  };
}

/**
 * A TCP proxy in front of `port`. `cutAfterBytes`: each connection is cut once that many bytes came from the
 * server. `stall()` stops forwarding what the server sends (the server's buffers fill), `resume()` goes on.
 */
export async function startProxy(port, { cutAfterBytes } = {}) {
  const sockets = new Set();
  const upstreams = new Set();
  let stalled = false;
  let connections = 0;
  const server = net.createServer((client) => {
    connections += 1;
    const upstream = net.connect(port, "127.0.0.1");
    sockets.add(client);
    upstreams.add(upstream);
    let fromServer = 0;
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d) => {
      fromServer += d.length;
      client.write(d);
      if (cutAfterBytes !== undefined && fromServer >= cutAfterBytes) {
        client.destroy();
        upstream.destroy();
      }
    });
    if (stalled) upstream.pause();
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      upstreams.delete(upstream);
    };
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    connections: () => connections,
    stall() {
      stalled = true;
      for (const u of upstreams) u.pause();
    },
    resume() {
      stalled = false;
      for (const u of upstreams) u.resume();
    },
    cutAll() {
      for (const s of sockets) s.destroy();
      for (const u of upstreams) u.destroy();
    },
    async stop() {
      for (const s of sockets) s.destroy();
      for (const u of upstreams) u.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Polls `check` until it returns a truthy value, or fails after `ms`. */
export async function waitFor(check, what, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Checks a job's events: numbered from 1 without gap or repeat, ending with one terminal event. */
export function assertCompleteLog(assert, events, from = 1) {
  events.forEach((e, i) => assert.equal(e.seq, from + i, `event ${i} has seq ${e.seq}, expected ${from + i}`));
  const terminal = events.filter((e) => ["succeeded", "failed", "cancelled", "timed_out", "crashed"].includes(e.type));
  assert.equal(terminal.length, 1, "exactly one terminal event");
  assert.equal(events.at(-1), terminal[0], "the terminal event is the last");
}

/** The bytes of all `output` events' text. */
export function outputBytes(events) {
  return events.filter((e) => e.type === "output").reduce((n, e) => n + (e.data?.length ?? 0), 0);
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort() {
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  return port;
}

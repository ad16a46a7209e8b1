// The client's calls against a real offloadd: submit, wait, get, cancel, list, types, health, errors, abort.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { OffloadClient, OffloadError } from "../dist/index.js";
import { closedPort, startServer, waitFor } from "./support.mjs";

describe("calls", () => {
  let server;
  let client;
  before(async () => {
    // /readyz turns 503 after a reactor lag of 100 ms, which a loaded machine (a sanitizer build beside a
    // Docker build) reaches: these tests check the client's calls, not the server's load.
    server = await startServer({ args: ["--max-reactor-lag-ms", "60000"] });
    client = new OffloadClient({ url: server.url });
  });
  after(async () => server.stop());

  test("submit, wait and get a job", async () => {
    const sub = await client.submit({ type: "sum", input: { n: 1000 } });
    assert.equal(sub.type, "sum");
    assert.equal(sub.replayed, false);
    assert.match(sub.idempotency_key, /^[0-9a-f-]{36}$/, "an automatic idempotency key");
    const done = await client.wait(sub.id, { timeout: 30_000 });
    assert.equal(done.state, "succeeded");
    assert.deepEqual(done.result, { sum: "499500" });
    assert.deepEqual(await client.get(sub.id), done);
  });

  test("submit with wait answers with the final view", async () => {
    const sub = await client.submit({ type: "echo", input: { hello: "world" } }, { wait: 10_000 });
    assert.equal(sub.state, "succeeded");
    assert.deepEqual(sub.result, { hello: "world" });
  });

  test("a repeated idempotency key answers the first job", async () => {
    const first = await client.submit({ type: "echo", input: { a: 1 } }, { idempotencyKey: "node-same-key" });
    const again = await client.submit({ type: "echo", input: { a: 1 } }, { idempotencyKey: "node-same-key" });
    assert.equal(again.id, first.id);
    assert.equal(again.replayed, true);
    await assert.rejects(client.submit({ type: "echo", input: { a: 2 } }, { idempotencyKey: "node-same-key" }), (e) => {
      assert.ok(e instanceof OffloadError);
      assert.equal(e.code, "idempotency_conflict");
      assert.equal(e.status, 409);
      return true;
    });
  });

  test("server errors carry the server's code and status", async () => {
    await assert.rejects(client.submit({ type: "no_such_type" }), { name: "OffloadError", code: "unknown_type", status: 400 });
    await assert.rejects(client.submit({ type: "sum", input: { n: "x" } }), (e) => {
      assert.equal(e.code, "invalid_input");
      assert.match(e.message, /^input\.n/);
      return true;
    });
    await assert.rejects(client.get("00000000000000000000dead"), { code: "not_found", status: 404 });
    await assert.rejects(client.events("00000000000000000000dead").next(), { code: "not_found" });
  });

  test("cancel a running job, then already_finished", async () => {
    const sub = await client.submit({ type: "sleep", input: { ms: 60_000 } });
    await waitFor(async () => (await client.get(sub.id)).state === "running", "the job to run");
    const cancelled = await client.cancel(sub.id);
    assert.equal(cancelled.state, "cancelled");
    assert.equal(cancelled.error.code, "cancelled");
    await assert.rejects(client.cancel(sub.id), { code: "already_finished", status: 409 });
  });

  test("list pages and listAll walks them all", async () => {
    const ids = [];
    for (let i = 0; i < 7; ++i) ids.push((await client.submit({ type: "echo", input: { i } }, { wait: 10_000 })).id);
    const page = await client.list({ type: "echo", limit: 3 });
    assert.equal(page.jobs.length, 3);
    assert.notEqual(page.next, null);
    assert.equal(page.jobs[0].result, undefined, "listings are summaries");
    const all = [];
    for await (const job of client.listAll({ type: "echo", limit: 3, results: true })) all.push(job);
    for (const id of ids) assert.ok(all.some((j) => j.id === id), `listAll has ${id}`);
    assert.ok(all.every((j) => j.state !== "succeeded" || j.result !== undefined), "results when asked");
    const newest = await client.list({ type: "echo", newest: true, limit: 1 });
    assert.equal(newest.jobs[0].id, ids.at(-1));
  });

  test("types, health and ready", async () => {
    const types = await client.types();
    const sum = types.find((t) => t.name === "sum");
    assert.ok(sum, "sum is a type");
    assert.ok(sum.lanes.includes("thread"));
    assert.equal(sum.input_schema.type, "object");
    assert.equal((await client.health()).status, "ok");
    assert.equal((await client.ready()).status, "ready");
    const stats = await client.stats();
    assert.ok(stats.jobs.submitted >= 1);
    assert.deepEqual(stats.pools.map((p) => p.kind), ["threads", "workers", "commands"]);
    const job = await client.submit({ type: "echo", input: { x: 1 } }, { wait: 10 });
    assert.deepEqual((await client.get(job.id, { input: true })).input, { x: 1 });
    assert.equal((await client.get(job.id)).input, undefined);
  });

  test("wait gives up with wait_timeout; the job keeps running", async () => {
    const sub = await client.submit({ type: "sleep", input: { ms: 60_000 } });
    await assert.rejects(client.wait(sub.id, { timeout: 300 }), { code: "wait_timeout" });
    assert.notEqual((await client.get(sub.id)).state, "cancelled");
    await client.cancel(sub.id);
  });

  test("an AbortSignal stops submit, wait and events with its reason", async () => {
    const controller = new AbortController();
    const reason = new Error("stop now");
    const held = client.submit({ type: "sleep", input: { ms: 60_000 } }, { wait: 60_000, signal: controller.signal });
    const sub = await client.submit({ type: "sleep", input: { ms: 60_000 } });
    const waiting = client.wait(sub.id, { signal: controller.signal });
    const iterating = (async () => {
      for await (const e of client.events(sub.id, { signal: controller.signal })) void e;
    })();
    await new Promise((r) => setTimeout(r, 100));
    controller.abort(reason);
    await assert.rejects(held, (e) => e === reason);
    await assert.rejects(waiting, (e) => e === reason);
    await assert.rejects(iterating, (e) => e === reason);
    await assert.rejects(client.get(sub.id, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    for (const j of (await client.list({ type: "sleep", state: "running" })).jobs) await client.cancel(j.id).catch(() => {});
    for (const j of (await client.list({ type: "sleep", state: "queued" })).jobs) await client.cancel(j.id).catch(() => {});
  });
});

describe("transport", () => {
  test("no server: connect_failed; a bad URL: invalid_url", async () => {
    const c = new OffloadClient({ url: `http://127.0.0.1:${await closedPort()}`, submitRetries: 1, reconnectInitialDelayMs: 1 });
    await assert.rejects(c.health(), { code: "connect_failed" });
    await assert.rejects(c.submit({ type: "echo" }), { code: "connect_failed" });
    assert.throws(() => new OffloadClient({ url: "ftp://x" }), { code: "invalid_url" });
    assert.throws(() => new OffloadClient({ url: "http://x/?a=1" }), { code: "invalid_url" });
  });

  test("a full queue answers 429 with retryAfter", async () => {
    const server = await startServer({ args: ["--threads", "1", "--max-queued", "1"] });
    try {
      const c = new OffloadClient({ url: server.url });
      const running = await c.submit({ type: "sleep", input: { ms: 60_000 } });
      await waitFor(async () => (await c.get(running.id)).state === "running", "the first job to run");
      const queued = await c.submit({ type: "sleep", input: { ms: 60_000 } });
      await assert.rejects(c.submit({ type: "sleep", input: { ms: 1 } }), (e) => {
        assert.equal(e.code, "queue_full");
        assert.equal(e.status, 429);
        assert.ok(Number.isInteger(e.retryAfter) && e.retryAfter >= 1, `retryAfter ${e.retryAfter}`);
        return true;
      });
      await c.cancel(queued.id);
      await c.cancel(running.id);
    } finally {
      await server.stop();
    }
  });

  test("a keyed submission is retried after a transient failure and creates one job", async () => {
    // A server that is not there yet: the first sends fail to connect, a later one reaches it.
    const port = await closedPort();
    const c = new OffloadClient({ url: `http://127.0.0.1:${port}`, submitRetries: 20, reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200 });
    const submitted = c.submit({ type: "echo", input: { late: true } });
    await new Promise((r) => setTimeout(r, 300));
    const server = await startServer({ args: ["--listen", `127.0.0.1:${port}`] });
    try {
      const sub = await submitted;
      const page = await c.list({ type: "echo" });
      assert.deepEqual(page.jobs.map((j) => j.id), [sub.id]);
    } finally {
      await server.stop();
    }
  });
});

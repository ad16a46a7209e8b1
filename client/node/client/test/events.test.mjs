// Event streams against a real offloadd, on whichever WebSocket this Node has: the global one (Node ≥ 22,
// or 20 with --experimental-websocket) or the ws package. test/run.sh runs this file both ways.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { OffloadClient } from "../dist/index.js";
import { assertCompleteLog, outputBytes, startProxy, startServer, streamingConfig, waitFor } from "./support.mjs";

// test/run.sh sets OFFLOAD_TEST_WEBSOCKET=ws to test the ws package on a Node that has a global WebSocket.
if (process.env.OFFLOAD_TEST_WEBSOCKET === "ws") delete globalThis.WebSocket;
const websocket = typeof globalThis.WebSocket === "function" ? "global WebSocket" : "ws package";
const MiB = 1 << 20;

async function collect(iterable) {
  const events = [];
  for await (const e of iterable) events.push(e);
  return events;
}

for (const multiplex of [false, true]) {
  describe(`events over the ${websocket}${multiplex ? ", multiplexed on /v1/ws" : ""}`, () => {
    let server;
    before(async () => {
      server = await startServer({
        config: streamingConfig(),
        args: ["--ws-max-queued-bytes", "262144", "--max-log-bytes", "64m"],
      });
    });
    after(async () => server.stop());
    const clientFor = (url, options = {}) =>
      new OffloadClient({ url, multiplex, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200, ...options });

    test("every event of a job, in order, ending with the terminal one", async () => {
      const client = clientFor(server.url);
      const sub = await client.submit({ type: "drip", input: { mib: 1, pause_us: 200 } });
      const events = await collect(client.events(sub.id));
      assertCompleteLog(assert, events);
      assert.equal(events[0].type, "queued");
      assert.equal(events.at(-1).type, "succeeded");
      assert.equal(outputBytes(events), MiB);
      client.close();
    });

    test("after skips what was seen; after the end there is nothing", async () => {
      const client = clientFor(server.url);
      const sub = await client.submit({ type: "sleep", input: { ms: 10 } });
      const done = await client.wait(sub.id, { timeout: 30_000 });
      const tail = await collect(client.events(sub.id, { after: 1 }));
      assert.deepEqual(tail.map((e) => e.seq), [2, 3]);
      assert.deepEqual(await collect(client.events(sub.id, { after: done.last_seq })), []);
      client.close();
    });

    test("a stream resumes through cut connections without loss or repeat", async () => {
      const proxy = await startProxy(server.port, { cutAfterBytes: 40_000 });
      try {
        const client = clientFor(proxy.url);
        const sub = await clientFor(server.url).submit({ type: "drip", input: { mib: 1, pause_us: 500 } });
        const reconnects = [];
        const events = await collect(client.events(sub.id, { onReconnect: (r) => reconnects.push(r) }));
        assertCompleteLog(assert, events);
        assert.equal(outputBytes(events), MiB);
        assert.ok(reconnects.length >= 3, `reconnected ${reconnects.length} times`);
        assert.ok(proxy.connections() >= 4, `${proxy.connections()} connections`);
        client.close();
      } finally {
        await proxy.stop();
      }
    });

    test("a stream resumes after the server sheds it with 1013", async () => {
      const proxy = await startProxy(server.port);
      try {
        const client = clientFor(proxy.url);
        const direct = clientFor(server.url);
        const sub = await direct.submit({ type: "drip", input: { mib: 24, pause_us: 0 } });
        const reconnects = [];
        const iterator = client.events(sub.id, { onReconnect: (r) => reconnects.push(r) });
        const first = await iterator.next(); // the socket is open and following
        assert.equal(first.value.seq, 1);
        // Nothing reaches the client while the job writes 24 MiB: the server's queue for this socket passes
        // 256 KiB and it closes the socket with 1013.
        proxy.stall();
        await direct.wait(sub.id, { timeout: 60_000 });
        proxy.resume();
        const events = [first.value];
        for await (const e of { [Symbol.asyncIterator]: () => iterator }) events.push(e);
        assertCompleteLog(assert, events);
        assert.equal(outputBytes(events), 24 * MiB);
        assert.ok(reconnects.some((r) => r.code === 1013), `closes: ${reconnects.map((r) => r.code)}`);
        client.close();
      } finally {
        await proxy.stop();
      }
    });

    test("a slow consumer costs at most about the high-water mark, and misses nothing", async () => {
      const client = clientFor(server.url, { highWaterBytes: 256 * 1024 });
      // 16 MiB: more than can be in flight when the client pauses. A multiplexed client unsubscribes at the
      // mark but keeps reading its shared socket, and what the server had sent by then still arrives (this
      // machine lets a loopback receive buffer grow to 32 MiB); with a 4 MiB log the rest of it sometimes
      // arrived in flight, the subscription ended without a resubscription, and no shed was reported.
      const sub = await client.submit({ type: "drip", input: { mib: 16, pause_us: 0 } });
      await client.wait(sub.id, { timeout: 60_000 });
      const reconnects = [];
      const events = [];
      for await (const e of client.events(sub.id, { onReconnect: (r) => reconnects.push(r) })) {
        events.push(e);
        if (events.length % 16 === 0) await new Promise((r) => setImmediate(r));
        // A consumer slow at first (the scenario, not a synchronisation): 1.28 s over its first 128 events of
        // 16 KiB (1.6 MB/s), while the whole log is ready to send, so more than the 256 KiB mark arrives unread
        // even on a loaded machine (2 ms per event for 64 events was not always enough).
        if (events.length < 128) await new Promise((r) => setTimeout(r, 10));
      }
      assertCompleteLog(assert, events);
      assert.equal(outputBytes(events), 16 * MiB);
      assert.ok(reconnects.some((r) => r.shed), "the client stopped reading while its consumer was behind");
      client.close();
    });
  });
}

describe(`multiplexed socket over the ${websocket}`, () => {
  test("one socket follows many jobs, and a second iterator of a job gets its own copy", async () => {
    const server = await startServer({ config: streamingConfig() });
    const proxy = await startProxy(server.port);
    try {
      const client = new OffloadClient({ url: proxy.url, multiplex: true });
      const subs = [];
      for (let i = 0; i < 20; ++i) subs.push(await client.submit({ type: "sleep", input: { ms: 50 + i * 5 } }));
      const twice = client.events(subs[0].id);
      const all = await Promise.all([...subs.map((s) => collect(client.events(s.id))), collect(twice)]);
      for (const events of all) assertCompleteLog(assert, events);
      assert.deepEqual(all.at(-1), all[0]);
      // HTTP requests use their own connections; every stream shared one socket.
      const upgrades = proxy.connections();
      assert.ok(upgrades <= 3, `${upgrades} connections through the proxy`);
      client.close();
    } finally {
      await proxy.stop();
      await server.stop();
    }
  });

  test("past --ws-max-subscriptions a follower fails with too_many_subscriptions", async () => {
    const server = await startServer({ args: ["--ws-max-subscriptions", "2"] });
    try {
      const client = new OffloadClient({ url: server.url, multiplex: true });
      const subs = [];
      for (let i = 0; i < 3; ++i) subs.push(await client.submit({ type: "sleep", input: { ms: 60_000 } }));
      const iterators = subs.map((s) => client.events(s.id));
      const firsts = await Promise.allSettled(iterators.map((it) => it.next()));
      const refused = firsts.filter((r) => r.status === "rejected");
      assert.equal(refused.length, 1, JSON.stringify(firsts.map((r) => r.status)));
      assert.equal(refused[0].reason.code, "too_many_subscriptions");
      assert.equal(refused[0].reason.status, 429);
      for (const s of subs) await client.cancel(s.id);
      client.close();
    } finally {
      await server.stop();
    }
  });
});

describe(`authentication over the ${websocket}`, () => {
  let server;
  before(async () => {
    server = await startServer({ token: "s3cret/token+with=odd chars" });
  });
  after(async () => server.stop());

  for (const multiplex of [false, true]) {
    test(`the token rides in a subprotocol${multiplex ? " (multiplexed)" : ""}; a wrong one is refused`, async () => {
      const good = new OffloadClient({ url: server.url, token: "s3cret/token+with=odd chars", multiplex });
      const sub = await good.submit({ type: "echo", input: { x: 1 } });
      const events = await collect(good.events(sub.id));
      assertCompleteLog(assert, events);
      good.close();
      const bad = new OffloadClient({ url: server.url, token: "wrong", multiplex, maxReconnectAttempts: 2 });
      await assert.rejects(bad.get(sub.id), { code: "unauthorized", status: 401 });
      await assert.rejects(collect(bad.events(sub.id)), { code: "unauthorized" });
      bad.close();
      const none = new OffloadClient({ url: server.url, multiplex, maxReconnectAttempts: 2 });
      await assert.rejects(collect(none.events(sub.id)), { code: "unauthorized" });
      none.close();
    });
  }
});

// The example app works both ways and its measurement script runs (its figures are printed, never asserted:
// timings belong in benchmarks).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { countPrimes } from "../examples/responsive-server.mjs";
import { measure } from "../examples/measure.mjs";
import { startServer } from "./support.mjs";

let server;
before(async () => {
  server = await startServer({ token: "example-token" });
});
after(async () => server.stop());

test("countPrimes counts", () => {
  assert.equal(countPrimes(1_000_000), 78498);
  assert.equal(countPrimes(1), 0);
});

test("both routes answer the same count, and the measurement reports both", async () => {
  const rows = await measure({ requests: 2, limit: 1_000_000, offloadUrl: server.url, token: "example-token" });
  assert.deepEqual(rows.map((r) => r.route), ["inline", "offload"]);
  for (const row of rows) {
    assert.deepEqual(row.counts, [78498], JSON.stringify(row));
    assert.ok(row.loop_delay_max_ms >= 0 && Number.isFinite(row.ping_p99_ms));
  }
  console.log(JSON.stringify(rows));
});

// The dashboard in a real headless Chromium against a real offloadd: what an operator sees and does.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { testChild, waitFor } from "../../client/node/client/test/support.mjs";
import { launch, openPage, serve, textOf } from "./browser.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Calls the API as a client would; `{status, body}`. */
async function call(server, method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(server.url + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

async function submit(server, spec, token) {
  const { status, body } = await call(server, "POST", "/v1/jobs", spec, token);
  assert.ok(status === 202 || status === 200, `submission answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

async function stateOf(server, id) {
  return (await call(server, "GET", `/v1/jobs/${id}`)).body.state;
}

/** A command whose output comes in lines, 50 ms apart: something to watch stream. */
const commands = {
  commands: {
    ticks: { argv: [testChild, "ticks", "{input.count}", "{input.pause_us}"], result: "exit_code" },
  },
};

test("the overview shows the numbers of /v1/stats and follows them live", async (t) => {
  // On the default store (SQLite), whose commits the overview shows too.
  const server = await serve(t, { config: commands, sqlite: true });
  for (let i = 0; i < 3; i++) await submit(server, { type: "echo", input: { i } });
  await waitFor(async () => (await call(server, "GET", "/v1/stats")).body.jobs.finished === 3, "3 jobs finished");

  const { page, problems } = await openPage(browser, t, `${server.url}/`);
  assert.match(page.url(), /\/ui\/$/, "/ redirects to the dashboard");
  await page.locator('[data-stat="jobs.submitted"]').waitFor();
  const stats = (await call(server, "GET", "/v1/stats")).body;
  const shown = async (key) => (await textOf(page, `[data-stat="${key}"]`))?.trim();
  assert.equal(await shown("jobs.submitted"), String(stats.jobs.submitted));
  assert.equal(await shown("jobs.finished"), String(stats.jobs.finished));
  assert.equal(await shown("jobs.running"), String(stats.jobs.running));
  assert.equal(await shown("jobs.retained"), String(stats.jobs.retained));
  // The per-second series holds whole seconds only: the jobs above show once their second has passed (the
  // next stats message, one a second).
  await waitFor(async () => (await shown("last60.succeeded")) === "3", "3 succeeded in the last minute", 3000);
  assert.equal(await shown("version"), stats.version);
  assert.equal(await shown("store"), stats.store);
  assert.match(stats.store, /^sqlite:/);
  assert.match(await shown("store.commits"), /^[\d,]+, \d+\.\d operations in [\d.]+ ms each on average; [\d,]+ pending, 0 failed$/);
  assert.ok(stats.pools.length >= 3, "threads, built-in workers and commands");
  for (const pool of stats.pools) {
    assert.equal(await shown(`pool.${pool.name}.capacity`), String(pool.capacity), `${pool.name} capacity`);
    assert.equal(await shown(`pool.${pool.name}.queued`), String(pool.queued), `${pool.name} queued`);
  }
  const connection = page.locator("#connection");
  await waitFor(async () => (await connection.getAttribute("data-state")) === "live", "the live socket");

  // Live: the next stats message (one a second) carries a job submitted now; no reload, no polling.
  await submit(server, { type: "echo", input: {} });
  await waitFor(async () => (await shown("jobs.submitted")) === "4", "the page to show 4 submitted jobs", 3000);
  assert.deepEqual(problems, []);
});

test("a job submitted over HTTP appears in the table and changes state live within a second", async (t) => {
  const server = await serve(t, { config: commands });
  const { page, problems } = await openPage(browser, t, `${server.url}/ui/#/jobs`);
  await page.locator("#connection[data-state=live]").waitFor();
  await page.getByText("No jobs.").waitFor();

  const job = await submit(server, { type: "sleep", input: { ms: 700 } });
  const row = page.locator(`tr[data-job="${job.id}"]`);
  await waitFor(() => row.count(), "the new job's row", 1000);
  await waitFor(async () => (await stateOf(server, job.id)) === "succeeded", "the job to finish", 10_000);
  // Within a second of the API saying so, the row says so: the watch feed batches every 250 ms.
  await waitFor(async () => (await row.locator("[data-state]").getAttribute("data-state")) === "succeeded",
    "the row to show succeeded", 1000);

  // Filtered by state: only matching rows, and a job that times out appears live in the timed-out view.
  await page.selectOption("#filter-state", "timed_out");
  await page.getByText("No jobs.").waitFor();
  const late = await submit(server, { type: "sleep", input: { ms: 5000 }, timeout_ms: 100 });
  await waitFor(() => page.locator(`tr[data-job="${late.id}"] [data-state=timed_out]`).count(), "the timed-out row", 3000);
  assert.equal(await page.locator(`tr[data-job="${job.id}"]`).count(), 0, "the succeeded job is not listed");
  assert.deepEqual(problems, []);
});

test("the detail page streams a command job's output as it runs", async (t) => {
  const server = await serve(t, { config: commands });
  // Five seconds of output: a loaded machine (ASan, -j2) takes two to open the page.
  const job = await submit(server, { type: "ticks", input: { count: 100, pause_us: 50000 } });
  const { page, problems } = await openPage(browser, t, `${server.url}/ui/#/jobs/${job.id}`);
  const output = page.locator("[data-output]");
  await waitFor(async () => (await output.textContent()).includes("tick 3\n"), "the first lines", 5000);
  // Streamed, not read at the end: the job was still running when the lines were on the page.
  assert.equal(await stateOf(server, job.id), "running");
  await waitFor(async () => (await output.textContent()).includes("tick 99\n"), "the last line", 15_000);
  await page.locator(".job-header [data-state=succeeded]").waitFor();
  const text = await output.textContent();
  for (let i = 0; i < 100; i++) assert.ok(text.includes(`tick ${i}\n`), `line ${i} once`);
  assert.equal(text.match(/tick 7\n/g).length, 1, "no line twice");
  assert.match(await page.locator("[data-result]").textContent(), /"exit_code": 0/);
  assert.deepEqual(problems, []);
});

test("the cancel button cancels a running job", async (t) => {
  const server = await serve(t);
  const job = await submit(server, { type: "sleep", input: { ms: 60000 } });
  const { page, problems } = await openPage(browser, t, `${server.url}/ui/#/jobs/${job.id}`);
  await page.locator(".job-header [data-state=running]").waitFor();
  await page.getByRole("button", { name: "Cancel job" }).click();
  await waitFor(async () => (await stateOf(server, job.id)) === "cancelled", "the API to say cancelled", 5000);
  await page.locator(".job-header [data-state=cancelled]").waitFor();
  assert.ok(await page.getByRole("button", { name: "Cancel job" }).isDisabled());
  assert.match(await page.locator("[data-error]").textContent(), /cancelled/);
  assert.deepEqual(problems, []);
});

test("the submit form shows the server's validation message at the field, then submits", async (t) => {
  const server = await serve(t);
  const refused = await call(server, "POST", "/v1/jobs", { type: "primes", input: { limit: -5 } });
  assert.equal(refused.status, 400);
  const message = refused.body.error.message; // "input.limit: …"
  assert.match(message, /^input\.limit: /);

  // The browser reports the refused submission (400) on the console: expected here.
  const { page, problems } = await openPage(browser, t, `${server.url}/ui/#/submit/primes`, { allowed: [/status of 400/] });
  const limit = page.getByLabel("limit");
  await limit.fill("-5");
  await page.getByRole("button", { name: "Submit" }).click();
  const fieldError = page.locator('[data-field="limit"] .field-error');
  await waitFor(async () => (await fieldError.textContent()) !== "", "the field's error", 5000);
  assert.equal(await fieldError.textContent(), message.replace(/^input\.limit: /, ""));
  assert.equal(await limit.getAttribute("aria-invalid"), "true");
  assert.match(page.url(), /#\/submit\/primes$/, "still on the form");

  await limit.fill("1000");
  await page.getByRole("button", { name: "Submit" }).click();
  await page.waitForURL(/#\/jobs\/[0-9a-f]+$/);
  const id = decodeURIComponent(page.url().split("/").pop());
  await page.locator(".job-header [data-state=succeeded]").waitFor();
  const view = (await call(server, "GET", `/v1/jobs/${id}?input=true`)).body;
  assert.deepEqual(view.input, { limit: 1000 });
  assert.equal(view.result.count, 168);

  // Resubmit: the same type and input, as a new job.
  await page.getByRole("button", { name: "Resubmit" }).click();
  await page.waitForURL((url) => !url.hash.endsWith(id));
  const again = decodeURIComponent(page.url().split("/").pop());
  assert.notEqual(again, id);
  assert.deepEqual((await call(server, "GET", `/v1/jobs/${again}?input=true`)).body.input, { limit: 1000 });
  assert.deepEqual(problems, []);
});

test("with a token configured, the page asks for it, refuses a wrong one and works with the right one", async (t) => {
  const token = "dashboard-secret-token";
  const server = await serve(t, { token });
  // The page itself is public (it holds no data); the data is not.
  assert.equal((await call(server, "GET", "/v1/stats")).status, 401);
  assert.equal((await fetch(`${server.url}/ui/app.js`)).status, 200);

  // The browser reports each refused request on the console: those are expected here, nothing else is.
  const { page, problems } = await openPage(browser, t, `${server.url}/ui/`, { allowed: [/status of 401/] });
  await page.locator("[data-unauthorised]").waitFor();
  assert.match(await page.locator("[data-unauthorised]").textContent(), /requires a token/);

  await page.getByLabel("Token").fill("wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText(/refused the token/).waitFor();

  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('[data-stat="jobs.submitted"]').waitFor();
  await page.locator("#connection[data-state=live]").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("offload.token")), token);
  // The WebSocket authenticated too (as a subprotocol): live stats arrive.
  await submit(server, { type: "echo", input: {} }, token);
  await waitFor(async () => (await textOf(page, '[data-stat="jobs.submitted"]'))?.trim() === "1", "live stats", 3000);

  // Forgetting the token locks the page again.
  await page.getByRole("button", { name: "Forget token" }).click();
  await page.locator("[data-unauthorised]").waitFor();
  assert.deepEqual(problems, []);
});

test("the dashboard's files: small, cacheable, under a strict content security policy", async (t) => {
  const server = await serve(t);
  // Cold cache: every byte the first load transfers, and how long it took to show the overview.
  const { page, problems, context } = await openPage(browser, t, "about:blank");
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  let transferred = 0;
  cdp.on("Network.loadingFinished", (e) => (transferred += e.encodedDataLength));
  const started = Date.now();
  await page.goto(`${server.url}/ui/`);
  await page.locator('[data-stat="jobs.submitted"]').waitFor();
  const elapsed = Date.now() - started;
  console.log(`dashboard cold load: ${elapsed} ms to the overview, ${transferred} bytes transferred`);

  const index = await fetch(`${server.url}/ui/`);
  const csp = index.headers.get("content-security-policy");
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await index.text();
  assert.doesNotMatch(html, /<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");

  // Every file the page loads, by name: sizes add up to at most 150 KiB; each revalidates with its ETag.
  const files = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname)
    .filter((p) => p.startsWith("/ui/")));
  let total = html.length;
  for (const path of new Set(files)) {
    const response = await fetch(server.url + path);
    assert.equal(response.status, 200, path);
    const type = response.headers.get("content-type");
    if (path.endsWith(".js")) assert.equal(type, "text/javascript; charset=utf-8", path);
    if (path.endsWith(".css")) assert.equal(type, "text/css; charset=utf-8", path);
    total += (await response.arrayBuffer()).byteLength;
    const etag = response.headers.get("etag");
    assert.equal(response.headers.get("cache-control"), "no-cache");
    assert.equal((await fetch(server.url + path, { headers: { "If-None-Match": etag } })).status, 304, path);
  }
  console.log(`dashboard files: ${total} bytes in ${new Set(files).size + 1} files`);
  assert.ok(total <= 150 * 1024, `${total} bytes`);
  assert.equal((await fetch(`${server.url}/ui/nothing.js`)).status, 404);
  assert.deepEqual(problems, []);
});

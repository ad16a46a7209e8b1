// Debian's Chromium, headless, driven by playwright-core (never a downloaded browser build), and what every
// dashboard test needs around a page: console errors collected, a screenshot saved whatever the outcome.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

import { repo, startServer } from "../../client/node/client/test/support.mjs";

export const chromiumPath = process.env.OFFLOAD_CHROMIUM ?? "/usr/bin/chromium";
/** Where screenshots go: OFFLOAD_UI_ARTIFACTS, else build/tests/ui. */
export const artifacts = process.env.OFFLOAD_UI_ARTIFACTS ?? join(repo, "build/tests/ui");

/** Starts Chromium. The flags keep it off the network (this machine's is closed) and fit running as root. */
export async function launch() {
  mkdirSync(artifacts, { recursive: true });
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

/**
 * Cleanups of a test, run last-registered first when it ends: the page (and its screenshot) goes before the
 * server it shows, so the screenshot is of the page as the test left it.
 */
function cleanups(t) {
  const stack = [];
  t.after(async () => {
    while (stack.length) await stack.pop()();
  });
  return (fn) => stack.push(fn);
}

/** A real offloadd for test `t` (options as `startServer`), stopped when the test ends. */
export async function serve(t, options) {
  const server = await startServer(options);
  cleanup(t)(() => server.stop());
  return server;
}

const registered = new WeakMap();
function cleanup(t) {
  if (!registered.has(t)) registered.set(t, cleanups(t));
  return registered.get(t);
}

/**
 * A fresh context (empty cache and sessionStorage) and page at `url`. `problems` collects console errors and
 * uncaught exceptions; the screenshot is saved when the test ends, passed or failed, and its path printed.
 * `allowed`: console errors a test expects (matched by regular expression), e.g. the 401 a refused token gets.
 */
export async function openPage(browser, t, url, { allowed = [] } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !allowed.some((re) => re.test(m.text()))) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  cleanup(t)(async () => {
    const file = join(artifacts, `${t.name.replace(/[^A-Za-z0-9]+/g, "_").slice(0, 80)}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.log(`screenshot: ${file}`);
    await context.close();
  });
  await page.goto(url);
  return { page, problems, context };
}

/**
 * The text of the first element matching `selector`, or null when there is none within 2 s. The overview is
 * redrawn with each stats message, so an element may be replaced between finding and reading it; Playwright
 * then finds it again.
 */
export function textOf(page, selector) {
  return page.locator(selector).first().textContent({ timeout: 2000 }).catch(() => null);
}

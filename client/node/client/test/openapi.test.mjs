// proto/openapi.yaml is a valid OpenAPI 3.1 document; the answers of a real offloadd match its schemas; and
// this package's types say what proto/schema/*.json and the OpenAPI document say.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import ts from "typescript";
import YAML from "yaml";

import { repo, startServer, streamingConfig } from "./support.mjs";

const specFile = join(repo, "proto/openapi.yaml");
const schemaDir = join(repo, "proto/schema");
const doc = YAML.parse(readFileSync(specFile, "utf8"));
const schemas = Object.fromEntries(
  readdirSync(schemaDir).map((name) => [name, JSON.parse(readFileSync(join(schemaDir, name), "utf8"))]),
);

const base = "offload/v1/openapi.yaml";
const ajv = new Ajv2020.default({ strict: false, validateFormats: false, allErrors: true });
for (const schema of Object.values(schemas)) ajv.addSchema(schema);
ajv.addSchema({ ...doc, $id: base });

const pointer = (...parts) => "#/" + parts.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

// Validates an answer against the schema the document gives for (method, path, status).
function checkAnswer(method, path, status, contentType, body) {
  const operation = doc.paths[path]?.[method.toLowerCase()];
  assert.ok(operation, `${method} ${path} is in the document`);
  let response = operation.responses[String(status)];
  assert.ok(response, `${method} ${path} documents status ${status}`);
  let at = pointer("paths", path, method.toLowerCase(), "responses", String(status));
  if (response.$ref) {
    at = response.$ref;
    response = doc.components.responses[response.$ref.split("/").at(-1)];
  }
  if (!response.content) return;
  const media = contentType.split(";")[0];
  assert.ok(response.content[media], `${method} ${path} ${status} documents ${media}`);
  const validate = ajv.compile({ $ref: base + at + "/" + pointer("content", media, "schema").slice(2) });
  assert.ok(validate(body), `${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 400)}`);
}

describe("the OpenAPI document", () => {
  test("is valid OpenAPI 3.1", async () => {
    const validator = new Validator();
    // As the document refers to them (schema/NAME), and as they refer to each other (NAME).
    for (const [name, schema] of Object.entries(schemas)) {
      await validator.addSpecRef(structuredClone(schema), `schema/${name}`);
      await validator.addSpecRef(structuredClone(schema), name);
    }
    const result = await validator.validate(specFile);
    assert.ok(result.valid, JSON.stringify(result.errors, null, 1));
    assert.equal(validator.version, "3.1");
  });

  test("refers only to schemas that exist", () => {
    const refs = [...readFileSync(specFile, "utf8").matchAll(/\$ref: '?(schema\/[^'\s}]+)/g)].map((m) => m[1]);
    assert.ok(refs.length >= 2);
    for (const ref of refs) assert.ok(schemas[ref.slice("schema/".length)], `${ref} exists in proto/schema`);
  });
});

describe("answers of a real offloadd match the document", () => {
  let server;
  before(async () => {
    // Readiness here must not hang on the machine: a sanitizer build beside a browser test can lag the
    // reactor past the default 100 ms, and /readyz would say 503 overloaded.
    server = await startServer({
      config: streamingConfig(),
      args: ["--threads", "1", "--max-queued", "1", "--max-reactor-lag-ms", "60000"],
    });
  });
  after(async () => server.stop());

  async function call(method, target, body, path) {
    const response = await fetch(server.url + target, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const type = response.headers.get("content-type") ?? "";
    const text = await response.text();
    const parsed = type.startsWith("application/json") && text ? JSON.parse(text) : text;
    checkAnswer(method, path, response.status, type, parsed);
    return { status: response.status, body: parsed, headers: response.headers };
  }

  test("every route and status the suite can provoke", async () => {
    const done = await call("POST", "/v1/jobs?wait=10", { type: "echo", input: { a: [1, "x"] } }, "/v1/jobs");
    assert.equal(done.status, 200);
    const job = done.body;
    assert.equal((await call("GET", `/v1/jobs/${job.id}`, undefined, "/v1/jobs/{id}")).status, 200);
    assert.equal((await call("GET", "/v1/jobs?limit=2", undefined, "/v1/jobs")).status, 200);
    assert.equal((await call("GET", "/v1/jobs?results=true&order=newest", undefined, "/v1/jobs")).status, 200);
    assert.equal((await call("GET", "/v1/jobs?limit=0", undefined, "/v1/jobs")).status, 400);
    assert.equal((await call("GET", "/v1/jobs/00000000000000000000dead", undefined, "/v1/jobs/{id}")).status, 404);
    assert.equal((await call("DELETE", `/v1/jobs/${job.id}`, undefined, "/v1/jobs/{id}")).status, 409);
    assert.equal((await call("POST", "/v1/jobs", "{not json", "/v1/jobs")).status, 400);
    assert.equal((await call("POST", "/v1/jobs", { type: "nope" }, "/v1/jobs")).status, 400);
    assert.equal((await call("POST", "/v1/jobs", { type: "echo", extra: 1 }, "/v1/jobs")).status, 400);
    const keyed = { type: "echo", idempotency_key: "k-1" };
    await call("POST", "/v1/jobs", keyed, "/v1/jobs");
    assert.equal((await call("POST", "/v1/jobs", { ...keyed, input: { b: 1 } }, "/v1/jobs")).status, 409);
    // A failed job, a running one, a cancelled one, a full queue.
    const failed = await call("POST", "/v1/jobs?wait=10", { type: "sum", input: { n: -1 } }, "/v1/jobs");
    const running = await call("POST", "/v1/jobs", { type: "sleep", input: { ms: 60000 } }, "/v1/jobs");
    assert.equal(running.status, 202);
    for (let i = 0; i < 50; ++i) {
      if ((await call("GET", `/v1/jobs/${running.body.id}`, undefined, "/v1/jobs/{id}")).body.state === "running") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const queued = await call("POST", "/v1/jobs", { type: "sleep", input: { ms: 60000 } }, "/v1/jobs");
    const full = await call("POST", "/v1/jobs", { type: "sleep", input: { ms: 1 } }, "/v1/jobs");
    assert.equal(full.status, 429);
    assert.match(full.headers.get("retry-after"), /^\d+$/);
    assert.equal((await call("DELETE", `/v1/jobs/${queued.body.id}`, undefined, "/v1/jobs/{id}")).status, 200);
    assert.equal((await call("DELETE", `/v1/jobs/${running.body.id}`, undefined, "/v1/jobs/{id}")).status, 200);
    assert.equal((await call("GET", `/v1/jobs?state=failed&results=true`, undefined, "/v1/jobs")).body.jobs.length >= (failed.body.state === "failed" ? 1 : 0), true);
    assert.equal((await call("GET", "/v1/types", undefined, "/v1/types")).status, 200);
    const withInput = await call("GET", `/v1/jobs/${job.id}?input=true`, undefined, "/v1/jobs/{id}");
    assert.deepEqual(withInput.body.input, { a: [1, "x"] });
    assert.equal((await call("GET", `/v1/jobs/${job.id}?input=yes`, undefined, "/v1/jobs/{id}")).status, 400);
    const stats = await call("GET", "/v1/stats", undefined, "/v1/stats");
    assert.equal(stats.status, 200);
    assert.ok(stats.body.jobs.submitted >= 4, JSON.stringify(stats.body.jobs));
    const root = await fetch(server.url + "/", { redirect: "manual" });
    checkAnswer("GET", "/", root.status, root.headers.get("content-type"), await root.text());
    assert.equal(root.headers.get("location"), "/ui/");
    assert.equal((await call("GET", "/ui/", undefined, "/ui/")).status, 200);
    assert.equal((await call("GET", "/ui/app.js", undefined, "/ui/{file}")).status, 200);
    assert.equal((await call("GET", "/ui/nope.js", undefined, "/ui/{file}")).status, 404);
    assert.equal((await call("GET", "/healthz", undefined, "/healthz")).status, 200);
    assert.equal((await call("GET", "/readyz", undefined, "/readyz")).status, 200);
    assert.equal((await call("GET", "/metrics", undefined, "/metrics")).status, 200);
    assert.equal((await call("GET", `/v1/jobs/${job.id}/events`, undefined, "/v1/jobs/{id}/events")).status, 426);
    assert.equal((await call("GET", "/v1/ws", undefined, "/v1/ws")).status, 426);
    const yaml = await call("GET", "/v1/openapi.yaml", undefined, "/v1/openapi.yaml");
    assert.equal(yaml.body, readFileSync(specFile, "utf8"));
    const etag = yaml.headers.get("etag");
    const again = await fetch(server.url + "/v1/openapi.yaml", { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    for (const name of Object.keys(schemas)) {
      const answer = await call("GET", `/v1/schema/${name}`, undefined, "/v1/schema/{name}");
      assert.deepEqual(answer.body, schemas[name]);
    }
    assert.equal((await call("GET", "/v1/schema/nope.json", undefined, "/v1/schema/{name}")).status, 404);
  });

  test("an SQLite server's statistics match too, its store's commits with them", async () => {
    const durable = await startServer({ sqlite: true });
    try {
      const done = await fetch(durable.url + "/v1/jobs?wait=10", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "echo", input: {} }),
      });
      assert.equal(done.status, 200);
      const response = await fetch(durable.url + "/v1/stats");
      const stats = await response.json();
      checkAnswer("GET", "/v1/stats", response.status, response.headers.get("content-type"), stats);
      assert.match(stats.store, /^sqlite:/);
      // The job's submission and its end, each committed before the answer that needed it.
      assert.ok(stats.store_commits.commits >= 2, JSON.stringify(stats.store_commits));
      assert.equal(stats.store_commits.failures, 0);
    } finally {
      await durable.stop();
    }
  });

  test("with a token, 401 answers match too", async () => {
    const locked = await startServer({ token: "t" });
    try {
      const response = await fetch(locked.url + "/v1/types");
      assert.equal(response.status, 401);
      checkAnswer("GET", "/v1/types", 401, response.headers.get("content-type"), await response.json());
    } finally {
      await locked.stop();
    }
  });
});

describe("the package's types say what the schemas say", () => {
  const source = ts.createSourceFile("types.ts", readFileSync(new URL("../src/types.ts", import.meta.url), "utf8"), ts.ScriptTarget.ES2022, true);
  const members = (name) => {
    const node = source.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === name);
    assert.ok(node, `interface ${name}`);
    return Object.fromEntries(node.members.map((m) => [m.name.text, { optional: !!m.questionToken }]));
  };
  const properties = (schema) => {
    const all = { ...(schema.properties ?? {}) };
    for (const part of schema.allOf ?? []) Object.assign(all, part.then?.properties ?? {});
    return all;
  };
  // Interface `name` has the schema's members, optional exactly where the schema does not require them.
  const sameMembers = (name, schema) => {
    const ours = members(name);
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(schema.properties).sort());
    for (const [member, { optional }] of Object.entries(ours))
      assert.equal(optional, !schema.required.includes(member), `${member} optional`);
  };

  test("JobView: the same members, optional exactly where the schema does not require them", () => {
    sameMembers("JobView", schemas["job_view.schema.json"]);
  });

  test("JobEvent: every field of every event type", () => {
    const schema = schemas["job_event.schema.json"];
    assert.deepEqual(Object.keys(members("JobEvent")).sort(), Object.keys(properties(schema)).sort());
    assert.deepEqual(
      source.statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === "JobEventType").type.types.map((t) => t.literal.text).sort(),
      [...schema.properties.type.enum].sort(),
    );
  });

  test("Stats: the same members, optional exactly where the schema does not require them", () => {
    sameMembers("Stats", schemas["stats.schema.json"]);
  });

  test("JobSpec: the submission body of the OpenAPI document", () => {
    sameMembers("JobSpec", doc.components.schemas.JobSpec);
  });
});

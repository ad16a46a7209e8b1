#!/usr/bin/env node
// The bench's Node worker: echoes its input (the per-job overhead of a warm SDK worker).
import { handler, run } from "../../client/node/worker/offload-worker.mjs";

handler("node_echo", (input) => input);

await run();

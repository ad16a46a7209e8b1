#!/usr/bin/env python3
"""An Offload worker in Python: counts words, reporting progress; `crash` kills its own process (to show
that a worker dying only costs its job); `fail` raises a JobError."""

import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from offload_worker import JobError, handler, run  # noqa: E402


@handler("word_count")
def word_count(input, ctx):
    text = input.get("text", "")
    lines = text.splitlines() or [""]
    words = 0
    for i, line in enumerate(lines):
        words += len(line.split())
        ctx.progress((i + 1) / len(lines), "line %d of %d" % (i + 1, len(lines)))
    ctx.output("counted %d words\n" % words)
    return {"words": words, "lines": len(lines), "pid": os.getpid()}


@handler("py_fail")
def py_fail(input, ctx):
    raise JobError(input.get("code", "bad_input"), input.get("message", "failed on purpose"))


@handler("py_crash")
def py_crash(input, ctx):
    os.kill(os.getpid(), signal.SIGKILL)


@handler("py_unsendable")
def py_unsendable(input, ctx):
    # A result that cannot be sent: a set is not JSON, a lone surrogate is not UTF-8, 17 MiB is more than a
    # line may hold. The job fails.
    kind = input.get("kind")
    if kind == "set":
        return {"set": {1}}
    return {"text": "x" * (17 << 20)} if kind == "huge" else {"text": "\ud800"}


@handler("py_sleep")
def py_sleep(input, ctx):
    import time

    time.sleep(float(input.get("seconds", 60)))
    return {"slept": input.get("seconds", 60)}


if __name__ == "__main__":
    run()

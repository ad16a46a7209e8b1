#!/usr/bin/env python3
"""A worker built on the Python SDK that misbehaves on request, for the fault tests of user worker pools."""

import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "client", "python"))

from offload_worker import handler, run  # noqa: E402


@handler("ignore_term")
def ignore_term(input, ctx):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ctx.progress(0.1, "ignoring SIGTERM")
    while True:
        signal.pause()  # hangs until killed: SIGTERM is ignored, only the group's SIGKILL ends it


@handler("leak_grandchild")
def leak_grandchild(input, ctx):
    child = subprocess.Popen(["/bin/sleep", "600"])
    with open(input["pidfile"], "w") as f:
        f.write(str(child.pid))
    return {"grandchild": child.pid}


@handler("escape_grandchild")
def escape_grandchild(input, ctx):
    # A new session: out of the worker's process group, so only its cgroup can take it down.
    child = subprocess.Popen(["/bin/sleep", "600"], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(input["pidfile"], "w") as f:
        f.write(str(child.pid))
    return {"grandchild": child.pid}


@handler("whoami")
def whoami(input, ctx):
    return {"pid": os.getpid()}


@handler("complain")
def complain(input, ctx):
    sys.stderr.write("something is off with " + str(input.get("what", "?")) + "\n")
    sys.stderr.flush()
    return {}


@handler("worker_hog")
def worker_hog(input, ctx):
    data = b"x" * (int(input["mib"]) << 20)  # written, so resident
    return {"bytes": len(data)}


@handler("flood_stderr")
def flood_stderr(input, ctx):
    chunk = "e" * 65536 + "\n"
    for _ in range(int(input.get("mib", 8)) * 16):
        sys.stderr.write(chunk)
    sys.stderr.flush()
    return {"flooded": True}


@handler("flood_stdout")
def flood_stdout(input, ctx):
    # No newline: a line longer than the protocol allows.
    out = sys.__stdout__.buffer
    chunk = b"x" * (1 << 20)
    for _ in range(int(input.get("mib", 20))):
        out.write(chunk)
    out.flush()
    return {}


@handler("garbage")
def garbage(input, ctx):
    sys.__stdout__.buffer.write(b"this is not JSON\n")
    sys.__stdout__.buffer.flush()
    return {}


if __name__ == "__main__":
    # FIRST_MARKER=PATH: the first worker started creates PATH; every later one finds it and then, with
    # LATER=hang, never says `ready` (a replacement that cannot start), or with LATER=disagree leaves
    # `whoami` out of its ready line (a replacement that disagrees with the config).
    marker = os.environ.get("FIRST_MARKER")
    if marker:
        if not os.path.exists(marker):
            open(marker, "w").close()
        elif os.environ.get("LATER") == "hang":
            signal.pause()
        else:
            import offload_worker

            offload_worker._handlers.pop("whoami", None)
    run()

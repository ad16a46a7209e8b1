"""Offload worker SDK for Python (standard library only).

A worker is a long-lived process that offloadd starts from the `workers` section of its config. It runs
one job at a time: offloadd writes a request line on stdin, the worker answers with event lines on
stdout (see PROTOCOL.md, "Worker protocol"). This module speaks that protocol; a worker is a few lines:

    from offload_worker import handler, run

    @handler("thumbnail")
    def thumbnail(input, ctx):
        ctx.progress(0.5, "decoded")
        ctx.output("resized\\n")
        return {"width": input["width"] // 2}

    run()

A handler returns a JSON-serialisable result, or raises: `JobError("code", "message")` fails the job with
that code (shown as `handler_error` with the code in the message unless it is one of the service's own),
any other exception fails it with `handler_error` and the exception's text. Anything the handler prints
with `print()` goes to stderr, which offloadd copies to its log: stdout belongs to the protocol.
"""

import json
import sys
import traceback

PROTOCOL_VERSION = 1
# The longest line offloadd accepts (16 MiB); a larger result fails the job here, not the worker.
MAX_LINE_BYTES = 16 * 1024 * 1024

__all__ = ["handler", "run", "JobError", "Context", "PROTOCOL_VERSION"]

_handlers = {}


class JobError(Exception):
    """Fails the job with an error code and a message."""

    def __init__(self, code, message=""):
        super().__init__(message)
        self.code = code
        self.message = message


class Context:
    """Given to a handler for one job: report progress and output while it runs."""

    def __init__(self, out):
        self._out = out

    def progress(self, fraction, note=""):
        """Reports progress: `fraction` from 0 to 1 and a short note."""
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("progress fraction must be from 0 to 1")
        self._out({"event": "progress", "fraction": fraction, "note": str(note)})

    def output(self, data):
        """Emits a chunk of output (text, or bytes decoded as UTF-8 with replacement)."""
        if isinstance(data, (bytes, bytearray)):
            data = bytes(data).decode("utf-8", errors="replace")
        self._out({"event": "output", "data": str(data)})


def handler(name):
    """Registers the decorated function as the handler of job type `name`."""

    def register(fn):
        if name in _handlers:
            raise ValueError("a handler for %r is already registered" % name)
        _handlers[name] = fn
        return fn

    return register


def run(handlers=None, stdin=None, stdout=None):
    """Serves jobs until offloadd closes stdin. `handlers` (a dict of name -> function) adds to the ones
    registered with @handler."""
    table = dict(_handlers)
    table.update(handlers or {})
    source = stdin or sys.stdin.buffer
    sink = stdout or sys.stdout.buffer
    # print() in a handler must not corrupt the protocol: send it to stderr.
    real_stdout = sys.stdout
    sys.stdout = sys.stderr

    def write(line):
        if len(line) > MAX_LINE_BYTES:
            line = _error("handler_error", "the result is larger than the 16 MiB line limit")
        sink.write(line)
        sink.flush()

    def send(event):
        write(_encode(event))

    try:
        send({"event": "ready", "protocol": PROTOCOL_VERSION, "types": sorted(table)})
        for raw in source:
            write(_serve_one(raw, table, send))
    finally:
        sys.stdout = real_stdout


def _encode(event):
    """The line of an event."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _error(code, message):
    return _encode({"event": "error", "error": {"code": code, "message": message}})


def _serve_one(raw, table, send):
    """Serves one request line; the line of the event that ends it. The result is serialised once, into that
    line (a result that cannot be fails the job)."""
    try:
        request = json.loads(raw)
        name = request["type"]
        payload = request["input"]
    except (ValueError, KeyError, TypeError) as e:
        return _error("protocol_error", "bad request line: %s" % e)
    fn = table.get(name)
    if fn is None:
        return _error("unknown_type", "no handler for %r" % name)
    try:
        result = fn(payload, Context(send))
        return _encode({"event": "result", "result": result})
    except JobError as e:
        return _error(str(e.code), str(e.message))
    except Exception as e:  # the job fails; the worker lives on
        traceback.print_exc(file=sys.stderr)
        return _error("handler_error", "%s: %s" % (type(e).__name__, e))

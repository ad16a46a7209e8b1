#!/usr/bin/env python3
"""The bench's Python worker: echoes its input (the per-job overhead of a warm SDK worker)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "client", "python"))
from offload_worker import handler, run  # noqa: E402


@handler("py_echo")
def py_echo(input, ctx):
    return input


run()

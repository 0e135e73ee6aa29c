"""The warm worker's messages and call targets.

One JSON object per line each way over a Unix socket. A client sends a job, ``{"target",
"kwargs", "log", "cwd"}`` with an optional ``"warm": {"target", "kwargs"}`` (a call the server
makes in its own process before it forks the job), or a stop, ``{"stop": true, "now": bool}``.
The server answers a job with ``{"accepted": true, "pid", "server"}`` once it has forked (or
``{"accepted": false, "error"}``), then ``{"status": exit code}`` when the child has ended; it
answers a stop with ``{"stopping": true, "server"}``.

A target names a function as ``"module:function"`` (``"module:Class.method"`` works too).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import IO, Any


def encode(message: dict[str, Any]) -> bytes:
    """One message as the line that goes over the socket (:class:`TypeError` if not JSON-serialisable)."""
    return (json.dumps(message) + "\n").encode()


def decode(line: bytes) -> dict[str, Any] | None:
    """The message of one received line; ``None`` if it is not a JSON object."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next message of ``stream``; ``None`` if the peer closed it first."""
    line = stream.readline()
    return json.loads(line) if line.endswith(b"\n") else None


def split_target(target: str) -> tuple[str, str]:
    """``(module, name)`` of a ``"module:function"`` target (:class:`ValueError` if malformed)."""
    module, sep, name = target.partition(":")
    if not (module and sep and name):
        raise ValueError(f"target {target!r} is not of the form 'module:function'")
    return module, name


def resolve(target: str) -> Callable[..., Any]:
    """The function a target names (importing its module)."""
    module, name = split_target(target)
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def job_request(
    target: str,
    kwargs: dict[str, Any],
    log: str | None,
    cwd: str,
    warm: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The request of a job; checks the targets' form (:class:`ValueError`)."""
    split_target(target)
    request: dict[str, Any] = {"target": target, "kwargs": kwargs, "log": log, "cwd": cwd}
    if warm is not None:
        warm_target, warm_kwargs = warm
        split_target(warm_target)
        request["warm"] = {"target": warm_target, "kwargs": dict(warm_kwargs)}
    return request

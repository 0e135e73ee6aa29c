"""The command line ``python -m mtrl.worker serve|stop``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from mtrl.worker.client import stop
from mtrl.worker.server import serve

DESCRIPTION = "Warm worker: run jobs in forks of a process that has already imported Keras."


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mtrl.worker serve ...`` (started by :func:`mtrl.worker.run`) or ``stop [--now]``."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        serve(Path(args.socket), args.backend, args.threads, args.preload, args.fingerprint)
    else:
        for pid in stop(now=args.now):
            print(f"stopping server {pid}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mtrl.worker", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run a server (normally started by mtrl.worker.run)")
    p.add_argument("--socket", required=True)
    p.add_argument("--key", help="the server key (informative)")
    p.add_argument("--backend", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--fingerprint", help="exit unless the mtrl sources still have this fingerprint")
    p.add_argument("--preload", nargs="*", default=[], help="modules to import before serving")
    p = sub.add_parser("stop", help="stop this user's servers (in $MTRL_WORKER_DIR)")
    p.add_argument("--now", action="store_true", help="kill running jobs instead of letting them end")
    return parser

"""``python -m mtrl.worker``: :func:`mtrl.worker.cli.main`.

Python runs this file as ``__main__``, but only after importing the package ``mtrl.worker`` under
its own name; the server's code and state live in the package's modules, so a forked job that
imports ``mtrl.worker`` (or a module its request's warm-up filled) sees the server's copy, not a
second one. Keep this file free of state.
"""

import sys

from mtrl.worker.cli import main

if __name__ == "__main__":
    sys.exit(main())

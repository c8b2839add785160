"""Run a benchmark on a frozen copy of the project's source.

The checkout may change while a long run is going (other work in the same tree): the app servers
would then import new models against a database migrated for the old ones. Imported first by the
scripts of the tickets benchmark, this module copies ``src/kerops`` to a temporary directory and
restarts the script with that copy first on ``PYTHONPATH`` (inherited by the servers it starts),
so the preflight, the migrations and both servers all use the source as it was at the start.
Set ``KEROPS_BENCH_LIVE_SOURCE=1`` to run on the live tree instead.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ENV = "KEROPS_BENCH_SOURCE"
OWNER_ENV = "KEROPS_BENCH_SOURCE_OWNER"


def freeze() -> None:
    """Copy the source and re-execute the script on the copy (once)."""
    if os.environ.get("KEROPS_BENCH_LIVE_SOURCE"):
        return
    frozen = os.environ.get(SOURCE_ENV)
    if frozen:
        if os.environ.get(OWNER_ENV) == str(os.getpid()):
            atexit.register(shutil.rmtree, frozen, True)
        return
    target = Path(tempfile.mkdtemp(prefix="kerops-bench-src-"))
    shutil.copytree(
        ROOT / "src" / "kerops",
        target / "kerops",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    env = dict(os.environ)
    env[SOURCE_ENV] = str(target)
    env[OWNER_ENV] = str(os.getpid())  # exec keeps the process id
    paths = (str(target), str(ROOT / "bench"), env.get("PYTHONPATH"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    print(f"running on a copy of the source: {target}", flush=True)
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


freeze()

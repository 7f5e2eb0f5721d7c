"""Running the `arco-flow` command as a separate process, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

COMMAND = [sys.executable, "-m", "arco_flow.cli.main"]


def _env(home: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    return {
        **os.environ,
        "ARCO_HOME": str(home),
        "COLUMNS": "200",
        "NO_COLOR": "1",
        **(env or {}),
    }


def run_arco(
    home: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Runs `arco-flow ARGS` against the store in `home` and waits for it."""
    return subprocess.run(
        [*COMMAND, *args],
        env=_env(home, env),
        input=stdin,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def start_arco(
    home: Path, *args: str, env: Mapping[str, str] | None = None, **popen: Any
) -> subprocess.Popen[str]:
    """Starts `arco-flow ARGS` against the store in `home`, without waiting."""
    return subprocess.Popen(
        [*COMMAND, *args],
        env=_env(home, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 60) -> None:
    """Waits until `path` exists; fails if `process` ends first or time runs out."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the command ended early: {process.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} never appeared")
        time.sleep(0.02)

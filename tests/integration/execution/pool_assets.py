"""Assets for the process-pool tests; worker processes import this module by name.

Values go through a FilesystemIOManager whose folder comes from the run config
(``resources.io_manager.config.base_dir``), so every test stores them under its tmp_path.
Each asset records the pid of the worker that ran it as ``pid`` metadata.
"""

from __future__ import annotations

import contextlib
import os
import time

import arco_flow as af

MODULE = __name__


class SleepConfig(af.Config):
    seconds: float = 0.0


def _with_pid(value: object) -> af.Output[object]:
    return af.Output(value, metadata={"pid": os.getpid()})


class MeetConfig(af.Config):
    """A folder where `left` and `right` wait for each other, so that they overlap."""

    folder: str = ""


def _meet(folder: str, me: str, other: str) -> None:
    if not folder:
        return
    with open(os.path.join(folder, me), "w"):
        pass
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(folder, other)) and time.monotonic() < deadline:
        time.sleep(0.005)


@af.asset
def left(config: MeetConfig) -> af.Output[object]:
    _meet(config.folder, "left", "right")
    return _with_pid(1)


@af.asset
def right(config: MeetConfig) -> af.Output[object]:
    _meet(config.folder, "right", "left")
    return _with_pid(2)


@af.asset
def joined(left, right):
    return _with_pid(left * 10 + right)


def _solo(index: int) -> af.AssetsDefinition:
    @af.asset(name=f"solo_{index}")
    def _body():
        return _with_pid(index)

    return _body


SOLOS = [_solo(index) for index in range(6)]


@af.asset
def broken():
    raise ValueError("broken on purpose")


@af.asset
def after_broken(broken):
    return _with_pid(broken)


@af.asset
def unrelated():
    return _with_pid("fine")


@af.asset
def crashes():
    os._exit(1)


@af.asset
def sleepy(config: SleepConfig) -> af.Output[object]:
    time.sleep(config.seconds)
    return _with_pid(config.seconds)


@af.asset
def stubborn(config: SleepConfig) -> af.Output[object]:
    """Swallows the cancel and keeps sleeping: only a kill stops it."""
    deadline = time.monotonic() + config.seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(BaseException):  # deliberately ignores the cancel
            time.sleep(max(0.0, deadline - time.monotonic()))
    return _with_pid(config.seconds)


class Tracker(af.ConfigurableResource):
    """Leaves a file named after its worker's pid in `folder` when it is torn down."""

    folder: str = ""

    def teardown_after_execution(self, context: af.InitResourceContext) -> None:
        if self.folder:
            with open(os.path.join(self.folder, f"teardown-{os.getpid()}"), "w"):
                pass


@af.asset
def tracked(tracker: Tracker) -> af.Output[object]:
    return _with_pid(tracker.folder)


ASSETS = [
    left,
    right,
    joined,
    *SOLOS,
    broken,
    after_broken,
    unrelated,
    crashes,
    sleepy,
    stubborn,
    tracked,
]

defs = af.Definitions(
    assets=ASSETS,
    resources={
        "io_manager": af.FilesystemIOManager.configure_at_launch(),
        "tracker": Tracker.configure_at_launch(),
    },
)

memory_defs = af.Definitions(
    assets=[left, right, joined],
    resources={"io_manager": af.InMemoryIOManager()},
)

"""`RoutingDispatcher`: some nodes' attempts run here, the rest on another dispatcher."""

from __future__ import annotations

from arco_flow.core.keys import AssetKey
from arco_flow.core.messages import TaskOutcome, TaskRequest
from arco_flow.execution.dispatcher import RoutingDispatcher


class FakeDispatcher:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.submitted: list[str] = []
        self.done: list[TaskOutcome] = []
        self.calls: list[str] = []

    def submit(self, request: TaskRequest) -> None:
        self.submitted.append(request.node)
        self.done.append(TaskOutcome(request=request, succeeded=True))

    def wait(self, timeout: float | None) -> list[TaskOutcome]:
        done, self.done = self.done, []
        return done

    def cancel(self, run_id: str, *, grace_s: float | None = None) -> None:
        self.calls.append(f"cancel {run_id}")

    def end_run(self, run_id: str) -> None:
        self.calls.append(f"end {run_id}")

    def close(self) -> None:
        self.calls.append("close")


def request(node: str) -> TaskRequest:
    return TaskRequest(run_id="r", task_id=node, attempt=1, node=node, asset_keys=(AssetKey("a"),))


def test_routes_by_node_and_returns_local_outcomes_first():
    pool, local = FakeDispatcher(4), FakeDispatcher(1)
    routing = RoutingDispatcher(pool, local, frozenset({"fresh"}))
    assert routing.capacity == 4
    routing.submit(request("orders"))
    routing.submit(request("fresh"))
    assert (pool.submitted, local.submitted) == (["orders"], ["fresh"])
    assert [o.request.node for o in routing.wait(1.0)] == ["fresh"]
    assert [o.request.node for o in routing.wait(1.0)] == ["orders"]


def test_cancel_end_and_close_reach_both_dispatchers():
    pool, local = FakeDispatcher(4), FakeDispatcher(1)
    routing = RoutingDispatcher(pool, local, frozenset())
    routing.cancel("r")
    routing.end_run("r")
    routing.close()
    assert pool.calls == local.calls == ["cancel r", "end r", "close"]

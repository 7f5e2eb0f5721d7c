"""The daemon lease: which daemon owns a store, so two never tick the same schedules.

The lease is the ``daemon:<lease_name>`` stream: a daemon appends `DaemonLeaseAcquired`
(host, pid, ttl), then a `DaemonHeartbeat` every third of the ttl, and
`DaemonLeaseReleased` when it stops cleanly. The lease is fresh while its last heartbeat
is younger than the ttl; on the holder's own host it is stale at once when the holder's
process is gone (so a daemon restarted after a crash need not wait). A daemon refuses to
start while another holds a fresh lease and takes a stale one over, saying so.

Two daemons racing for the lease collapse into one: an acquisition's idempotency key is
the stream position it was made at, so the second append returns the first's record.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from arco_flow.core.errors import ArcoError
from arco_flow.core.events import (
    DaemonHeartbeat,
    DaemonLeaseAcquired,
    DaemonLeaseReleased,
    NewEvent,
    idempotency_key,
)
from arco_flow.execution.run_operations import coordinator_is_alive
from arco_flow.storage.instance import ArcoInstance

__all__ = ["DEFAULT_LEASE_TTL_S", "DaemonLease", "LeaseHeldError", "LeaseHolder"]

DEFAULT_LEASE_TTL_S = 60.0
"""A lease whose holder has not beaten for this long may be taken by another daemon."""

_LOG = logging.getLogger("arco_flow.daemon")


class LeaseHeldError(ArcoError):
    """Another live daemon owns the store."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaseHolder:
    """The daemon that holds the lease, as the stream says."""

    daemon_id: str
    host: str
    pid: int
    ttl_s: float
    heartbeat_time: float
    """When it last acquired or beat (POSIX seconds, the store's clock)."""


class DaemonLease:
    """This daemon's hold on a store.

    Args:
        instance: The store.
        ttl_s: How long a silent holder keeps the lease.
        clock: The current time (POSIX seconds), compared with heartbeat times.
        lease_name: One lease per name; the default covers the whole store.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        *,
        ttl_s: float = DEFAULT_LEASE_TTL_S,
        clock: Callable[[], float] = time.time,
        lease_name: str = "default",
    ) -> None:
        self._instance, self._ttl, self._clock, self._name = instance, ttl_s, clock, lease_name
        self.daemon_id = uuid.uuid4().hex
        self._beats = itertools.count(1)
        self._folded: tuple[LeaseHolder | None, int] = (None, 0)
        """The holder as of a stream position: `_read` goes on from there."""

    @property
    def heartbeat_interval_s(self) -> float:
        """How often the holder should call `heartbeat`."""
        return self._ttl / 3

    def _read(self) -> tuple[LeaseHolder | None, int]:
        """The holder and the stream position, folding only what the stream added.

        The stream grows by a heartbeat every `heartbeat_interval_s` for as long as the
        store lives: each call reads the records after the last one folded, never the
        whole stream again.
        """
        holder, sequence = self._folded
        stream = f"daemon:{self._name}"
        for record in self._instance.read_stream(stream, after_sequence=sequence):
            sequence = record.stream_sequence
            event = record.event
            if isinstance(event, DaemonLeaseAcquired):
                holder = LeaseHolder(
                    daemon_id=event.daemon_id,
                    host=event.host,
                    pid=event.pid,
                    ttl_s=event.ttl_s,
                    heartbeat_time=record.timestamp,
                )
            elif (
                not isinstance(event, DaemonHeartbeat | DaemonLeaseReleased)
                or holder is None
                or holder.daemon_id != event.daemon_id
            ):
                continue
            elif isinstance(event, DaemonHeartbeat):
                holder = replace(holder, heartbeat_time=record.timestamp)
            else:
                holder = None
        self._folded = (holder, sequence)
        return holder, sequence

    def holder(self) -> LeaseHolder | None:
        """The daemon holding the lease, fresh or not; None when nobody does."""
        return self._read()[0]

    def is_fresh(self, holder: LeaseHolder) -> bool:
        """Whether `holder` still owns the store."""
        on_this_host = holder.host == socket.gethostname() and holder.pid != os.getpid()
        if on_this_host and not coordinator_is_alive({"host": holder.host, "pid": holder.pid}):
            return False  # its process is gone: no need to wait for the ttl
        return self._clock() - holder.heartbeat_time <= holder.ttl_s

    def acquire(self) -> None:
        """Takes the lease, or a stale one over.

        Raises:
            LeaseHeldError: another daemon holds a fresh lease (or won a race for it).
        """
        holder, sequence = self._read()
        if holder is not None and holder.daemon_id != self.daemon_id and self.is_fresh(holder):
            raise LeaseHeldError(_held_message(holder, self._clock()))
        stolen = holder.daemon_id if holder is not None else None
        if holder is not None:
            _LOG.warning(
                "taking over the stale daemon lease of %s (pid %s on %s, last heartbeat %.0f s "
                "ago)",
                holder.daemon_id,
                holder.pid,
                holder.host,
                self._clock() - holder.heartbeat_time,
            )
        event = DaemonLeaseAcquired(
            lease_name=self._name,
            daemon_id=self.daemon_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            ttl_s=self._ttl,
            stolen_from=stolen,
        )
        [record] = self._instance.append(
            [NewEvent(event=event, idempotency_key=idempotency_key(event, sequence))]
        )
        if record.event != event:
            winner = self.holder()
            assert winner is not None  # the record that won is an acquisition
            raise LeaseHeldError(_held_message(winner, self._clock()))

    def heartbeat(self) -> None:
        """Says this daemon is alive.

        Raises:
            LeaseHeldError: another daemon took the lease over (this one looked dead).
        """
        holder = self.holder()
        if holder is None or holder.daemon_id != self.daemon_id:
            raise LeaseHeldError(
                "this daemon lost its lease to "
                f"{_describe(holder) if holder else 'nobody (it was released)'}; it stops so "
                "that two daemons never tick the same schedules"
            )
        event = DaemonHeartbeat(lease_name=self._name, daemon_id=self.daemon_id)
        key = idempotency_key(event, next(self._beats))
        self._instance.append([NewEvent(event=event, idempotency_key=key)])

    def release(self) -> None:
        """Gives the lease up (when this daemon holds it)."""
        holder = self.holder()
        if holder is None or holder.daemon_id != self.daemon_id:
            return
        event = DaemonLeaseReleased(lease_name=self._name, daemon_id=self.daemon_id)
        self._instance.append([NewEvent(event=event, idempotency_key=idempotency_key(event))])


def _describe(holder: LeaseHolder) -> str:
    return f"daemon {holder.daemon_id} (pid {holder.pid} on {holder.host})"


def _held_message(holder: LeaseHolder, now: float) -> str:
    age = now - holder.heartbeat_time
    return (
        f"{_describe(holder)} owns this store (last heartbeat {age:.0f} s ago, lease "
        f"{holder.ttl_s:.0f} s); stop it first, or wait until its lease is stale"
    )

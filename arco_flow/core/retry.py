"""Retry policies and the delay before each retry.

Pure. Randomness for jitter comes in as a number in [0, 1) from the caller, so the
same inputs always give the same delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from arco_flow.core.errors import DefinitionError

__all__ = ["Backoff", "Jitter", "RetryPolicy", "retry_delay"]


class Backoff(Enum):
    """How the delay grows between attempts (Dagster's names)."""

    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


class Jitter(Enum):
    """How randomness is applied to the delay (Dagster's names)."""

    FULL = "FULL"
    PLUS_MINUS = "PLUS_MINUS"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times a failed task is retried, and after how long.

    Args:
        max_retries: retries after the first attempt (so ``max_retries + 1`` attempts).
        delay: seconds before the first retry.
        backoff: how the delay grows with each retry.
        jitter: randomness applied to the delay.
    """

    max_retries: int = 1
    delay: float | None = None
    backoff: Backoff | None = None
    jitter: Jitter | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise DefinitionError(
                f"RetryPolicy(max_retries={self.max_retries!r}) must be a whole number >= 0"
            )
        if self.delay is not None and (not isinstance(self.delay, int | float) or self.delay < 0):
            raise DefinitionError(f"RetryPolicy(delay={self.delay!r}) must be seconds >= 0")
        if self.backoff is not None and not isinstance(self.backoff, Backoff):
            raise DefinitionError(
                f"RetryPolicy(backoff={self.backoff!r}) must be Backoff.LINEAR or "
                "Backoff.EXPONENTIAL"
            )
        if self.jitter is not None and not isinstance(self.jitter, Jitter):
            raise DefinitionError(
                f"RetryPolicy(jitter={self.jitter!r}) must be Jitter.FULL or Jitter.PLUS_MINUS"
            )
        if (self.backoff or self.jitter) and self.delay is None:
            raise DefinitionError(
                "RetryPolicy with a backoff or jitter needs a delay, e.g. "
                "RetryPolicy(max_retries=3, delay=1, backoff=Backoff.EXPONENTIAL)"
            )


def retry_delay(policy: RetryPolicy, retry_number: int, random_value: float = 0.5) -> float:
    """Seconds to wait before retry `retry_number` (1 for the first retry).

    Args:
        policy: the task's retry policy.
        retry_number: 1 for the first retry, 2 for the second, and so on.
        random_value: a number in [0, 1) used by jitter.

    Returns:
        The delay in seconds; 0 when the policy has none.
    """
    if not policy.delay:
        return 0.0
    base = float(policy.delay)
    if policy.backoff is Backoff.LINEAR:
        base *= retry_number
    elif policy.backoff is Backoff.EXPONENTIAL:
        base *= 2**retry_number - 1  # Dagster's curve: 1, 3, 7, 15 … times the delay
    if policy.jitter is Jitter.FULL:
        return base * random_value
    if policy.jitter is Jitter.PLUS_MINUS:
        return max(0.0, base + (random_value * 2 - 1) * float(policy.delay))
    return base


def retry_policy_to_data(policy: RetryPolicy) -> dict[str, Any]:
    """The policy as plain data for canonical JSON."""
    return {
        "max_retries": policy.max_retries,
        "delay": policy.delay,
        "backoff": policy.backoff.value if policy.backoff else None,
        "jitter": policy.jitter.value if policy.jitter else None,
    }


def retry_policy_from_data(data: dict[str, Any]) -> RetryPolicy:
    """Rebuilds a policy from `retry_policy_to_data` output."""
    return RetryPolicy(
        max_retries=data["max_retries"],
        delay=data["delay"],
        backoff=Backoff(data["backoff"]) if data["backoff"] else None,
        jitter=Jitter(data["jitter"]) if data["jitter"] else None,
    )

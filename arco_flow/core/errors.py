"""The error tree: everything Arco Flow raises derives from `ArcoError`.

Subclasses are grouped by who must act on them::

    ArcoError
    ├── DefinitionError        user code, at load time (bad decorator arguments, cycles,
    │   │                      unknown dependencies, duplicate keys)
    │   └── DefinitionsValidationError   every problem of a definition set, at once
    ├── ConfigError            a run or resource config value is missing or invalid
    │   └── ConfigValidationError        every problem of one config, at once
    ├── ResourceError          a required resource is missing or failed to start
    ├── SelectionError         an asset selection string or object does not resolve
    ├── PartitionError         a partition key is unknown, outside the time range or malformed,
    │                          or a partition mapping joins incompatible definitions
    ├── PlanError              the selection cannot be planned (e.g. a multi-asset cycle)
    ├── CanonicalJsonError     a value has no canonical JSON form
    ├── MetadataCodecError     metadata has no stored data form, or stored data is not metadata
    ├── ExecutionError         a run could not be carried out by the engine
    │   └── UserCodeError      user code raised; the original exception is `__cause__`
    ├── NotFoundError          a run, asset or other named thing does not exist
    └── StoreError             the event store cannot be opened or written (a schema newer
                               than this version, a file that is not a store, a lock held
                               too long)

Each message names the thing, says what is wrong and what to do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "ArcoError",
    "CanonicalJsonError",
    "ConfigError",
    "ConfigValidationError",
    "DefinitionError",
    "DefinitionsValidationError",
    "ExecutionError",
    "MetadataCodecError",
    "NotFoundError",
    "PartitionError",
    "PlanError",
    "ResourceError",
    "SelectionError",
    "StoreError",
    "UserCodeError",
    "did_you_mean",
]


class ArcoError(Exception):
    """Base class of every error Arco Flow raises."""

    code: str = "ARCO000"


class DefinitionError(ArcoError):
    """A definition (asset, check, job, resource binding) is invalid."""

    code = "ARCO100"


class DefinitionsValidationError(DefinitionError):
    """A definition set has one or more problems; all of them are listed."""

    code = "ARCO101"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in the definitions:"
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))


class ConfigError(ArcoError):
    """A config value is missing, unknown or of the wrong type."""

    code = "ARCO200"


class ConfigValidationError(ConfigError):
    """One config has problems; `problems` lists every one of them.

    Args:
        subject: What the config belongs to, e.g. ``"the config of 'clean_orders'"``.
        problems: One line per problem, each starting with the field path.
        fix: A closing sentence that says what to do.
    """

    code = "ARCO201"

    def __init__(self, subject: str, problems: Sequence[str], fix: str) -> None:
        self.subject = subject
        self.problems = tuple(problems)
        count = len(self.problems)
        header = f"{subject} has {count} problem{'s' if count != 1 else ''}:"
        lines = [header, *(f"  - {p}" for p in self.problems)]
        super().__init__("\n".join([*lines, fix] if fix else lines))


class ResourceError(ArcoError):
    """A resource is missing, or failed to set up or tear down."""

    code = "ARCO300"


class SelectionError(ArcoError):
    """An asset selection could not be parsed or resolved."""

    code = "ARCO400"


class PartitionError(ArcoError, ValueError):
    """A partition key, key range or partition mapping does not fit its definitions."""

    code = "ARCO450"


class PlanError(ArcoError):
    """A selection could not be turned into a plan."""

    code = "ARCO500"


class CanonicalJsonError(ArcoError, ValueError):
    """A value cannot be written as canonical JSON (RFC 8785)."""

    code = "ARCO600"


class MetadataCodecError(ArcoError, ValueError):
    """Metadata could not be converted to or from its stored data form."""

    code = "ARCO610"


class ExecutionError(ArcoError):
    """The engine could not carry out a run."""

    code = "ARCO700"


class UserCodeError(ExecutionError):
    """User code raised during a run; the user's exception is `__cause__`."""

    code = "ARCO701"


class NotFoundError(ArcoError, LookupError):
    """A named thing (run, asset, job, resource) does not exist."""

    code = "ARCO800"


class StoreError(ArcoError):
    """The event store cannot be opened, migrated or written."""

    code = "ARCO900"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Returns ``" Did you mean 'x'?"`` for the closest candidate, or an empty string."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean {matches[0]!r}?" if matches else ""

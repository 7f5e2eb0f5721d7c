"""Loading a code location: import the user's module and find its `Definitions`.

Only workers and the CLI's local commands import user code; the control plane sees the
resulting manifest. Errors say which module, which attribute, and what to do.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from arco_flow.core.errors import DefinitionError
from arco_flow.sdk.assets import AssetsDefinition
from arco_flow.sdk.definitions import Definitions

__all__ = ["load_definitions"]


def load_definitions(
    *, module: str | None = None, file: str | None = None, attribute: str | None = None
) -> Definitions:
    """Imports a module (by name or file) and returns its `Definitions`.

    The definitions are the module's `attribute` when given; otherwise its one
    `Definitions` object; otherwise a `Definitions` of every asset the module defines.

    Raises:
        DefinitionError: the module cannot be imported, or holds no or several
            `Definitions`; the message says how to point at the right one.
    """
    if (module is None) == (file is None):
        raise DefinitionError("name a code location with -m MODULE or -f FILE (one of them)")
    loaded = _import_module(module) if module is not None else _import_file(str(file))
    where = module or file
    if attribute is not None:
        value = getattr(loaded, attribute, None)
        if not isinstance(value, Definitions):
            raise DefinitionError(
                f"{where} has no Definitions named {attribute!r} (found "
                f"{type(value).__name__}); pass the name of a Definitions object"
            )
        return value
    found = {name: v for name, v in vars(loaded).items() if isinstance(v, Definitions)}
    if len(found) == 1:
        return next(iter(found.values()))
    if len(found) > 1:
        raise DefinitionError(
            f"{where} holds several Definitions ({', '.join(sorted(found))}); choose one "
            "with -a NAME"
        )
    assets = [v for v in vars(loaded).values() if isinstance(v, AssetsDefinition)]
    if not assets:
        raise DefinitionError(
            f"{where} defines no Definitions and no assets; add "
            "`defs = Definitions(assets=[...])` to it"
        )
    return Definitions(assets=assets)


def _import_module(name: str) -> ModuleType:
    # A module named on the command line is looked up from the working directory, as
    # `python -m` does.
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and name.startswith(error.name):
            raise DefinitionError(
                f"cannot import module {name!r}: {error}. Run from the folder that holds "
                "it, or install its package."
            ) from error
        raise


def _import_file(path: str) -> ModuleType:
    file = Path(path)
    if not file.is_file():
        raise DefinitionError(f"code location file {path!r} does not exist")
    name = f"arco_flow_user_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise DefinitionError(f"cannot load {path!r} as a Python module")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    sys.path.insert(0, str(file.parent.resolve()))
    spec.loader.exec_module(loaded)
    return loaded

"""The code server hands the daemon its manifest: the daemon never imports the user code.

The server side answers a ``manifest`` request (`worker.instigator_server`).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest_view import ManifestDefinitions
from arco_flow.daemon.code_server import CodeServer, CodeServerError, InProcessInstigators
from arco_flow.sdk.definitions import Definitions
from arco_flow.storage.instance import ArcoInstance

MODULE_NAME = "arco_flow_user_manifest_defs"

CODE = """
import os
from pathlib import Path
import arco_flow as af

with Path(os.environ["CODE_SERVER_IMPORTS"]).open("a") as imports:
    imports.write(f"{os.getpid()}\\n")

DAILY = af.DailyPartitionsDefinition(start_date="2024-01-01")

@af.asset(partitions_def=DAILY)
def events():
    return 1

@af.asset(
    partitions_def=DAILY,
    ins={"events": af.AssetIn(partition_mapping=af.TimeWindowPartitionMapping(-1, 0))},
    automation_condition=af.AutomationCondition.eager(),
)
def rolling(events):
    return events

@af.asset_check(asset=rolling)
def rolling_has_rows():
    return af.AssetCheckResult(passed=True)

@af.asset(deps=[rolling], group_name="reports", tags={"team": "data"})
def summary():
    return 1

report_job = af.define_asset_job("report_job", selection=[summary])
defs = af.Definitions(assets=[events, rolling, summary], asset_checks=[rolling_has_rows],
                      jobs=[report_job])
"""


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        yield instance


@pytest.fixture
def imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file the user module appends its process id to, each time it is imported."""
    path = tmp_path / "imports"
    monkeypatch.setenv("CODE_SERVER_IMPORTS", str(path))
    return path


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / f"{MODULE_NAME}.py").write_text(textwrap.dedent(CODE))
    # A spawned server starts with this process's sys.path, so it finds the module there.
    monkeypatch.syspath_prepend(str(folder))
    return folder


def in_process_manifest(module_dir: Path) -> Definitions:
    """The user's definitions loaded here, as `arco-flow` local commands would (no cache)."""
    spec = importlib.util.spec_from_file_location(
        "manifest_defs_in_process", module_dir / f"{MODULE_NAME}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    defs: Definitions = module.defs
    return defs


def test_the_code_server_serves_the_manifest_the_definitions_build_in_process(
    module_dir: Path, imports: Path, instance: ArcoInstance
) -> None:
    with CodeServer({"module": MODULE_NAME}, instance) as server:
        manifest = server.manifest()
        assert server.manifest() is manifest  # built once per server process
        server_pid = server.pid
    assert MODULE_NAME not in sys.modules
    assert imports.read_text().split() == [str(server_pid)]
    assert server_pid != os.getpid()

    expected = in_process_manifest(module_dir).manifest
    assert manifest == expected
    assert manifest.fingerprint == expected.fingerprint
    view = ManifestDefinitions(manifest)
    assert view.partitions_def_of(AssetKey("rolling")) is not None
    assert view.partition_mapping_of(AssetKey("rolling"), AssetKey("events")) is not None
    assert [check.name for check in view.resolve_asset_graph().checks] == ["rolling_has_rows"]


def test_reload_fetches_the_manifest_of_the_current_code(
    module_dir: Path, imports: Path, instance: ArcoInstance
) -> None:
    with CodeServer({"module": MODULE_NAME}, instance) as server:
        before = server.manifest()
        source = module_dir / f"{MODULE_NAME}.py"
        source.write_text(source.read_text().replace('group_name="reports"', 'group_name="bi"'))
        assert server.manifest() is before  # the running server still holds the old code
        server.reload()
        after = server.manifest()
    assert before.fingerprint != after.fingerprint
    assert {asset.group for asset in after.assets} == {"default", "bi"}
    assert MODULE_NAME not in sys.modules


def test_a_code_location_that_fails_to_load_reports_the_error_for_the_manifest(
    module_dir: Path, imports: Path, instance: ArcoInstance
) -> None:
    source = module_dir / f"{MODULE_NAME}.py"
    source.write_text(source.read_text() + "\nraise RuntimeError('the vendor SDK is missing')\n")
    with (
        CodeServer({"module": MODULE_NAME}, instance) as server,
        pytest.raises(CodeServerError, match="the manifest failed in the code server"),
    ):
        server.manifest()


def test_in_process_instigators_serve_the_definitions_own_manifest(
    module_dir: Path, imports: Path, instance: ArcoInstance
) -> None:
    defs = in_process_manifest(module_dir)
    assert InProcessInstigators(defs, instance).manifest() is defs.manifest

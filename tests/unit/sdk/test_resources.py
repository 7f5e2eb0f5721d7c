from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import PrivateAttr, ValidationError

from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.errors import ConfigError, DefinitionError, ResourceError
from arco_flow.sdk.config import EnvVar, Field
from arco_flow.sdk.resources import (
    ConfigurableResource,
    InitResourceContext,
    PartialResource,
    ResourceDefinition,
    ResourceScope,
    build_init_resource_context,
    resource,
    resource_config_to_data,
)

SECRET = "hunter2-secret"


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []


RECORDER = Recorder()


class Database(ConfigurableResource):
    host: str
    port: int = 5432
    password: str = "none"


class Tracked(ConfigurableResource):
    name: str
    fail_setup: bool = False
    fail_teardown: bool = False

    def setup_for_execution(self, context: InitResourceContext) -> None:
        RECORDER.events.append(f"setup {self.name}")
        if self.fail_setup:
            raise RuntimeError(f"cannot start {self.name}")

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        RECORDER.events.append(f"teardown {self.name}")
        if self.fail_teardown:
            raise RuntimeError(f"cannot stop {self.name}")


class Client(ConfigurableResource):
    database: Tracked
    label: str = "client"

    def setup_for_execution(self, context: InitResourceContext) -> None:
        RECORDER.events.append(f"setup client (database {self.database.name})")

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        RECORDER.events.append("teardown client")


@pytest.fixture(autouse=True)
def _fresh_recorder():
    RECORDER.events.clear()


def scope(
    resources: Mapping[str, object],
    required: list[str],
    run_config: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> ResourceScope:
    return ResourceScope(resources, run_config or {}, required, **kwargs)


# --- ConfigurableResource ---


def test_resource_is_frozen():
    database = Database(host="h")
    with pytest.raises(ValidationError):
        database.host = "x"  # type: ignore[misc]


def test_env_var_is_not_read_at_definition(monkeypatch):
    monkeypatch.delenv("ARCO_DB_PASSWORD", raising=False)
    database = Database(host="h", password=EnvVar("ARCO_DB_PASSWORD"))
    assert repr(database) == "Database(host='h', port=5432, password=EnvVar('ARCO_DB_PASSWORD'))"


def test_env_vars_are_resolved_when_the_scope_builds_the_resource(monkeypatch):
    monkeypatch.setenv("ARCO_DB_PASSWORD", SECRET)
    monkeypatch.setenv("ARCO_DB_PORT", "6543")
    database = Database(
        host="h", port=EnvVar.int("ARCO_DB_PORT"), password=EnvVar("ARCO_DB_PASSWORD")
    )
    with scope({"db": database}, ["db"]) as built:
        db = built.get("db")
    assert isinstance(db, Database)
    assert db.password == SECRET
    assert db.port == 6543


def test_env_var_in_an_int_field_is_coerced_from_the_string():
    database = Database(host="h", port=EnvVar("PORT"))
    with scope({"db": database}, ["db"], environ={"PORT": "7"}) as built:
        assert built.get("db").port == 7  # type: ignore[attr-defined]


def test_missing_env_var_names_the_variable_the_field_and_the_resource():
    database = Database(host=EnvVar("ARCO_DB_HOST"), password=EnvVar("ARCO_DB_PASSWORD"))
    with pytest.raises(ConfigError) as info, scope({"db": database}, ["db"], environ={}):
        pass
    message = str(info.value)
    assert "resource 'db'" in message
    assert "resources.db.config.host: environment variable 'ARCO_DB_HOST' is not set" in message
    assert "resources.db.config.password: environment variable 'ARCO_DB_PASSWORD'" in message


def test_non_integer_env_var_is_an_error_that_hides_the_value():
    database = Database(host="h", port=EnvVar.int("PORT"))
    with (
        pytest.raises(ConfigError) as info,
        scope({"db": database}, ["db"], environ={"PORT": SECRET}),
    ):
        pass
    assert "'PORT' is not an integer" in str(info.value)
    assert SECRET not in str(info.value)


def test_invalid_env_var_value_error_never_shows_the_value():
    database = Database(host="h", port=EnvVar("PORT"))
    with (
        pytest.raises(ConfigError) as info,
        scope({"db": database}, ["db"], environ={"PORT": SECRET}),
    ):
        pass
    assert "resources.db.config.port: expected int, got the value of env var 'PORT'" in str(
        info.value
    )
    assert SECRET not in str(info.value)


def test_secret_never_appears_in_repr_str_or_data_of_a_built_resource():
    nested = Client(database=Tracked(name=EnvVar("NAME")))
    database = Database(host="h", password=EnvVar("PASSWORD"))
    environ = {"PASSWORD": SECRET, "NAME": SECRET}
    with scope({"db": database, "client": nested}, ["db", "client"], environ=environ) as built:
        for value in built.as_dict().values():
            assert SECRET not in repr(value)
            assert SECRET not in str(value)
        data = resource_config_to_data(built.as_dict())
        assert SECRET not in canonical_json(data)
        assert data["db"]["config"]["password"] == {"env": "PASSWORD"}
        assert data["client"]["config"]["database"]["name"] == {"env": "NAME"}
        assert "EnvVar('PASSWORD')" in repr(built.get("db"))


def test_get_resource_context_is_the_setup_context():
    seen = []

    class Probe(ConfigurableResource):
        value: int = 1

        def setup_for_execution(self, context: InitResourceContext) -> None:
            seen.append(self.get_resource_context() is context)
            seen.append(context.resource_config)

    with pytest.raises(ResourceError, match="has no resource context"):
        Probe().get_resource_context()
    with scope({"probe": Probe(value=2)}, ["probe"]):
        pass
    assert seen == [True, {"value": 2}]


def test_setup_may_store_private_state():
    class WithClient(ConfigurableResource):
        url: str
        _client: Any = PrivateAttr(default=None)

        def setup_for_execution(self, context: InitResourceContext) -> None:
            self._client = f"client for {self.url}"

    with scope({"r": WithClient(url="u")}, ["r"]) as built:
        assert built.get("r")._client == "client for u"  # type: ignore[attr-defined]


def test_yield_for_execution_can_be_overridden():
    class Session(ConfigurableResource):
        @contextlib.contextmanager
        def yield_for_execution(self, context):
            RECORDER.events.append("open")
            yield self
            RECORDER.events.append("close")

    with scope({"s": Session()}, ["s"]):
        RECORDER.events.append("body")
    assert RECORDER.events == ["open", "body", "close"]


# --- nested resources and teardown ---


def test_nested_resource_is_set_up_before_and_torn_down_after_its_parent():
    client = Client(database=Tracked(name="db"))
    with scope({"client": client}, ["client"]) as built:
        assert built.get("client").database.name == "db"  # type: ignore[attr-defined]
        RECORDER.events.append("body")
    assert RECORDER.events == [
        "setup db",
        "setup client (database db)",
        "body",
        "teardown client",
        "teardown db",
    ]


def test_nested_resource_bound_to_a_key_is_built_once_and_shared():
    database = Tracked(name="db")
    client = Client(database=database)
    with scope({"client": client, "db": database}, ["client", "db"]) as built:
        assert built.get("client").database is built.get("db")  # type: ignore[attr-defined]
    assert RECORDER.events.count("setup db") == 1


def test_teardown_runs_in_reverse_order_when_the_body_fails():
    resources = {"a": Tracked(name="a"), "b": Tracked(name="b")}
    with pytest.raises(ValueError, match="body failed"), scope(resources, ["a", "b"]):
        raise ValueError("body failed")
    assert RECORDER.events == ["setup a", "setup b", "teardown b", "teardown a"]


def test_failed_setup_tears_down_what_was_set_up_and_names_the_resource():
    resources = {"a": Tracked(name="a"), "b": Tracked(name="b", fail_setup=True)}
    with pytest.raises(ResourceError) as info, scope(resources, ["a", "b"]):
        pass
    assert "resource 'b' failed to set up: RuntimeError: cannot start b" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert RECORDER.events == ["setup a", "setup b", "teardown a"]


def test_teardown_errors_are_raised_after_every_teardown_ran():
    resources = {
        "a": Tracked(name="a", fail_teardown=True),
        "b": Tracked(name="b", fail_teardown=True),
        "c": Tracked(name="c"),
    }
    with pytest.raises(ResourceError) as info, scope(resources, ["a", "b", "c"]):
        pass
    assert RECORDER.events[-3:] == ["teardown c", "teardown b", "teardown a"]
    assert "2 resource(s) failed to tear down" in str(info.value)
    assert "resource 'a'" in str(info.value)
    assert "resource 'b'" in str(info.value)


def test_teardown_error_does_not_hide_the_body_error():
    resources = {"a": Tracked(name="a", fail_teardown=True)}
    with pytest.raises(ValueError, match="body failed") as info, scope(resources, ["a"]):
        raise ValueError("body failed")
    assert "resource 'a' also failed to tear down" in info.value.__notes__[0]
    assert RECORDER.events == ["setup a", "teardown a"]


def test_scope_can_be_entered_once():
    resource_scope = scope({}, [])
    with resource_scope:
        pass
    with pytest.raises(ResourceError, match="entered once"), resource_scope:
        pass


# --- configure_at_launch and run config ---


def test_configure_at_launch_takes_values_from_run_config():
    partial = Database.configure_at_launch(host="given", port=1)
    assert isinstance(partial, PartialResource)
    run_config = {"db": {"config": {"port": 2, "password": {"env": "PW"}}}}
    with scope({"db": partial}, ["db"], run_config, environ={"PW": SECRET}) as built:
        db = built.get("db")
    assert isinstance(db, Database)
    assert (db.host, db.port, db.password) == ("given", 2, SECRET)
    assert SECRET not in repr(db)


def test_run_config_env_reference_is_coerced_to_the_field_type():
    run_config = {"db": {"config": {"host": "h", "port": {"env": "PORT"}}}}
    partial = Database.configure_at_launch()
    with scope({"db": partial}, ["db"], run_config, environ={"PORT": "15"}) as built:
        assert built.get("db").port == 15  # type: ignore[attr-defined]


def test_resource_run_config_without_config_wrapper_says_how_to_wrap():
    partial = Database.configure_at_launch()
    with (
        pytest.raises(ConfigError, match=r"\{'resources': \{'db': \{'config'"),
        scope({"db": partial}, ["db"], {"db": {"host": "h"}}),
    ):
        pass


def test_configure_at_launch_reports_every_run_config_problem():
    partial = Database.configure_at_launch()
    run_config = {"db": {"config": {"prot": 1, "port": "x"}}}
    with pytest.raises(ConfigError) as info, scope({"db": partial}, ["db"], run_config):
        pass
    message = str(info.value)
    assert "resources.db.config.host: missing required field 'host' (str)" in message
    assert "resources.db.config.port: expected int, got 'x' (str)" in message
    assert (
        "resources.db.config.prot: unknown field 'prot'; remove it. Did you mean 'port'?" in message
    )


def test_configure_at_launch_rejects_unknown_fields_at_definition():
    with pytest.raises(DefinitionError, match="Did you mean 'host'"):
        Database.configure_at_launch(hots="h")


def test_run_config_for_a_fully_configured_resource_is_an_error():
    run_config = {"db": {"config": {"port": 2}}}
    with (
        pytest.raises(ConfigError, match="configure_at_launch"),
        scope({"db": Database(host="h")}, ["db"], run_config),
    ):
        pass


def test_run_config_for_an_unknown_resource_suggests_the_key():
    with (
        pytest.raises(ConfigError, match="Did you mean 'db'"),
        scope({"db": Database(host="h")}, ["db"], {"dbb": {"config": {}}}),
    ):
        pass


def test_nested_partial_resource_without_a_key_is_an_error():
    client = Client(database=Tracked.configure_at_launch())
    with (
        pytest.raises(ResourceError, match="bound to no key"),
        scope({"client": client}, ["client"]),
    ):
        pass


# --- missing resources ---


def test_missing_resource_names_the_key_its_users_and_the_fix():
    with (
        pytest.raises(ResourceError) as info,
        scope(
            {"warehouse": Database(host="h")},
            ["warehous", "cache"],
            required_by={"warehous": ["orders", "customers"]},
        ),
    ):
        pass
    message = str(info.value)
    assert "resource 'warehous' is required by 'orders', 'customers' but not provided" in message
    assert "Did you mean 'warehouse'?" in message
    assert 'Definitions(resources={"warehous": ...})' in message
    assert "resource 'cache'" in message


def test_get_of_a_key_not_built_is_an_error():
    with scope({"db": Database(host="h"), "other": 1}, ["db"]) as built:
        with pytest.raises(ResourceError, match="Did you mean 'db'"):
            built.get("dbb")
        assert built.as_dict() == {"db": built.get("db")}


def test_plain_objects_are_used_as_is():
    client = object()
    with scope({"client": client}, ["client"]) as built:
        assert built.get("client") is client


# --- function resources ---


def test_function_resource_gets_validated_config_with_defaults():
    @resource(config_schema={"n": Field(int, default_value=1), "name": str})
    def numbers(init_context):
        return (init_context.resource_config["n"], init_context.resource_config["name"])

    run_config = {"numbers": {"config": {"name": "x"}}}
    with scope({"numbers": numbers}, ["numbers"], run_config) as built:
        assert built.get("numbers") == (1, "x")
    with (
        pytest.raises(ConfigError, match=r"resources\.numbers\.config\.name: missing"),
        scope({"numbers": numbers}, ["numbers"]),
    ):
        pass


def test_generator_resource_tears_down_after_yield_even_when_the_body_fails():
    @resource
    def connection(init_context):
        RECORDER.events.append("connect")
        yield "conn"
        RECORDER.events.append("disconnect")

    assert isinstance(connection, ResourceDefinition)
    with scope({"conn": connection}, ["conn"]) as built:
        assert built.get("conn") == "conn"
    RECORDER.events.clear()
    with pytest.raises(ValueError, match="boom"), scope({"conn": connection}, ["conn"]):
        raise ValueError("boom")
    assert RECORDER.events == ["connect", "disconnect"]


def test_generator_resource_that_yields_twice_is_an_error():
    @resource
    def twice(init_context):
        yield 1
        yield 2

    with pytest.raises(ResourceError, match="yielded more than once"), scope({"t": twice}, ["t"]):
        pass


def test_generator_resource_that_never_yields_is_an_error():
    @resource
    def empty(init_context):
        return
        yield

    with pytest.raises(ResourceError, match="without yielding"), scope({"e": empty}, ["e"]):
        pass


def test_required_resource_keys_are_built_first():
    @resource(required_resource_keys={"db"})
    def repository(init_context):
        RECORDER.events.append(f"repository on {init_context.resources.db.name}")
        return "repo"

    resources = {"repo": repository, "db": Tracked(name="db")}
    with scope(resources, ["repo"]) as built:
        assert built.as_dict() == {"repo": "repo", "db": built.get("db")}
    assert RECORDER.events == ["setup db", "repository on db", "teardown db"]


def test_cycle_between_function_resources_is_an_error():
    a = ResourceDefinition(lambda context: 1, required_resource_keys=frozenset({"b"}))
    b = ResourceDefinition(lambda context: 2, required_resource_keys=frozenset({"a"}))
    with pytest.raises(ResourceError, match="cycle: a -> b -> a"), scope({"a": a, "b": b}, ["a"]):
        pass


def test_function_resource_requiring_an_unbound_key_names_both():
    dependent = ResourceDefinition(lambda context: 1, required_resource_keys=frozenset({"dbb"}))
    with (
        pytest.raises(ResourceError, match="'dbb', required by resource 'dep'"),
        scope({"dep": dependent, "db": 1}, ["dep"]),
    ):
        pass


def test_function_resource_without_parameters_and_hardcoded_resource():
    @resource
    def constant():
        return 5

    resources = {"c": constant, "h": ResourceDefinition.hardcoded_resource("v")}
    with scope(resources, ["c", "h"]) as built:
        assert built.as_dict() == {"c": 5, "h": "v"}


def test_function_resource_can_be_called_with_a_built_context():
    @resource(config_schema={"n": int})
    def doubled(init_context):
        return init_context.resource_config["n"] * 2

    context = build_init_resource_context(config={"n": 2}, resources={"db": 1})
    assert doubled.resource_fn(context) == 4
    assert context.resources.db == 1
    with pytest.raises(AttributeError, match="Did you mean 'db'"):
        _ = context.resources.dbb


def test_function_resource_with_two_parameters_is_a_definition_error():
    with pytest.raises(DefinitionError, match="takes the init context only"):
        resource(lambda a, b: 1)
    with pytest.raises(DefinitionError, match="not a config schema"):
        resource(config_schema={"x": 1})(lambda context: 1)


def test_resources_get_the_scope_logger():
    logger = logging.getLogger("test.resources")

    @resource
    def logged(init_context):
        return init_context.log

    with scope({"l": logged}, ["l"], log=logger) as built:
        assert built.get("l") is logger


# --- manifest data ---


def test_resource_config_to_data_describes_each_kind_deterministically():
    @resource(config_schema={"n": int}, required_resource_keys={"db"})
    def numbers(init_context):
        return 1

    resources = {
        "db": Database(host="h", password=EnvVar("PW")),
        "partial": Database.configure_at_launch(host="p"),
        "numbers": numbers,
        "plain": object(),
    }
    data = resource_config_to_data(resources)
    assert list(data) == ["db", "numbers", "partial", "plain"]
    assert data["db"]["config"] == {"host": "h", "port": 5432, "password": {"env": "PW"}}
    assert data["db"]["kind"] == "configurable"
    assert data["partial"]["kind"] == "configure_at_launch"
    assert data["partial"]["config"] == {"host": "p"}
    assert data["numbers"]["required_resource_keys"] == ["db"]
    assert data["numbers"]["config_schema"]["fields"]["n"] == {"type": "Int", "required": True}
    assert data["plain"] == {"kind": "object", "class": "builtins.object"}
    assert canonical_json(data) == canonical_json(resource_config_to_data(resources))

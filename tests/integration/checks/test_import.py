import subprocess
import sys


def test_importing_the_checks_loads_no_frame_or_database_library():
    code = (
        "import sys, arco_flow, arco_flow.checks; "
        "arco_flow.build_last_update_freshness_checks; "
        "print(','.join(m for m in ('pandas', 'polars', 'duckdb', 'sqlalchemy', 'numpy') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""

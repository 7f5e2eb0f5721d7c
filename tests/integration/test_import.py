import subprocess
import sys


def test_import_loads_no_heavy_library_and_no_engine():
    code = (
        "import sys, arco_flow; "
        "heavy = [m for m in ('sqlalchemy', 'fastapi', 'pyarrow', 'celery', 'rich', 'click', "
        "'pydantic', 'yaml', "
        "'arco_flow.execution', 'arco_flow.worker', 'arco_flow.cli') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""

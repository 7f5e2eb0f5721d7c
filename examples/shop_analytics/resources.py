"""`ShopDataSource`: where the shop's CSV exports are read from.

The default reads the files bundled in this package's ``data/`` folder. It is left as
``None`` in config, not written as a path, so the manifest (and every plan_id) is the
same on every machine and in every checkout.
"""

from __future__ import annotations

import csv
from pathlib import Path

from arco_flow import ConfigurableResource

BUNDLED_DATA_DIR = Path(__file__).parent / "data"


class ShopDataSource(ConfigurableResource):
    """Reads the shop's CSV exports (orders, customers, products) from one folder."""

    data_dir: str | None = None
    """The folder holding the CSV files; None reads the files bundled with the example."""

    @property
    def folder(self) -> Path:
        """The folder the files are read from."""
        return Path(self.data_dir) if self.data_dir is not None else BUNDLED_DATA_DIR

    def read_csv(self, file_name: str) -> list[dict[str, str]]:
        """Every row of `file_name` as a dict of column name to text, in file order.

        Raises:
            FileNotFoundError: the folder has no such file.
        """
        with (self.folder / file_name).open(newline="", encoding="utf-8") as stream:
            return list(csv.DictReader(stream))

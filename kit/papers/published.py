"""Published measurements shipped with the kit, validated on load.

``data/published/*.csv`` rows each carry a citation (``source``), the table or
figure, the testbed, the system (mode) as the paper names it, the metric, the
value and its unit, and five columns that map the row onto the model
(``hardware``, ``hypervisor``, ``overrides``, ``op``, ``compare``; see
:mod:`kit.calibration`). Nothing here reads outside the project.
"""
from __future__ import annotations

import pandas as pd

from ..errors import HvkitError
from ..inputs.files import data_dir

__all__ = ["load_published", "REQUIRED_COLUMNS", "COMPARE_KINDS"]

REQUIRED_COLUMNS = ["source", "table", "testbed", "system", "metric", "value", "unit", "provenance",
                    "hardware", "hypervisor", "overrides", "op", "compare"]
COMPARE_KINDS = ("value", "extra_over_native", "difference", "parameter", "macro")
UNITS = ("us", "cycles", "updates", "references", "%", "", "ms")


def load_published(name: str | None = None) -> pd.DataFrame:
    """All published rows (or one file's), validated, with a ``file`` column.

    Raises
    ------
    HvkitError
        Naming the file, the row and the field of the first bad value.
    """
    d = data_dir() / "published"
    files = [d / f"{name}.csv"] if name else sorted(d.glob("*.csv"))
    frames = []
    for f in files:
        if not f.exists():
            raise HvkitError("no such published data file", where=str(f),
                             allowed=sorted(p.stem for p in d.glob("*.csv")))
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise HvkitError("missing columns", where=str(f), value=missing, allowed=REQUIRED_COLUMNS)
        for i, row in df.iterrows():
            where = f"{f}, row {i + 2}"
            for col in ("source", "table", "testbed", "system", "metric", "value"):
                if not row[col].strip():
                    raise HvkitError("empty", where=where, field=col)
            if row["unit"] not in UNITS:
                raise HvkitError("unknown unit", where=where, field="unit", value=row["unit"], allowed=UNITS)
            cmp = row["compare"]
            if not (cmp in COMPARE_KINDS or cmp.startswith("step:")):
                raise HvkitError("unknown comparison", where=where, field="compare", value=cmp,
                                 allowed=list(COMPARE_KINDS) + ["step:<name>"])
            if cmp != "macro":
                try:
                    float(row["value"])
                except ValueError:
                    raise HvkitError("not a number", where=where, field="value", value=row["value"]) from None
        frames.append(df.assign(file=f.stem))
    return pd.concat(frames, ignore_index=True)

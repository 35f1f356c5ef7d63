"""Published measurements shipped with the kit, validated on load.

``data/published/*.csv`` rows each carry a citation (``source``), the table or
figure, the testbed, the system (mode) as the paper names it, the metric, the
value and its unit, five columns that map the row onto the model
(``hardware``, ``hypervisor``, ``overrides``, ``op``, ``compare``; see
:mod:`kit.papers.calibration`), a unique ``id`` and a ``role``:

- ``fit``: a parameter was fitted to it (the parameter names it, :data:`kit.costs.codepaths.FITTED_TO` or
  :data:`kit.papers.calibration.HARDWARE_FITTED_TO`); not evidence;
- ``test``: it set nothing; the only rows a headline error is computed over;
- ``native``: a native measurement that characterizes an operation or workload (an input, not evidence);
- ``tautology``: the model value is a constant read back (a parameter, a step equal to one calibrated value);
- ``revealed``: the target of a blind prediction whose result has since been committed; in-sample from then
  on, reported apart from the test rows. A revealed row compared as ``blind_row`` names its prediction
  (``blind_file``, ``blind_row``, ``blind_column``): the current model's value is that row recomputed by the blind
  file's own generator (:mod:`kit.papers.revealed`), and its mapping columns are for reading.

Nothing here reads outside the project.
"""
from __future__ import annotations

import pandas as pd

from ..errors import HvkitError
from ..inputs.files import data_dir

__all__ = ["load_published", "REQUIRED_COLUMNS", "COMPARE_KINDS", "ROLES", "UNITS", "value_range"]

REQUIRED_COLUMNS = ["source", "table", "testbed", "system", "metric", "value", "unit", "provenance",
                    "hardware", "hypervisor", "overrides", "op", "compare", "id", "role", "baseline"]
COMPARE_KINDS = ("value", "extra_over_native", "difference", "parameter", "macro", "macro_gain", "blind_row")
UNITS = ("us", "cycles", "updates", "references", "%", "", "ms", "s", "MiB", "relative")
ROLES = ("fit", "test", "native", "tautology", "revealed")


def value_range(text: str) -> tuple[float, float]:
    """A published value as ``(low, high)``: ``"97-100"`` is a range, ``"48"`` one point."""
    low, sep, high = text.partition("-")
    if sep and low.strip():
        return float(low), float(high)
    return float(text), float(text)


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
            try:
                value_range(row["value"])
            except ValueError:
                raise HvkitError("not a number or a range a-b", where=where, field="value",
                                 value=row["value"]) from None
            if row["role"] not in ROLES:
                raise HvkitError("unknown role", where=where, field="role", value=row["role"], allowed=ROLES)
            if not row["id"].strip():
                raise HvkitError("empty", where=where, field="id")
        frames.append(df.assign(file=f.stem))
    out = pd.concat(frames, ignore_index=True)
    dup = out[out["id"].duplicated()]
    if len(dup):
        raise HvkitError("row id used twice", where=f"data/published ({dup['file'].iloc[0]}.csv)", field="id",
                         value=dup["id"].iloc[0])
    return out

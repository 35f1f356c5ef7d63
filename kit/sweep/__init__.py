"""Parameter sweeps: every point a :func:`kit.run` of a frozen spec.

A sweep expands a base spec over a grid (full factorial), zipped parameter lists or an explicit list of points,
times replications (``plan``: :func:`expand`, :func:`load_sweep_file`). Each point (``point``: :func:`run_point`)
runs wherever the executor puts it: a local process pool (default), any ``concurrent.futures.Executor``, or a Dask
``distributed.Client`` as is (``workers``). Finished points go to a store, a directory of append-only, checksummed
chunk files that a kill at any moment leaves whole (``store``: :class:`Store`); a point counts as stored only once
its chunk is on disk, and finished points are written at least every ``FLUSH_SECONDS``. The table goes to a Parquet
file written atomically (``output``). :func:`sweep` (``driver``) puts a plan's points through all of them.

Only an error raised by the model for a spec is a result: a worker that dies (the OOM killer, a ``kill -9``)
breaks the pool, which is rebuilt, and the points that were running are retried one at a time so the one that
kills its worker is found; nothing is stored for them unless they finish. A result that is not finite is an error
row. Seeds come from the spec and the replication index, never from worker order, so the numbers are the same on
every executor.
"""
from .driver import SweepIncomplete, SweepInterrupted, sweep
from .output import check_output, write_parquet_atomic
from .plan import MAX_POINTS, expand, load_sweep_file, plan_size
from .point import run_point
from .store import Store, SweepStoreError, SweepStoreWarning
from .workers import check_workers, max_workers

__all__ = ["sweep", "expand", "run_point", "load_sweep_file", "Store", "plan_size", "check_workers", "max_workers",
           "check_output", "write_parquet_atomic", "SweepInterrupted", "SweepIncomplete", "SweepStoreError",
           "SweepStoreWarning", "MAX_POINTS"]

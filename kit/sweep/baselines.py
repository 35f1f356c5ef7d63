"""The native baselines a sweep's points need, computed as tasks of its pool and deduplicated by what native reads.

A point's relative performance is against its native baseline (:func:`kit.run.native_value`), keyed on the native
spec without hardware overrides (its *base*) and on the values of exactly the hardware parameters and features a
native run of that base read. Which values those are is known only once one native run of the base has been made,
so the plan runs in rounds, on the workers, before the points that need them:

1. one native run per base that no known baseline covers (a *probe*: the native of the base's first point);
2. when it is back, the points its reads cover are ready; the others are grouped by the values of those reads,
   one native run per group;
3. a point goes to a worker with the baselines that cover it, so no worker computes one again.

Baselines loaded from the sweep's store, or known to this process, cover points from the start. A native run that
fails, or a group whose native still does not cover its points, releases them: each computes (and reports) its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..inputs.spec import Spec

__all__ = ["BaselinePlan", "NativeTask"]


@dataclass
class NativeTask:
    """One native run to make: its key in the pool, its spec, its base, whether it is a group's (the second round)
    and the points waiting for it."""

    key: str
    spec: Spec
    base: str
    group: bool = False
    waiting: list[str] = field(default_factory=list)


class BaselinePlan:
    """Which points of a sweep are ready (their baseline is known, or they need none), and which native runs to
    make for the others."""

    def __init__(self, specs: dict[str, Spec], spec_json: dict[str, dict], todo: list[str]) -> None:
        from ..inputs.resolve import content_digest
        from ..run import baseline_base
        self.specs = specs
        self._ready: list[str] = []
        self._tasks: list[NativeTask] = []
        self._open: dict[str, NativeTask] = {}
        self._cover: dict[str, Any] = {}
        self._base: dict[str, str] = {}
        self._made = 0
        probes: dict[str, NativeTask] = {}
        digests: dict[tuple[str, str], str] = {}  # the content of the files a baseline names, read once per plan
        for k in todo:
            spec = specs[k]
            if spec.hypervisor == "native":  # its own baseline
                self._ready.append(k)
                continue
            data = {f: v for f, v in spec_json[k].items() if f != "content"}  # the spec's own JSON form
            names = (spec.hardware, spec.workload)
            if names not in digests:
                digests[names] = content_digest(spec, neighbor=False)
            base = self._base[k] = baseline_base(data, False, digests[names])
            if self._covered(k):
                self._ready.append(k)
                continue
            task = probes.get(base)
            if task is None:
                task = probes[base] = self._new(k, base, group=False)
            task.waiting.append(k)

    def _new(self, point: str, base: str, group: bool) -> NativeTask:
        from ..run import native_spec
        self._made += 1
        task = NativeTask(f"native:{self._made}:{point}", native_spec(self.specs[point]), base, group)
        self._open[task.key] = task
        self._tasks.append(task)
        return task

    def _covered(self, k: str) -> bool:
        """Whether a baseline known to this process serves point ``k`` (remembered for :meth:`baselines_for`)."""
        from ..run.baselines import _BASELINES, baseline_reads
        for b in _BASELINES.get(self._base[k], ()):
            try:
                same = baseline_reads(self.specs[k], b.names) == b.values
            except Exception:  # a profile that does not load: the point reports it itself
                return False
            if same:
                self._cover[k] = b
                return True
        return False

    def take_tasks(self) -> list[NativeTask]:
        """The native runs to start now (each handed out once)."""
        out, self._tasks = self._tasks, []
        return out

    def take_ready(self) -> list[str]:
        """The points ready to run now (each handed out once)."""
        out, self._ready = self._ready, []
        return out

    def finished(self, key: str, ok: bool) -> None:
        """Native run ``key`` is done (its baseline added to this process by the caller when ``ok``): the points it
        covers are ready; after a probe, the others get one native run per group of read values; after a failure or
        a group's native, the points left are released to compute their own."""
        from ..run.baselines import _BASELINES, baseline_reads
        task = self._open.pop(key)
        groups: dict[tuple, NativeTask] = {}
        names = _BASELINES[task.base][0].names if ok and _BASELINES.get(task.base) else None
        for k in task.waiting:
            if not ok or task.group or names is None or self._covered(k):
                self._ready.append(k)
                continue
            try:
                reads = baseline_reads(self.specs[k], names)
            except Exception:
                self._ready.append(k)
                continue
            g = groups.get(reads)
            if g is None:
                g = groups[reads] = self._new(k, task.base, group=True)
            g.waiting.append(k)

    def baselines_for(self, k: str) -> list[Any]:
        """The baselines to hand to the worker that runs point ``k`` (those known for its base)."""
        from ..run.baselines import _BASELINES
        b = self._cover.get(k)
        return [b] if b is not None else list(_BASELINES.get(self._base.get(k, ""), ()))

    @property
    def open(self) -> bool:
        """Whether native runs are still to be started or under way."""
        return bool(self._open)

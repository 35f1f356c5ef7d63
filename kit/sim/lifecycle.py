"""A VM's life on a running host: the ``lifecycle:`` events of a scenario as processes.

Each VM's operations run one after another from their scheduled times (an operation starts when it is due and the
previous one is over). Each phase of an operation (:func:`kit.costs.lifecycle.operation`) runs on the resource it
names, so that operations compete with the host's other work and the other VMs feel them: the toolstack's cycles
on dom0's vCPUs under a type-1 hypervisor (beside netback and blkback) or on a host thread, the booting guest's cycles
on a vCPU of its own competing for the physical CPUs, memory written or read through the host's disk, a live
migration's pages through the host's NIC. The VM's workload is held (its runner paused) while the VM does not exist,
is paused, saved, stopped for a migration's last copy, or gone; it runs once the operation that brings it to life is
over. :attr:`LifecycleRunner.records` is each VM's timeline, phase by phase.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..costs import lifecycle as lc
from ..errors import HvkitError
from .policies import DEFAULT_WEIGHT
from .work import LIFECYCLE, Work

__all__ = ["MigrationLoad", "LifecycleRunner", "BRINGS_TO_LIFE", "CHUNK_BYTES", "shapes_of"]

#: Operations that make a VM that did not exist (before its first of them, its workload waits)
BRINGS_TO_LIFE = ("create", "restore", "clone")
#: Bytes moved through the disk or the NIC at a time, so that other requests interleave
CHUNK_BYTES = (1 << 20, "estimated, because save, restore and migration streams write and send in pieces of about "
                        "a MiB, between which other requests are served; plausible 0.25-4x because toolstacks write in pieces "
                        "of a few hundred KiB to a few MiB")


@dataclass(frozen=True)
class MigrationLoad:
    """What a live migration of a VM puts on its source host, computed beforehand
    (:func:`kit.live_migration.source_load`): how long it takes, how long the VM is stopped at the end, the bytes it
    sends and the CPU its sender spends."""

    total_s: float
    downtime_s: float
    bytes_sent: float
    source_cpu_s: float


class LifecycleRunner:
    """Runs ``events`` (a scenario's ``lifecycle:``) on ``host`` (see the module docstring). ``shapes`` gives each
    VM's :class:`kit.costs.lifecycle.VmShape`; ``migrations`` each migrate event's :class:`MigrationLoad` (by its
    position in ``events``)."""

    def __init__(self, host: Any, events: Sequence[Any], names: Sequence[str], shapes: Mapping[str, lc.VmShape],
                 migrations: Mapping[int, MigrationLoad] | None = None) -> None:
        self.host, self.names, self.shapes = host, list(names), dict(shapes)
        self.migrations = dict(migrations or {})
        self.records: list[dict] = []
        self.snapshots: dict[str, lc.VmShape] = {}
        #: VMs paused by a pause operation (a snapshot leaves them paused)
        self.paused: set[str] = set()
        self._boot: dict[str, Any] = {}
        self.toolstack = self._toolstack()
        host.lifecycle = self
        by_vm: dict[str, list[tuple[int, Any]]] = {}
        for k, e in sorted(enumerate(events), key=lambda ke: (ke[1].time_s, ke[0])):
            by_vm.setdefault(e.vm, []).append((k, e))
        for name, evs in by_vm.items():
            self._check(name, [e for _, e in evs])
            if evs[0][1].op in BRINGS_TO_LIFE:
                self._guest(name).vm.pause()  # the VM does not exist yet
            host.env.process(self._life(name, evs))

    # -- who runs the phases ------------------------------------------------------------------------------
    def _toolstack(self) -> Any:
        """The toolstack's runner: the service VM's vCPUs under a type-1 hypervisor, else a host thread."""
        from .runners import Runner
        host, mode = self.host, self.host.mode
        if mode.arch_part.schedules_vcpus:
            return host.backend(mode.family_part.emulated_backends[0], 0)
        r = Runner(host, "toolstack", "host.toolstack", "backend", 1, DEFAULT_WEIGHT[0])
        host.backends["toolstack"] = r
        return r

    def _booting(self, name: str) -> Any:
        """The vCPU a booting VM runs its firmware and kernel on, before its workload starts (competing for the
        physical CPUs like any vCPU)."""
        from .runners import Runner
        if name not in self._boot:
            g = self._guest(name)
            r = Runner(self.host, f"{name} lifecycle", f"host.{name}.lifecycle", "backend", 1,
                       g.plan.weight if g.plan is not None else DEFAULT_WEIGHT[0])
            self.host.backends[f"{name} lifecycle"] = r
            self._boot[name] = r
        return self._boot[name]

    def _guest(self, name: str) -> Any:
        if name not in self.names:
            raise HvkitError("no VM of that name", field="vm", value=name, allowed=self.names)
        i = self.names.index(name)
        return next(g for g in self.host.guests if g.i == i)

    @staticmethod
    def _check(name: str, events: Sequence[Any]) -> None:
        """A VM's operations in an order its life allows."""
        alive = events[0].op not in BRINGS_TO_LIFE
        for e in events:
            if e.op in BRINGS_TO_LIFE and alive and e.op != "restore":
                raise HvkitError(f"{name} already exists when it is to be {e.op}d", field="lifecycle", value=e.op,
                                 allowed="create or clone a VM only as its first operation")
            if e.op == "boot" and events[0].op != "create":
                raise HvkitError(f"{name} boots only after its create", field="lifecycle", value="boot",
                                 allowed="a create before it")
            if e.op in BRINGS_TO_LIFE:
                alive = True
            if e.op in ("destroy", "shutdown", "migrate"):
                alive = False

    # -- running the operations ---------------------------------------------------------------------------
    def _life(self, name: str, events: list[tuple[int, Any]]):
        env = self.host.env
        ops = [e.op for _, e in events]
        for n, (k, e) in enumerate(events):
            if e.time_s > env.now:
                yield env.timeout(e.time_s - env.now)
            g = self._guest(name)
            op = e.op
            if op in ("pause", "save", "snapshot", "shutdown", "destroy"):
                g.vm.pause()
            if op == "migrate":
                yield from self._migrate(name, self.migrations[k])
                continue
            shape = self.shapes[name]
            if op == "clone":
                assert e.source is not None
                if e.source not in self.snapshots:
                    raise HvkitError(f"clone of {name}: {e.source} has no snapshot yet", field="lifecycle",
                                     value=e.source, allowed="a snapshot of the source before the clone")
                shape = self.snapshots[e.source]
            phases = lc.operation(op, self.host.mode, self.host.hw, shape)
            for p in phases:
                yield from self._phase(name, p)
            if op == "snapshot":
                self.snapshots[name] = shape
            if op == "pause":
                self.paused.add(name)
            elif op == "unpause":
                self.paused.discard(name)
            # the workload runs again once the VM exists and runs: after unpause, restore, clone, a snapshot of a VM
            # that was running, and after boot (or after a create that no boot follows)
            if op in ("unpause", "restore", "clone", "boot") or (op == "snapshot" and name not in self.paused) or (
                    op == "create" and "boot" not in ops[n + 1:]):
                g.vm.resume()

    def _phase(self, name: str, p: lc.Phase):
        env, host = self.host.env, self.host
        t0 = env.now
        if p.resource == "toolstack":
            yield from self.toolstack.run(Work.of(LIFECYCLE, p.amount))
        elif p.resource == "vcpu":
            yield from self._booting(name).run(Work.of(LIFECYCLE, p.amount))
        elif p.resource in ("disk-read", "disk-write"):
            rate = host.hw.val("disk_mbps") * 1e6
            left = p.amount
            while left > 0:
                chunk = min(float(CHUNK_BYTES[0]), left)
                yield from host.disk.serve(chunk / rate)
                left -= chunk
        else:
            yield env.timeout(p.amount)
        self.records.append({"vm": name, "op": p.op, "phase": p.phase, "resource": p.resource, "start_s": t0,
                             "end_s": env.now, "what": p.what})

    def _migrate(self, name: str, m: MigrationLoad):
        """Pre-copy while the VM runs (its pages through the NIC, the sender's CPU on the toolstack), then the VM
        stops for the last copy and leaves the host."""
        env, host = self.host.env, self.host
        g = self._guest(name)
        t0 = env.now
        pre = max(0.0, m.total_s - m.downtime_s)
        chunks = max(1, math.ceil(m.bytes_sent / CHUNK_BYTES[0]))
        gap = pre / chunks
        cpu = m.source_cpu_s * host.freq / chunks
        for _ in range(chunks):
            t = env.now
            yield from self.toolstack.run(Work.of(LIFECYCLE, cpu))
            yield from host.nic_tx.serve(min(float(CHUNK_BYTES[0]), m.bytes_sent) * 8 / host.line_bps)
            rest = gap - (env.now - t)
            if rest > 0:
                yield env.timeout(rest)
        self.records.append({"vm": name, "op": "migrate", "phase": "pre-copy", "resource": "net",
                             "start_s": t0, "end_s": env.now, "what": "memory sent while the VM runs"})
        g.vm.pause()
        t1 = env.now
        yield env.timeout(m.downtime_s)
        self.records.append({"vm": name, "op": "migrate", "phase": "stop-and-copy", "resource": "wait",
                             "start_s": t1, "end_s": env.now, "what": "the VM stops; the last pages and its state are "
                                                                      "sent; it resumes on the target"})

    def timeline(self) -> pd.DataFrame:
        """Every phase that ran: VM, operation, phase, resource, start and end (seconds)."""
        cols = ["vm", "op", "phase", "resource", "start_s", "end_s", "what"]
        return pd.DataFrame(self.records, columns=cols).sort_values(["vm", "start_s"], kind="stable").reset_index(
            drop=True)


def shapes_of(plans: Sequence[Any]) -> dict[str, lc.VmShape]:
    """Each planned VM's shape for its lifecycle: its configured memory (else its workload's footprint and the guest
    OS) and vCPUs."""
    from ..inputs.workloads import GUEST_OS_MIB
    return {p.name: lc.VmShape(memory_mib=float(p.memory_mib) if p.memory_mib
                               else float(p.workload.footprint_mib + GUEST_OS_MIB[0]), vcpus=p.vcpus) for p in plans}

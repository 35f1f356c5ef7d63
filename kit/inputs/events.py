"""Events a scenario schedules on its running host: ``faults:`` (a component fails, by crashing or hanging, at a
time) and ``lifecycle:`` (an operation on a VM at a time: create, boot, pause, save, migrate, destroy...). Each is
validated once, here; whether the component exists under the scenario's mode, and which VM a per-VM component
belongs to, is checked when the host is laid out (:class:`kit.sim.failures.FailureDomains`), and the order of a
VM's operations when they are scheduled (:mod:`kit.sim.lifecycle`).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .coerce import Num

__all__ = ["FaultEvent", "LifecycleEvent", "COMPONENTS", "LIFECYCLE_OPS"]

#: The components a fault may name (which of them a host has depends on its mode; see kit.sim.failures)
COMPONENTS = ("hypervisor", "host-kernel", "dom0", "root-partition", "driver-domain", "nic-driver", "disk-driver",
              "netback", "blkback", "netvsp", "storvsp", "vhost", "vmm", "device-model", "toolstack", "guest")


class FaultEvent(BaseModel):
    """A component of the host fails at ``time_s``: it crashes (its protection domain ends with it) or hangs (it
    stops and stays until something notices). ``vm`` names the VM of a per-VM component (its vhost thread, its VMM,
    its device model, its guest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    time_s: Num = Field(ge=0, description="when it fails (simulated seconds from the start)")
    component: str = Field(description="what fails: " + ", ".join(COMPONENTS))
    mode: Literal["crash", "hang"] = Field("crash", description="how it fails")
    vm: str | None = Field(None, description="the VM of a per-VM component (vhost, vmm, device-model, guest)")

    @field_validator("component")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in COMPONENTS:
            raise ValueError(f"unknown component {v!r}; allowed: {', '.join(COMPONENTS)}")
        return v


#: The operations a ``lifecycle:`` event may schedule (kit.costs.lifecycle.OPERATIONS, and a live migration)
LIFECYCLE_OPS = ("create", "boot", "pause", "unpause", "save", "restore", "snapshot", "clone", "migrate", "shutdown",
                 "destroy")


class LifecycleEvent(BaseModel):
    """An operation on VM ``vm`` at ``time_s``. ``create`` (or ``restore``, ``clone``) as a VM's first operation
    means the VM does not exist before it: its workload waits for it (and for ``boot`` after ``create``). ``clone``
    restores VM ``source``'s last snapshot into ``vm``; ``migrate`` moves ``vm`` off the host (a live migration,
    with ``options`` for :func:`kit.live_migration.migrate`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    time_s: Num = Field(ge=0, description="when the operation starts (simulated seconds from the start)")
    vm: str = Field(description="the VM it acts on")
    op: str = Field(description="what: " + ", ".join(LIFECYCLE_OPS))
    source: str | None = Field(None, description="clone: the VM whose snapshot is restored")
    options: tuple[tuple[str, Any], ...] = Field((), description="migrate: options of kit.live_migration.migrate")

    @field_validator("op")
    @classmethod
    def _op(cls, v: str) -> str:
        if v not in LIFECYCLE_OPS:
            raise ValueError(f"unknown operation {v!r}; allowed: {', '.join(LIFECYCLE_OPS)}")
        return v

    @field_validator("options", mode="before")
    @classmethod
    def _freeze(cls, v: Any) -> tuple:
        if v is None:
            return ()
        items = v.items() if hasattr(v, "items") else v
        return tuple(sorted((str(k), x) for k, x in items))

"""Events a scenario schedules on its running host: ``faults:`` (a component fails, by crashing or hanging, at a
time). Each is validated once, here; whether the component exists under the scenario's mode, and which VM a
per-VM component belongs to, is checked when the host is laid out (:class:`kit.sim.failures.FailureDomains`).
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .coerce import Num

__all__ = ["FaultEvent", "COMPONENTS"]

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

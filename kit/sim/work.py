"""Work and where its time goes: the one table of breakdown categories.

A :class:`Work` is a piece of CPU work (cycles by breakdown category, exits by reason). It is immutable:
``a + b`` and ``a * k`` return new objects, so a cost computed once per run can be shared by every request
that uses it. :func:`category_of` maps a step of an event's path to its category; the category names here
are the ones the model accounts, the costing charges and the figures colour.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..costs.paths import Step

__all__ = ["Work", "category_of", "GUEST_USER", "GUEST_KERNEL", "PAGE_WALKS", "HYPERVISOR", "EMULATION",
           "WORLD_SWITCH", "DEVICE_SERVICE", "MEMORY_STALLS", "QUEUEING", "IDLE", "PAUSED", "CONTAINER_NET",
           "CONTAINER_FS", "EXIT_PREFIX", "BACKEND_PREFIX", "LIFECYCLE",
           "BACKEND_LABELS", "FIXED_CATEGORIES", "GUEST_CATEGORIES", "backend_category"]

GUEST_USER = "guest user"
GUEST_KERNEL = "guest kernel"
MEMORY_STALLS = "memory stalls"
PAGE_WALKS = "page walks"
HYPERVISOR = "hypervisor"
EMULATION = "emulation"
WORLD_SWITCH = "world switch"
DEVICE_SERVICE = "device service"
QUEUEING = "queueing"
IDLE = "idle"
#: a VM stopped by its hypervisor (live migration's stop-and-copy, post-copy's network faults)
PAUSED = "paused"
#: kernel work a container adds on its network path (veth, bridge, NAT) and in its file system (overlay)
CONTAINER_NET = "container network"
CONTAINER_FS = "container storage"
#: CPU the migration threads spend (on the hosts' backend entities or their own threads)
MIGRATION = "migration"
#: CPU a VM's lifecycle operations spend (the toolstack's work, a booting guest's firmware and kernel)
LIFECYCLE = "lifecycle"
#: ``exit: <reason>`` categories: the cycles of every step of an exit, by reason
EXIT_PREFIX = "exit: "
#: ``backend: <entity>`` categories: device-model and backend work, by the entity that runs it
BACKEND_PREFIX = "backend: "
#: the backend entity of each hypervisor family, as the breakdown names it
BACKEND_LABELS = {"kvm": "qemu", "qemu": "qemu", "vmware": "host OS", "xen": "dom0", "hyperv": "root partition",
                  "dom0": "dom0", "root": "root partition", "host": "host OS", "vhost": "vhost",
                  "firecracker": "vmm"}
#: every category that is not an exit reason or a backend
FIXED_CATEGORIES = (GUEST_USER, GUEST_KERNEL, MEMORY_STALLS, PAGE_WALKS, HYPERVISOR, EMULATION, WORLD_SWITCH,
                    DEVICE_SERVICE, QUEUEING, IDLE)
#: the categories that are the guest's own work (what native would spend too)
GUEST_CATEGORIES = (GUEST_USER, GUEST_KERNEL, MEMORY_STALLS, PAGE_WALKS)

_EMPTY: Mapping[str, float] = MappingProxyType({})


def backend_category(name: str) -> str:
    """The category of work run by backend entity (or hypervisor family) ``name``."""
    return BACKEND_PREFIX + BACKEND_LABELS.get(name, name)


def category_of(step: Step, family: str) -> str:
    """The breakdown category of one step of a path under a mode of hypervisor ``family``."""
    if step.reason:
        return EXIT_PREFIX + step.reason
    if step.kind == "guest":
        return GUEST_USER if step.step.startswith("guest user") else GUEST_KERNEL
    if step.step.startswith("world switch"):
        return WORLD_SWITCH
    if step.kind == "walk":
        return PAGE_WALKS
    if step.kind == "emulation":
        return EMULATION
    if step.kind == "backend":
        return backend_category(family)
    if step.kind == "device":
        return DEVICE_SERVICE
    if step.kind == "memory":
        return MEMORY_STALLS
    if step.kind == "container-net":
        return CONTAINER_NET
    if step.kind == "container-fs":
        return CONTAINER_FS
    return HYPERVISOR


@dataclass(frozen=True)
class Work:
    """A piece of vCPU (or backend) work: cycles by category, exits and exit cycles by reason."""

    cycles: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    exits: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    exit_cycles: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    #: all cycles of the work
    total: float = field(init=False)

    def __post_init__(self) -> None:
        for name in ("cycles", "exits", "exit_cycles"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))
        object.__setattr__(self, "total", sum(self.cycles.values()))

    def plus(self, other: Work, times: float = 1.0) -> Work:
        """``self + times * other`` (a new object)."""
        parts = []
        for mine, theirs in ((self.cycles, other.cycles), (self.exits, other.exits),
                             (self.exit_cycles, other.exit_cycles)):
            out = dict(mine)
            for k, v in theirs.items():
                out[k] = out.get(k, 0.0) + v * times
            parts.append(out)
        return Work(*parts)

    def __add__(self, other: Work) -> Work:
        return self.plus(other)

    def __mul__(self, k: float) -> Work:
        return Work({c: v * k for c, v in self.cycles.items()}, {r: v * k for r, v in self.exits.items()},
                    {r: v * k for r, v in self.exit_cycles.items()})

    __rmul__ = __mul__

    @staticmethod
    def of(category: str, cycles: float) -> Work:
        """Work of one category (nothing when ``cycles`` is not positive)."""
        return Work({category: cycles}) if cycles > 0 else Work()

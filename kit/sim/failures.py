"""Failure domains: what fails together, which VMs depend on it, how the host recovers, and faults injected into a
running host.

A host under a mode is made of protection domains (:class:`Domain`): a hypervisor beneath every VM, a host kernel,
the service VM of a type-1 hypervisor (Xen's dom0, Hyper-V's root partition), a driver domain, a process (a VM's
VMM, a device model, the toolstack), a guest. Code that fails takes its domain down with it: a driver's crash is its
kernel's panic, a VMM's crash is its process's end. Each :class:`Component` (the NIC and disk drivers, the backends,
a vhost thread, a VMM, the toolstack...) lives in one domain. A VM depends on the domains that hold its execution
(its vCPUs and memory) and on the components its network and disk I/O pass through.

All of it is derived from the mode's parts (:mod:`kit.inputs.parts`), never from a hypervisor's name: whether the
hypervisor schedules vCPUs itself (then it and its service VM are beneath every VM) or is part of the host kernel;
whether a VM's vCPUs are threads of a host process (then that process holds the VM); which entity is the backend of
each I/O path (:meth:`kit.inputs.modes.Mode.backend`) and so which components a VM's I/O passes through; where the
host's drivers run (the hypervisor's own, the service VM, a driver domain, the host kernel). What code each part is
made of, for the trusted computing base and the failure rates, is data (``data/tcb.yaml``, :mod:`kit.inputs.tcb`).

:func:`plan` turns a fault (a component, ``crash`` or ``hang``, a time) into what each VM sees (:class:`VmEffect`):
nothing, its I/O stalled for a while (a window per path, with what the I/O under way does: TCP retransmits it, a
block frontend reissues it), or its end (and when it is back, restarted). The recovery paths and their costs
(:mod:`kit.costs.recovery`) are in the plan's phases. :class:`FaultInjector` applies plans to a running
:class:`~kit.sim.host.Host`: the workload drivers wait at the entry of a stalled path (:meth:`FaultInjector.wait`),
a VM that ends is paused and its requests under way are lost, and each VM's outcome is counted.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..costs import lifecycle as lc
from ..costs import recovery as rc
from ..errors import HvkitError
from ..inputs.events import COMPONENTS
from ..inputs.hardware import Hardware
from ..inputs.modes import Mode

__all__ = ["Domain", "Component", "HostSetup", "FailureDomains", "Window", "VmEffect", "Phase", "Plan", "plan",
           "FaultInjector", "attach", "client_outage", "FAULT_MODES", "COMPONENT_IDS", "EFFECTS"]

FAULT_MODES = ("crash", "hang")
#: Every component a fault may name (which exist depends on the mode)
COMPONENT_IDS = COMPONENTS
#: What a fault does to a VM, mildest first
EFFECTS = ("none", "io stall", "dies")


@dataclass(frozen=True)
class Domain:
    """A protection domain: code that fails together.

    ``holds`` says whose execution it holds (``host``: every VM's; ``vm``: its VM's; ``none``); ``parent`` is the
    domain whose end takes this one with it (a process with its kernel)."""

    name: str
    kind: str
    vm: int | None = None
    parent: str | None = None
    holds: str = "none"


@dataclass(frozen=True)
class Component:
    """A part of the host a fault can name: its ``id`` (with ``vm`` for a per-VM part), its role, the domain it runs
    in and the software it is made of (``data/tcb.yaml`` entries)."""

    id: str
    label: str
    role: str
    domain: str
    vm: int | None = None
    code: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostSetup:
    """How the host is laid out beyond the mode: Xen's split-driver backends and the NIC and disk drivers in a
    driver domain of their own rather than in dom0, and a warm spare driver domain (already booted, with its own
    NIC) that takes over when it fails."""

    driver_domain: bool = False
    spare_driver_domain: bool = False


def _software(mode: Mode) -> dict[str, str]:
    from ..inputs.tcb import software_of
    return software_of(mode.family)


class FailureDomains:
    """The domains and components of a host running VMs ``vm_names`` under ``mode`` (see the module docstring).

    ``paths[vm]`` maps ``net`` and ``disk`` to the components the VM's I/O passes through, in order; ``holders[vm]``
    lists the domains whose end is the VM's end."""

    def __init__(self, mode: Mode, hw: Hardware, vm_names: Sequence[str], setup: HostSetup = HostSetup(),
                 uses: Mapping[int, Sequence[str]] | None = None) -> None:
        self.mode, self.hw, self.vm_names, self.setup = mode, hw, tuple(vm_names), setup
        #: the paths each VM's workload uses (default: both); a stalled path it does not use costs it nothing
        self.uses = {i: set(uses[i]) if uses is not None and i in uses else {"net", "disk"}
                     for i in range(len(self.vm_names))}
        self.domains: dict[str, Domain] = {}
        self.components: list[Component] = []
        arch, io, fam, cpu = mode.arch_part, mode.io_part, mode.family_part, mode.cpu_part
        sw = _software(mode)
        if setup.driver_domain and not (io.split_driver and not arch.drives_devices):
            raise HvkitError("a driver domain serves split drivers (Xen's netback and blkback)", field="host.driver_domain",
                             value=True, allowed=["false"])
        if setup.spare_driver_domain and not setup.driver_domain:
            raise HvkitError("a warm spare stands in for a driver domain", field="host.spare_driver_domain",
                             value=True, allowed="false, or host.driver_domain: true")
        type1 = arch.schedules_vcpus or arch.drives_devices
        # -- what lies beneath every VM ---------------------------------------------------------------------
        if type1:
            self._domain(Domain("hypervisor", "hypervisor", holds="host"))
            self._add("hypervisor", "the hypervisor", "hypervisor", "hypervisor", code=sw.get("hypervisor", ""))
            svc = "dom0" if fam.service_vm == "dom0" else "root-partition"
            self._domain(Domain(svc, "service-vm", parent="hypervisor"))
            self._add(svc, f"{fam.service_vm}'s kernel", "service-vm", svc, code=sw.get("service-vm", ""))
            base = svc
        else:
            self._domain(Domain("host kernel", "kernel", holds="host"))
            self._add("host-kernel", "the host kernel" + (" with its hypervisor" if arch.in_host_kernel else ""),
                      "kernel", "host kernel", code=sw.get("kernel", ""), extra=sw.get("in-kernel", ""))
            base = "host kernel"
        # -- where the host's drivers and shared backends run -----------------------------------------------
        if arch.drives_devices:
            drivers = "hypervisor"
        elif setup.driver_domain:
            self._domain(Domain("driver domain", "driver-domain", parent="hypervisor"))
            self._add("driver-domain", "the driver domain's kernel", "driver-domain", "driver domain",
                      code=sw.get("driver-domain", ""))
            drivers = "driver domain"
        else:
            drivers = base
        in_hv = drivers == "hypervisor"
        self._add("nic-driver", f"NIC driver ({drivers})", "nic-driver", drivers,
                  code="" if in_hv else sw.get("nic-driver", ""))
        self._add("disk-driver", f"disk driver ({drivers})", "disk-driver", drivers,
                  code="" if in_hv else sw.get("disk-driver", ""))
        # -- the toolstack ----------------------------------------------------------------------------------
        if cpu.virtualized or fam.shares_host_kernel:
            self._domain(Domain("toolstack", "process", parent=base))
            self._add("toolstack", "the toolstack", "toolstack", "toolstack", code=sw.get("toolstack", ""))
        # -- per VM: its own domains and the components of its I/O paths -------------------------------------
        self.paths: dict[int, dict[str, list[Component]]] = {}
        self.holders: dict[int, list[str]] = {}
        # a VM's vCPUs are threads of a host process (KVM's VMM, a hosted VMM's, an emulator) unless a type-1
        # hypervisor schedules them or the workload runs on the host kernel itself
        vm_process = cpu.virtualized and not type1
        for i, name in enumerate(self.vm_names):
            guest = f"{name} guest"
            self._domain(Domain(guest, "guest", vm=i, holds="vm",
                                parent=f"{name} vmm" if vm_process else ("hypervisor" if type1 else base)))
            self._add("guest", f"{name}'s guest", "guest", guest, vm=i)
            holders = ["hypervisor"] if type1 else [base]
            if vm_process:
                self._domain(Domain(f"{name} vmm", "process", vm=i, parent=base, holds="vm"))
                self._add("vmm", f"{name}'s {fam.vmm_name if fam.device_model == 'userspace' else 'VMM'} process",
                          "vmm", f"{name} vmm", vm=i, code=sw.get("vmm", ""))
                holders.append(f"{name} vmm")
            holders.append(guest)
            self.holders[i] = holders
            if cpu.hardware_assisted and fam.device_model == "ioreq":  # qemu-dm for this HVM guest, in dom0
                self._domain(Domain(f"{name} device model", "process", vm=i, parent=base))
                self._add("device-model", f"{name}'s device model (in {base})", "device-model",
                          f"{name} device model", vm=i, code=sw.get("device-model", ""))
            self.paths[i] = {what: self._path(i, what, drivers) for what in ("net", "disk")}

    # -- construction ----------------------------------------------------------------------------------------
    def _domain(self, d: Domain) -> None:
        self.domains[d.name] = d

    def _add(self, cid: str, label: str, role: str, domain: str, vm: int | None = None, code: str = "",
             extra: str = "") -> Component:
        c = Component(cid, label, role, domain, vm, tuple(x for x in (code, extra) if x))
        self.components.append(c)
        return c

    def _path(self, i: int, what: str, drivers: str) -> list[Component]:
        """The components VM ``i``'s ``what`` I/O passes through: its backend (by the mode's I/O path), then the
        host's driver."""
        mode, io = self.mode, self.mode.io_part
        driver = self.component("nic-driver" if what == "net" else "disk-driver")
        if io.drives_device and io.host_stack:  # native, a container on the host's stack
            return [driver]
        out: list[Component] = []
        if io.assigned and what == "net":  # the guest's own VF driver, then the physical function's
            return [self.component("guest", i), driver]
        backend = mode.backend(what)
        if io.device_model_emulates and mode.family_part.device_model == "ioreq":  # qemu-dm for an HVM guest
            return [self.component("device-model", i), driver]
        if backend is None:
            return [driver]
        if backend.shared:
            if io.split_driver:
                cid = "netback" if what == "net" else "blkback"
            elif io.vmbus:
                cid = "netvsp" if what == "net" else "storvsp"
            else:  # the host OS of a hosted VMM: its own stack, in its kernel
                return [self.component("vmm", i), driver]
            found = [c for c in self.components if c.id == cid]
            c = found[0] if found else self._add(cid, f"{cid} ({drivers})", "net-backend" if what == "net"
                                                 else "disk-backend", drivers,
                                                 code=_software(mode).get(cid, ""))
            out.append(c)
        elif backend.name == "vhost":
            name = self.vm_names[i]
            found = [c for c in self.components if c.id == "vhost" and c.vm == i]
            out.append(found[0] if found else self._add("vhost", f"{name}'s vhost thread (host kernel)", "net-backend",
                                                        "host kernel", vm=i, code=_software(mode).get("vhost", "")))
        elif any(c.id == "vmm" and c.vm == i for c in self.components):  # QEMU, a microVM's VMM
            out.append(self.component("vmm", i))
        else:  # a type-1 family's device model (qemu-dm in dom0) serves an emulated device
            out.append(self.component("device-model", i))
        return out + [driver]

    # -- queries ---------------------------------------------------------------------------------------------
    def component(self, cid: str, vm: int | None = None) -> Component:
        """The component ``cid`` (of VM ``vm`` for a per-VM one)."""
        same = [c for c in self.components if c.id == cid]
        if not same:
            raise HvkitError("no such component under this mode", field="component", value=cid,
                             allowed=sorted({c.id for c in self.components}))
        if same[0].vm is not None and vm is None:
            raise HvkitError("a per-VM component needs the VM it belongs to", field="vm", value=None,
                             allowed=list(self.vm_names))
        found = [c for c in same if c.vm is None or c.vm == vm]
        if not found:
            raise HvkitError("that VM has no such component", field="vm", value=self.vm_names[vm] if vm is not None
                             else None, allowed=[self.vm_names[c.vm] for c in same if c.vm is not None])
        return found[0]

    def vm_index(self, name: str | None) -> int | None:
        if name is None:
            return None
        if name not in self.vm_names:
            raise HvkitError("no VM of that name", field="vm", value=name, allowed=list(self.vm_names))
        return self.vm_names.index(name)

    def ancestors(self, domain: str) -> list[str]:
        """``domain`` and the domains whose end takes it down, innermost first."""
        out, d = [], self.domains.get(domain)
        while d is not None:
            out.append(d.name)
            d = self.domains.get(d.parent) if d.parent else None
        return out

    def users(self, comp: Component) -> list[tuple[int, str]]:
        """(VM, path) pairs whose I/O passes through ``comp``."""
        return [(i, what) for i, p in self.paths.items() for what, cs in p.items() if comp in cs]

    def in_domain(self, domain: str) -> list[tuple[int, str]]:
        """(VM, path) pairs whose I/O passes through any component of ``domain``."""
        return sorted({u for c in self.components if c.domain == domain for u in self.users(c)})

    def table(self) -> pd.DataFrame:
        """One row per component (the host's first, then each VM's): its domain, what kind of domain, and which VMs'
        I/O passes through it."""
        rows = []
        for c in sorted(self.components, key=lambda c: (c.vm is not None, c.vm or 0)):
            d = self.domains[c.domain]
            rows.append({"component": c.id, "vm": self.vm_names[c.vm] if c.vm is not None else "",
                         "label": c.label, "role": c.role, "domain": c.domain, "domain_kind": d.kind,
                         "io_of": ", ".join(f"{self.vm_names[i]} {w}" for i, w in self.users(c)),
                         "code": ", ".join(c.code)})
        return pd.DataFrame(rows)


# ---- what a fault does --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """VM ``vm``'s ``path`` I/O is unavailable from ``start`` to ``end``; ``inflight`` says what the I/O under way
    and arriving meanwhile does: ``retransmit`` (TCP resends it on its timer), ``reissue`` (the frontend resubmits
    it once reconnected), ``lost`` (the VM ended)."""

    vm: int
    path: str
    start: float
    end: float
    inflight: str


@dataclass
class VmEffect:
    """What one VM sees of a fault."""

    vm: int
    effect: str = "none"
    died_at: float = math.nan
    back_at: float = math.nan
    paused_at: float = math.nan
    windows: list[Window] = field(default_factory=list)
    cause: str = ""

    def worse(self, effect: str, cause: str) -> None:
        if EFFECTS.index(effect) >= EFFECTS.index(self.effect):
            self.effect, self.cause = effect, cause


@dataclass(frozen=True)
class Phase:
    """A step of the recovery: what happens from ``start`` to ``end``."""

    name: str
    start: float
    end: float
    what: str


@dataclass
class Plan:
    """A fault's consequences: per VM, and the recovery's phases."""

    component: Component
    mode: str
    at: float
    vms: dict[int, VmEffect]
    phases: list[Phase]
    host_restart: bool = False
    management_down: tuple[float, float] | None = None


class _Planner:
    """Builds a :class:`Plan` (the recovery rules; each cost from :mod:`kit.costs.recovery`, or a draw of it)."""

    def __init__(self, fd: FailureDomains, comp: Component, mode: str, at: float,
                 draws: Mapping[str, float] | None) -> None:
        self.fd, self.comp, self.fault, self.at, self.draws = fd, comp, mode, at, draws
        self.plan = Plan(comp, mode, at, {i: VmEffect(i) for i in range(len(fd.vm_names))}, [])

    def c(self, name: str) -> float:
        return rc.value(getattr(rc, name), self.draws, name)

    def restart(self) -> float:
        """A VM whose state was lost is created and boots again (its mode's lifecycle), and its service starts."""
        return lc.restart_seconds(self.fd.mode, self.fd.hw, draws=self.draws)

    def phase(self, name: str, start: float, length: float, what: str) -> float:
        self.plan.phases.append(Phase(name, start, start + length, what))
        return start + length

    # -- consequences ------------------------------------------------------------------------------------------
    def vm_ends(self, i: int, at: float, back: float, cause: str) -> None:
        e = self.plan.vms[i]
        if not math.isnan(e.died_at) and e.died_at <= at:
            return
        e.died_at, e.back_at = at, back
        e.worse("dies", cause)
        for what in sorted(self.fd.uses[i]) or ["net"]:  # a VM without I/O is still down: one window says so
            e.windows.append(Window(i, what, at, back, "lost"))

    def stall(self, users: Sequence[tuple[int, str]], start: float, end_of, cause: str) -> None:
        """Stall each (VM, path) in ``users`` from ``start`` to ``end_of(k, vm, path)``."""
        for k, (i, what) in enumerate(users):
            if what not in self.fd.uses[i]:
                continue
            e = self.plan.vms[i]
            end = end_of(k, i, what)
            e.windows.append(Window(i, what, start, end, "retransmit" if what == "net" else "reissue"))
            e.worse("io stall", cause)

    def host_restarts(self, at: float, cause: str) -> None:
        self.plan.host_restart = True
        t = self.phase("firmware", at, self.c("FIRMWARE_POST_S"), "the machine restarts: firmware and memory training")
        t = self.phase("host boot", t, self.c("HOST_BOOT_S"), "the hypervisor or host kernel and its services boot")
        back = self.phase("VMs restart", t, self.restart(), "each VM is created, boots and starts its service")
        for i in self.plan.vms:
            self.vm_ends(i, at, back, cause)

    def driver_domain_restart(self, detect: float) -> None:
        """The driver domain is destroyed and built again (or the spare takes over); its frontends reconnect one
        after another (one xenwatch thread serves the backends' state changes), the NIC's link renegotiates."""
        fd, at = self.fd, self.at
        users = fd.in_domain("driver domain")
        t = self.phase("detection", at, detect, "the failure is noticed")
        per = self.c("FRONTEND_RECONNECT_S")
        if fd.setup.spare_driver_domain:
            self.phase("failover", t, per * len(users), "the frontends reconnect to the spare driver domain's "
                                                       "backends (its NIC's link is up)")
            self.stall(users, at, lambda k, i, w: t + (k + 1) * per, "the driver domain failed; the spare took over")
            self.phase("restart in the background", t, self.c("DOMAIN_DESTROY_S") + self.c("DOMAIN_BUILD_S")
                       + self.c("DRIVER_DOMAIN_BOOT_S"), "the failed driver domain boots again as the new spare")
            return
        t = self.phase("destroy", t, self.c("DOMAIN_DESTROY_S"), "the driver domain is destroyed")
        t = self.phase("build", t, self.c("DOMAIN_BUILD_S"), "the toolstack builds it again")
        booted = self.phase("boot", t, self.c("DRIVER_DOMAIN_BOOT_S"), "its kernel, drivers and backends start")
        link = self.phase("device reset and link", booted, self.c("DEVICE_RESET_S") + self.c("LINK_UP_S"),
                          "the NIC is reset and its link renegotiates")
        self.phase("reconnect", booted, per * len(users), "the frontends reconnect, one after another")
        disk_ready = booted + self.c("DEVICE_RESET_S")
        self.stall(users, at, lambda k, i, w: max(link if w == "net" else disk_ready, booted + (k + 1) * per),
                   "the driver domain failed and was restarted")

    def restart_vm(self, i: int, at: float, detect: float, cause: str, killed: bool = False) -> None:
        """VM ``i`` is restarted once its failure is noticed; it ended at ``at`` (a crash) or is ``killed`` when its
        hang is noticed."""
        t = self.phase("detection", at, detect, f"{self.fd.vm_names[i]}'s failure is noticed")
        back = self.phase("VM restart", t, self.restart(), f"{self.fd.vm_names[i]} is created, boots and starts "
                                                          f"its service")
        self.vm_ends(i, t if killed else at, back, cause)

    def operator(self, start: float, what: str) -> float:
        return self.phase("operator", start, self.c("OPERATOR_S"), what)

    # -- the rules -------------------------------------------------------------------------------------------
    def crash_domain(self, domain: str, at: float) -> None:
        """Domain ``domain`` ends at ``at``: what that takes with it.

        A crash of kernel code (a driver, a backend, a vhost thread) is an oops, which the kit takes to panic its
        kernel: an oops in interrupt context, where a NIC driver's receive path runs, always does, and with
        panic_on_oops, which a host that would rather restart than run on corrupted state sets, every one does."""
        fd = self.fd
        d = fd.domains[domain]
        if d.holds == "host":  # the hypervisor or the host kernel: every VM with it
            self.host_restarts(at, f"{domain} crashed: every VM on the host ends")
        elif d.kind == "service-vm":  # the hardware domain: the hypervisor restarts the machine after a delay
            reboot = self.phase("hardware domain down", at, self.c("HWDOM_REBOOT_DELAY_S"),
                                f"{domain} is down: the I/O it serves stops, then the hypervisor restarts the machine")
            self.stall(fd.in_domain(domain), at, lambda k, i, w: reboot, f"{domain} crashed")
            self.host_restarts(reboot, f"{domain} crashed: the hypervisor restarted the machine")
        elif d.kind == "driver-domain":
            self.driver_domain_restart(self.c("DETECT_CRASH_S"))
        elif d.kind == "process" and d.holds == "vm":  # a VM's VMM: the VM ends with it
            assert d.vm is not None
            self.restart_vm(d.vm, at, self.c("DETECT_CRASH_S"), f"{domain} crashed: its VM ended")
        elif d.kind == "guest":
            assert d.vm is not None
            self.restart_vm(d.vm, at, self.c("DETECT_CRASH_S"), f"{domain} crashed")
        elif d.kind == "process" and domain == "toolstack":
            end = self.phase("toolstack restart", at, self.c("DETECT_CRASH_S") + self.c("PROCESS_RESTART_S"),
                             "the supervisor restarts the toolstack; running VMs are untouched")
            self.plan.management_down = (at, end)
        elif d.kind == "process":  # a device model that cannot be restarted under its running VM
            users = fd.in_domain(domain)
            end = self.operator(at, f"an operator recreates the VM whose {domain} ended")
            self.stall(users, at, lambda k, i, w: end, f"{domain} crashed")
            for i in sorted({i for i, _ in users}):
                self.vm_ends(i, end, end + self.restart(), f"{domain} crashed; the VM was recreated")

    def hang(self) -> None:
        fd, comp, at = self.fd, self.comp, self.at
        role = comp.role
        if role == "nic-driver":  # the kernel's netdev watchdog resets the adapter, wherever the driver runs
            end = self.phase("netdev watchdog", at, self.c("NETDEV_WATCHDOG_S"), "the stopped transmit queue times out")
            end = self.phase("device reset and link", end, self.c("DEVICE_RESET_S") + self.c("LINK_UP_S"),
                             "the driver resets the NIC and the link renegotiates")
            self.stall(fd.users(comp), at, lambda k, i, w: end, "the NIC driver hung; its watchdog reset the NIC")
        elif role == "disk-driver":  # the block layer's timeout resets the controller and retries
            end = self.phase("I/O timeout", at, self.c("BLOCK_TIMEOUT_S"), "the requests time out")
            end = self.phase("controller reset", end, self.c("DEVICE_RESET_S"), "the controller is reset, the "
                                                                               "requests retried")
            self.stall(fd.users(comp), at, lambda k, i, w: end, "the disk driver hung; the block layer reset it")
        elif role in ("net-backend", "disk-backend") and comp.domain == "driver domain":
            self.driver_domain_restart(self.c("DETECT_HANG_S"))
        elif role in ("net-backend", "disk-backend") and comp.vm is None:  # in the service VM: no restart
            end = self.operator(at, f"an operator recreates the virtual devices served by the hung {comp.id}")
            self.stall(fd.users(comp), at, lambda k, i, w: end + (k + 1) * self.c("FRONTEND_RECONNECT_S"),
                       f"{comp.id} hung in {comp.domain}")
        elif role == "net-backend":  # a vhost thread: a kernel thread cannot be killed; the VM is restarted
            assert comp.vm is not None
            end = self.operator(at, f"an operator restarts {fd.vm_names[comp.vm]}, whose vhost thread hung")
            self.stall(fd.users(comp), at, lambda k, i, w: end, "its vhost thread hung")
            self.vm_ends(comp.vm, end, end + self.restart(), "its vhost thread hung; it was restarted")
        elif role in ("vmm", "guest"):
            assert comp.vm is not None
            self.stall([(comp.vm, "net"), (comp.vm, "disk")], at,
                       lambda k, i, w: at + self.c("DETECT_HANG_S"), f"{comp.label} hung")
            if role == "guest":
                self.plan.vms[comp.vm].paused_at = at
            self.restart_vm(comp.vm, at, self.c("DETECT_HANG_S"), f"{comp.label} hung; it was killed and restarted",
                            killed=True)
        elif role == "device-model":
            self.crash_domain(comp.domain, at)
        elif role == "toolstack":
            end = self.phase("toolstack restart", at, self.c("DETECT_HANG_S") + self.c("PROCESS_RESTART_S"),
                             "its health check restarts the toolstack; running VMs are untouched")
            self.plan.management_down = (at, end)
        elif role == "driver-domain":
            self.driver_domain_restart(self.c("DETECT_HANG_S"))
        else:  # a kernel or the hypervisor hangs: everything on it stops until its lockup watchdog panics it
            panic = self.phase("lockup watchdog", at, self.c("LOCKUP_DETECT_S"),
                               f"{comp.domain} is stuck until its lockup watchdog panics it")
            if fd.domains[comp.domain].holds == "host":
                for e in self.plan.vms.values():
                    e.paused_at = at
            else:
                self.stall(fd.in_domain(comp.domain), at, lambda k, i, w: panic, f"{comp.domain} hung")
            self.crash_domain(comp.domain, panic)

    def build(self) -> Plan:
        if self.fault == "crash":
            self.crash_domain(self.comp.domain, self.at)
        else:
            self.hang()
        self.plan.phases.sort(key=lambda p: (p.start, p.end))
        return self.plan


def plan(fd: FailureDomains, component: str, mode: str, at: float = 0.0, vm: str | None = None,
         draws: Mapping[str, float] | None = None) -> Plan:
    """What a ``mode`` fault (crash or hang) of ``component`` (of VM ``vm`` for a per-VM one) at ``at`` does to
    each VM of ``fd``, with the recovery's phases; ``draws`` replaces recovery costs by name (an uncertainty
    analysis's draw, :func:`kit.costs.recovery.sample`)."""
    if mode not in FAULT_MODES:
        raise HvkitError("not a failure mode", field="mode", value=mode, allowed=list(FAULT_MODES))
    comp = fd.component(component, fd.vm_index(vm))
    return _Planner(fd, comp, mode, at, draws).build()


def client_outage(windows: Sequence[Window]) -> float:
    """The longest a client of the VM waits, over its paths: a request that enters a path when its first window
    begins goes through when the windows that follow one another without a gap are over; over the network, at the
    TCP retransmission that comes after that (RFC 6298's doubling timer: a VM restarted answers the retransmission
    and the client reconnects)."""
    worst = 0.0
    for path in sorted({w.path for w in windows}):
        spans = sorted((w.start, w.end) for w in windows if w.path == path)
        start, end = spans[0]
        for s, e in spans[1:]:
            if s <= end:
                end = max(end, e)
        done = rc.retransmission_at(start, end) if path == "net" else end
        worst = max(worst, done - start)
    return worst


# ---- faults in a running host ---------------------------------------------------------------------------------

@dataclass
class _Counts:
    delayed: int = 0
    retransmitted: int = 0
    reissued: int = 0
    lost: int = 0
    longest_wait_s: float = 0.0


class FaultInjector:
    """Faults applied to a running host (``host.failures``): the workload drivers call :meth:`wait` at the entry of
    a network or disk path, so I/O entering a stalled path waits for it (TCP's retransmission for the network, the
    frontend's reissue for the disk); at a VM's end its vCPUs stop and its requests under way are lost; when it is
    back they run again (the lost requests' clients go on with new ones)."""

    def __init__(self, host: Any, plans: Sequence[Plan]) -> None:
        self.host, self.plans = host, list(plans)
        self.windows: dict[tuple[int, str], list[Window]] = {}
        for p in self.plans:
            for e in p.vms.values():
                for w in e.windows:
                    self.windows.setdefault((w.vm, w.path), []).append(w)
        self.counts = {g.i: _Counts() for g in host.guests}
        self.lost_tokens: set[int] = set()
        host.failures = self
        for p in self.plans:
            for e in p.vms.values():
                if not math.isnan(e.paused_at):
                    host.env.process(self._pause(e.vm, e.paused_at, e.back_at if not math.isnan(e.back_at)
                                                 else math.inf))
                if not math.isnan(e.died_at):
                    host.env.process(self._die(e.vm, e.died_at, e.back_at))

    def _guest(self, i: int):
        return next(g for g in self.host.guests if g.i == i)

    def _pause(self, i: int, at: float, until: float):
        env = self.host.env
        yield env.timeout(max(0.0, at - env.now))
        self._guest(i).vm.pause()
        if math.isfinite(until):
            yield env.timeout(max(0.0, until - env.now))
            self._guest(i).vm.resume()

    def _die(self, i: int, at: float, back: float):
        env, host = self.host.env, self.host
        yield env.timeout(max(0.0, at - env.now))
        g = self._guest(i)
        g.vm.pause()
        for token, (vm, _) in list(host.in_flight.items()):
            if vm == i:
                del host.in_flight[token]
                self.lost_tokens.add(token)
                self.counts[i].lost += 1
        if math.isfinite(back):
            yield env.timeout(max(0.0, back - env.now))
            g.vm.resume()

    def wait(self, g: Any, path: str, sent: float):
        """A generator: I/O of guest ``g`` entering its ``path`` now, first sent at ``sent``, waits while the path is
        down (for TCP until the retransmission that gets through)."""
        ws = self.windows.get((g.i, path))
        if not ws:
            return
        env = self.host.env
        now = env.now
        for w in ws:
            if w.start <= now < w.end:
                resume = w.end if w.inflight != "retransmit" else rc.retransmission_at(min(sent, now), w.end)
                c = self.counts[g.i]
                c.delayed += 1
                c.retransmitted += w.inflight == "retransmit"
                c.reissued += w.inflight == "reissue"
                c.longest_wait_s = max(c.longest_wait_s, resume - now)
                yield env.timeout(resume - now)
                return

    def outcomes(self, names: Sequence[str]) -> pd.DataFrame:
        """One row per VM: the worst effect of the faults on it, when it ended and was back, how long its paths
        were down, what a client waited at worst, and the requests delayed, retransmitted, reissued and lost."""
        rows = []
        for g in self.host.guests:
            i = g.i
            effects = [p.vms[i] for p in self.plans if i in p.vms]
            worst = max(effects, key=lambda e: EFFECTS.index(e.effect)) if effects else VmEffect(i)
            died = [e for e in effects if not math.isnan(e.died_at)]
            windows = [w for e in effects for w in e.windows]
            c = self.counts.get(i, _Counts())
            rows.append({
                "vm": names[i], "effect": worst.effect, "cause": worst.cause, "survived": not died,
                "died_at_s": min((e.died_at for e in died), default=math.nan),
                "back_at_s": max((e.back_at for e in effects if not math.isnan(e.back_at)), default=math.nan),
                "unavailable_s": _union(windows), "client_outage_s": client_outage(windows) if windows else 0.0,
                "requests_delayed": c.delayed, "retransmitted": c.retransmitted, "reissued": c.reissued,
                "requests_lost": c.lost, "longest_wait_s": c.longest_wait_s})
        return pd.DataFrame(rows)


def _union(windows: Sequence[Window]) -> float:
    """Seconds covered by any of ``windows`` (a VM down on both paths at once counts once)."""
    spans = sorted((w.start, w.end) for w in windows)
    total, cur_s, cur_e = 0.0, None, None
    for s, e in spans:
        if cur_e is None or s > cur_e:
            if cur_e is not None and cur_s is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None and cur_s is not None:
        total += cur_e - cur_s
    return total


def attach(host: Any, mode: Mode, scenario: Any) -> bool:
    """Lay ``host`` out as ``scenario``'s knobs say (a driver domain, a spare) and attach its faults; whether any
    were attached. The layout is checked even without faults (a driver domain under a mode without split drivers
    is refused, not ignored)."""
    knobs = scenario.host
    setup = HostSetup(driver_domain=knobs.driver_domain, spare_driver_domain=knobs.spare_driver_domain)
    if not scenario.faults and setup == HostSetup():
        return False
    names = scenario.vm_names()
    uses = {g.i: _paths_used(g.wl) for g in host.guests}
    fd = FailureDomains(mode, host.hw, names, setup, uses)
    if not scenario.faults:
        return False
    plans = [plan(fd, f.component, f.mode, float(f.time_s), f.vm) for f in scenario.faults]
    FaultInjector(host, plans)
    return True


def _paths_used(wl: Any) -> list[str]:
    """The I/O paths a workload uses: the network for streams and requests, the disk for disk requests."""
    out = []
    if wl.kind in ("stream", "request"):
        out.append("net")
    if wl.kind == "disk" or wl.per_unit.disk_ops > 0:
        out.append("disk")
    return out

"""What recovering from a failure costs: detecting it, restarting what failed, reconnecting what depended on it,
and what the I/O that was under way pays (TCP's retransmission timer, a block frontend reissuing its requests).

Each constant is ``(value, source, (low, high))``: the value used, where it comes from (a citation or "estimated,
because ..."), and the plausible range an uncertainty analysis draws from (:func:`sample`). Times are seconds.
The recovery paths that use them are in :mod:`kit.sim.failures`; restarting a VM whose state was lost is its
lifecycle's create and boot (:func:`kit.costs.lifecycle.restart_seconds`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = ["Cost", "DETECT_CRASH_S", "DETECT_HANG_S", "LOCKUP_DETECT_S", "NETDEV_WATCHDOG_S", "BLOCK_TIMEOUT_S",
           "DEVICE_RESET_S", "LINK_UP_S", "DOMAIN_DESTROY_S", "DOMAIN_BUILD_S", "DRIVER_DOMAIN_BOOT_S",
           "FRONTEND_RECONNECT_S", "PROCESS_RESTART_S", "HWDOM_REBOOT_DELAY_S", "FIRMWARE_POST_S",
           "HOST_BOOT_S", "OPERATOR_S", "TCP_RTO_MIN_S", "TCP_RTO_MAX_S", "COSTS", "value", "sample", "log_uniform",
           "retransmission_at"]

#: A recovery cost: (value, source, (low, high))
Cost = tuple[float, str, tuple[float, float]]

DETECT_CRASH_S: Cost = (0.01, "estimated, because a crashed domain or process is reported at once: Xen raises "
                              "VIRQ_DOM_EXC to dom0, whose toolstack watches @releaseDomain in xenstore, and a "
                              "process's parent (libvirtd, an orchestrator) gets SIGCHLD; plausible 1-100 ms",
                        (0.001, 0.1))
DETECT_HANG_S: Cost = (3.0, "estimated, because a hung domain or process that still exists is found by a health "
                            "check: a heartbeat every second and three missed before it is declared dead; plausible "
                            "1-30 s with other periods and thresholds", (1.0, 30.0))
LOCKUP_DETECT_S: Cost = (10.0, "Linux Documentation/admin-guide/lockup-watchdogs.rst: a hard lockup is detected "
                               "after watchdog_thresh (10 s by default) and a soft lockup after twice that; the kit "
                               "takes a host running VMs to be set to panic then (hardlockup_panic, softlockup_panic; "
                               "Linux's defaults only warn), and Xen's own watchdog (its watchdog boot option, "
                               "watchdog_timeout 5 s) to be on; plausible 5-20 s", (5.0, 20.0))
NETDEV_WATCHDOG_S: Cost = (5.0, "Linux net/sched/sch_generic.c dev_watchdog(): a transmit queue stopped longer than "
                                "the driver's watchdog_timeo calls its ndo_tx_timeout, which resets the adapter; "
                                "e1000e and ixgbe set watchdog_timeo to 5 s; plausible 2-20 s across drivers",
                          (2.0, 20.0))
BLOCK_TIMEOUT_S: Cost = (30.0, "Linux drivers/nvme/host/core.c: nvme_core.io_timeout defaults to 30 s, after which "
                               "the controller is reset and the requests are retried (the SCSI layer's default "
                               "timeout is 30 s as well); plausible 10-60 s", (10.0, 60.0))
DEVICE_RESET_S: Cost = (0.5, "estimated, because a driver's reset of its device (or its probe in a restarted "
                             "domain) resets the NIC or the storage controller, reallocates its rings and buffers and "
                             "reprograms it, a few hundred milliseconds; plausible 0.1-2 s", (0.1, 2.0))
LINK_UP_S: Cost = (2.0, "estimated, because after a reset the Ethernet link renegotiates (IEEE 802.3 clause 28 "
                        "autonegotiation and 1000BASE-T master-slave resolution, clause 73 and link training at "
                        "10-25 Gbit/s), commonly 1-3 s before frames flow; plausible 0.5-5 s", (0.5, 5.0))
DOMAIN_DESTROY_S: Cost = (0.1, "estimated, because destroying a small domain unmaps its grants and event channels "
                               "and returns its few hundred MiB to the hypervisor (scrubbed later, when idle); "
                               "plausible 0.02-0.5 s", (0.02, 0.5))
DOMAIN_BUILD_S: Cost = (0.5, "estimated, because xl/libxl builds a domain (memory, page tables, xenstore entries, "
                             "event channels) and runs its hotplug scripts, a few hundred milliseconds; plausible "
                             "0.2-2 s", (0.2, 2.0))
DRIVER_DOMAIN_BOOT_S: Cost = (2.0, "estimated, because a driver domain boots a small Linux kernel with only its "
                                   "device drivers and backends, and a minimal user space, in one to a few seconds; "
                                   "plausible 0.5-10 s", (0.5, 10.0))
FRONTEND_RECONNECT_S: Cost = (0.02, "estimated, because a frontend reconnects to a new backend through the xenbus "
                                    "state machine (a few xenstore transactions and watches, a new ring and event "
                                    "channel), tens of milliseconds per device; plausible 5-200 ms", (0.005, 0.2))
PROCESS_RESTART_S: Cost = (1.0, "estimated, because a supervisor (systemd) restarts a failed daemon after its "
                                "RestartSec (100 ms by default) and the daemon reloads its state in under a second; "
                                "plausible 0.2-10 s", (0.2, 10.0))
HWDOM_REBOOT_DELAY_S: Cost = (5.0, "Xen xen/common/shutdown.c hwdom_shutdown(): when the hardware domain (dom0) "
                                   "crashes, Xen prints 'rebooting machine in 5 seconds' and restarts the machine "
                                   "(machine_restart(5000))", (5.0, 5.0))
FIRMWARE_POST_S: Cost = (90.0, "estimated, because a two-socket server's firmware trains its memory and probes its "
                               "devices before the boot loader, one to a few minutes; plausible 30-300 s",
                         (30.0, 300.0))
HOST_BOOT_S: Cost = (30.0, "estimated, because the hypervisor or host kernel, its drivers and its management "
                           "services start in tens of seconds after the firmware; plausible 10-120 s", (10.0, 120.0))
OPERATOR_S: Cost = (900.0, "estimated, because what no automation restarts (a stuck kernel thread, a device model "
                           "that cannot be restarted under a running VM) waits for an operator's alert and action, "
                           "a quarter of an hour; plausible 5-60 minutes", (300.0, 3600.0))
TCP_RTO_MIN_S: Cost = (0.2, "Linux include/net/tcp.h: TCP_RTO_MIN is HZ/5 (200 ms), the retransmission timeout of "
                            "an established connection on a LAN, whose smoothed RTT is far below it (RFC 6298 "
                            "sets 1 s as the minimum; Linux uses 200 ms)", (0.2, 1.0))
TCP_RTO_MAX_S: Cost = (120.0, "Linux include/net/tcp.h: TCP_RTO_MAX is 120 s; RFC 6298 section 5.5 doubles the "
                              "timeout at each retransmission", (60.0, 120.0))

#: Every cost by name (for tables and the uncertainty analysis)
COSTS: dict[str, Cost] = {name: c for name, c in globals().items() if name.endswith("_S") and isinstance(c, tuple)}


def value(cost: Cost, draws: Mapping[str, float] | None = None, name: str = "") -> float:
    """The value of ``cost``, or the draw of it named ``name`` in ``draws``."""
    if draws is not None and name in draws:
        return draws[name]
    return cost[0]


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A draw between ``low`` and ``high``, uniform in their logarithm (a range spans factors, not differences);
    ``low`` itself when the range is a point (or starts at zero)."""
    return low if low >= high or low <= 0 else float(math.exp(rng.uniform(math.log(low), math.log(high))))


def sample(rng: np.random.Generator) -> dict[str, float]:
    """One draw of every cost, log-uniform over its plausible range (:func:`log_uniform`)."""
    return {name: log_uniform(rng, low, high) for name, (_, _, (low, high)) in COSTS.items()}


def retransmission_at(sent: float, back: float, rto: float = TCP_RTO_MIN_S[0],
                      rto_max: float = TCP_RTO_MAX_S[0]) -> float:
    """When a TCP segment first sent at ``sent`` and lost is retransmitted successfully, the path being back at
    ``back``: retransmissions at ``sent + rto``, then doubling intervals (RFC 6298, 5.5) capped at ``rto_max``; the
    first at or after ``back`` gets through."""
    t, step = sent + rto, rto
    while t < back:
        step = min(2 * step, rto_max)
        t += step
    return t

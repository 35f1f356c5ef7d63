"""When pre-copy stops iterating and how fast it sends, and what the downtime is made of besides the last pages.

Both engines of a live migration (the event engine of :mod:`kit.sim.migrator` and the round model of
:mod:`kit.sim.precopy_rounds`) ask a :class:`PrecopyPolicy` for each round's rate and, at its end, whether to stop:

- ``xen``: Xen's save tool as coded (``xc_linux_save.c`` of Xen 2.0 to 4.x, ADAPTIVE_SAVE): the first round at
  100 Mbit/s; after a round that dirtied pages faster than the current limit, the limit becomes that dirtying rate
  plus 50 Mbit/s, at most 500; pages dirtied again before their turn are skipped; it stops after a round at the
  maximum rate that sent more than the one before, after 30 rounds, when a round sent and skipped fewer than 50
  pages, or when three times memory has been sent; the last round at the current limit.
- ``clark``: the policy as Clark et al. describe it (NSDI 2005, section 5.1, dynamic rate-limiting): the same start
  and increment, the next round's limit the last round's dirtying rate plus 50 Mbit/s; pre-copy stops when that
  limit would exceed the maximum or when less than 256 KB remain; the stop-and-copy at the maximum rate.
- ``qemu``: QEMU's bandwidth cap, and the stop when the remaining dirty memory can be sent within the downtime
  limit at the bandwidth measured in the last round; the last stage at the link's rate.

The downtime is more than the last round's pages (:func:`downtime_steps`): the guest stops (a paravirtual guest
suspends itself), the CPU and device state follow the last pages, the target restores the VM, its devices
reconnect, and the guest's MAC address is announced so that the network delivers to the new host.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..costs.tracking import PAGE_BYTES
from ..inputs.modes import Mode

__all__ = ["XEN_POLICY", "CLARK_POLICY", "QEMU_POLICY", "PrecopyPolicy", "RoundEnd", "SUSPEND_S", "RESTORE_S",
           "PIN_TABLE_S", "RECONNECT_S", "downtime_steps", "POLICY_NAMES"]

#: Xen's adaptive pre-copy (tools/libxc/xc_linux_save.c, ADAPTIVE_SAVE; Clark et al., NSDI 2005, section 5)
XEN_POLICY = {
    "start_mbps": (100, "Xen tools/libxc/xc_linux_save.c: START_MBIT_RATE 100, the first round's rate limit"),
    "max_mbps": (500, "Xen tools/libxc/xc_linux_save.c: MAX_MBIT_RATE 500, the most the sender allows itself"),
    "step_mbps": (50, "Xen tools/libxc/xc_linux_save.c print_stats: when a round dirtied pages faster than the "
                      "current limit, the next limit is that dirtying rate plus 50 Mbit/s"),
    "max_iters": (29, "Xen tools/libxc/xc_linux_save.c: DEF_MAX_ITERS 29 ('limit us to 30 times round loop')"),
    "max_factor": (3, "Xen tools/libxc/xc_linux_save.c: DEF_MAX_FACTOR 3 ('never send more than 3x' memory)"),
    "min_pages": (50, "Xen tools/libxc/xc_linux_save.c: the last iteration starts when a round sent and skipped "
                      "fewer than 50 pages"),
}
#: Clark et al.'s dynamic rate-limiting, as the paper describes it
CLARK_POLICY = {
    "start_mbps": (100, "Clark et al., NSDI 2005, section 5.1: the first pre-copy round transfers pages at the "
                        "administrator's minimum bandwidth (100 Mbit/s in the evaluation)"),
    "max_mbps": (500, "Clark et al., NSDI 2005, section 5.1: the administrator's maximum bandwidth (500 Mbit/s in the "
                      "evaluation, Xen's MAX_MBIT_RATE)"),
    "step_mbps": (50, "Clark et al., NSDI 2005, section 5.1: each round's limit is the previous round's dirtying rate "
                      "plus a constant increment, empirically 50 Mbit/s"),
    "min_remaining_bytes": (256 * 1024, "Clark et al., NSDI 2005, section 5.1: pre-copying ends when less than 256 "
                                        "KB remain to be transferred"),
}
#: QEMU's pre-copy (migration/migration.c, migration/options.c)
QEMU_POLICY = {
    "max_bandwidth_mib_s": (128, "QEMU migration: MAX_THROTTLE (128 << 20), the default max-bandwidth in bytes/s"),
    "downtime_limit_ms": (300, "QEMU migration: DEFAULT_MIGRATE_SET_DOWNTIME 300 ms; the VM stops when the "
                               "remaining dirty memory can be sent in that time at the measured bandwidth"),
    "max_rounds": (60, "estimated, because QEMU itself iterates until the downtime limit is met (or forever); the "
                       "model stops after this many rounds and reports that the migration did not converge; fixed because "
                       "QEMU has no round limit: the cap only ends a migration that would never converge"),
}
POLICY_NAMES = ("xen", "clark", "qemu")

#: The guest stopping: a paravirtual guest suspends itself, another is paused by the hypervisor.
SUSPEND_S = ({"cooperative": 1e-3, "paused": 50e-6},
             "estimated, because a paravirtual guest is asked to suspend through its control channel (a message or "
             "a xenstore watch: a wakeup in dom0 and an event to the guest), and its suspend handler stops its "
             "frontends and saves its state before the suspend hypercall (Linux-xen drivers/xen/core/reboot.c "
             "__do_suspend), about a millisecond, plausible 0.3-3 ms; a hardware-virtualized guest is paused by "
             "the hypervisor, an IPI that takes each vCPU out of guest mode, while the device model stops its "
             "threads (QEMU vm_stop), tens of microseconds with no request in flight, plausible 10-500 us; plausible 0.3-3x because "
             "neither step has been timed here, and both are a few wakeups whose cost varies with the host")
#: Re-creating the VM on the target from the received state.
RESTORE_S = (0.5e-3, "estimated, because the target loads each vCPU's registers and the device models' state "
                     "through a few dozen calls into the hypervisor (xc_linux_restore's vcpu context, QEMU's "
                     "vmstate load and KVM_SET_* ioctls) before it unpauses the VM, a few hundred microseconds; "
                     "plausible 0.2-2 ms; plausible 2e-4 to 2e-3 because the calls' count and cost vary with the "
                     "vCPUs and devices")
#: Pinning one page-table page of a paravirtual guest on the target.
PIN_TABLE_S = (5e-6, "estimated, because xc_linux_restore pins every page-table page of a paravirtual guest "
                     "(MMUEXT_PIN_L*_TABLE), and Xen validates each of its 512 or 1024 entries and takes a type "
                     "reference on the page it maps, a few cycles each: about 5 us per table; plausible 2e-6 to 2e-5 because validation "
                     "skips empty entries and the type references' cost varies")
#: Entries of a page-table page whose pages the kernel's own map of the guest's memory covers.
TABLE_ENTRIES = (512, "x86 PAE and 64-bit page tables hold 512 entries per 4 KiB page (Intel SDM vol. 3A, 4.4-4.5): "
                      "the guest kernel's map of its memory takes one leaf table per 2 MiB")
#: Time for the devices to reconnect on the target, by I/O path.
RECONNECT_S = ({"split": 5e-3, "default": 5e-4},
               "estimated, because Xen split drivers and VMBus channels reconnect through a handshake with the new "
               "backend (the frontend and backend states Initialising, InitWait, Initialised and Connected, each a "
               "store write whose watch wakes the other side), about a millisecond per step, plausible 2-15 ms; "
               "emulated, virtio and vhost devices restore their state from the migration stream and restart their "
               "threads in well under a millisecond, plausible 0.1-2 ms; plausible 0.3-3x because the handshake's "
               "steps are wakeups whose cost depends on the toolstack")


@dataclass(frozen=True)
class RoundEnd:
    """What the sender knows when a pre-copy round ends."""

    index: int
    sent_pages: float
    skipped_pages: float
    duration_s: float
    dirty_pages: float
    remaining_bytes: float
    round_bytes: float
    total_sent_pages: float
    vm_pages: int
    #: standard deviation of ``sent_pages`` less the previous round's, when the counts are expectations (the round
    #: model); 0 when they are counts (the event engine)
    progress_sd: float = 0.0


class PrecopyPolicy:
    """One migration's pre-copy policy (see the module docstring): the rate of the next round and when to stop.

    Parameters
    ----------
    name : {"xen", "clark", "qemu"}
    max_mbps, min_mbps, downtime_limit_ms : float, optional
        Overrides of the policy's maximum and starting rates and of QEMU's downtime limit.
    """

    def __init__(self, name: str, max_mbps: float | None = None, min_mbps: float | None = None,
                 downtime_limit_ms: float | None = None) -> None:
        self.name = name
        self._sent_last: float | None = None
        #: chance that no round so far has stopped on "no progress", when the rounds are expectations
        self._going = 1.0
        if name in ("xen", "clark"):
            table = XEN_POLICY if name == "xen" else CLARK_POLICY
            self.rate = float(min_mbps or table["start_mbps"][0])
            self.max = float(max_mbps or table["max_mbps"][0])
            self.step = float(table["step_mbps"][0])
            self.downtime_s = float("nan")
        else:
            cap = max_mbps or QEMU_POLICY["max_bandwidth_mib_s"][0] * 8 * 1.048576
            self.rate = self.max = float(cap)
            self.step = 0.0
            self.downtime_s = (downtime_limit_ms or QEMU_POLICY["downtime_limit_ms"][0]) / 1000.0

    @property
    def skips(self) -> bool:
        """Whether a round skips pages dirtied again before their turn (Xen's sender does)."""
        return self.name in ("xen", "clark")

    @property
    def final_mbps(self) -> float | None:
        """The stop-and-copy's rate limit (None: the link's rate)."""
        if self.name == "xen":
            return self.rate
        return self.max if self.name == "clark" else None

    def _no_progress(self, end: RoundEnd) -> bool:
        """Xen's test that a round at the maximum rate sent more pages than the one before. With expected counts it
        holds from the round by which half of the event engine's runs would have seen it: each round's chance is
        that of a normal difference of counts exceeding its mean decrease."""
        if self._sent_last is None or self.rate < self.max:
            return False
        drop = self._sent_last - end.sent_pages
        if end.progress_sd <= 0.0:
            return drop < 0
        self._going *= 1.0 - 0.5 * math.erfc(drop / (end.progress_sd * math.sqrt(2.0)))
        return self._going <= 0.5

    def after_round(self, end: RoundEnd) -> str | None:
        """Why pre-copy stops after the round ``end`` (None: it goes on, at :attr:`rate`)."""
        dirty_mbps = end.dirty_pages * PAGE_BYTES * 8 / max(end.duration_s, 1e-9) / 1e6
        if self.name == "xen":
            reasons = [(self._no_progress(end), "no progress at the maximum rate"),
                       (end.index >= XEN_POLICY["max_iters"][0], "round limit (30 rounds)"),
                       (end.sent_pages + end.skipped_pages < XEN_POLICY["min_pages"][0], "fewer than 50 pages left"),
                       (end.total_sent_pages > end.vm_pages * XEN_POLICY["max_factor"][0], "three times memory sent")]
            if dirty_mbps > self.rate:
                self.rate = min(dirty_mbps + self.step, self.max)
        elif self.name == "clark":
            nxt = max(self.rate, dirty_mbps + self.step)
            reasons = [(end.dirty_pages * PAGE_BYTES < CLARK_POLICY["min_remaining_bytes"][0],
                        "less than 256 KB left"),
                       (nxt > self.max, "the next rate would exceed the maximum"),
                       (end.index >= XEN_POLICY["max_iters"][0], "round limit (30 rounds)"),
                       (end.total_sent_pages > end.vm_pages * XEN_POLICY["max_factor"][0], "three times memory sent")]
            self.rate = min(nxt, self.max)
        else:
            bandwidth = end.round_bytes / max(end.duration_s, 1e-9)
            reasons = [(end.remaining_bytes <= bandwidth * self.downtime_s, "expected downtime under the limit"),
                       (end.index >= QEMU_POLICY["max_rounds"][0], "round limit: did not converge")]
        self._sent_last = end.sent_pages
        stop = [why for cond, why in reasons if cond]
        return stop[0] if stop else None


def downtime_steps(mode: Mode, vm_pages: int, wire_s: float) -> dict[str, float]:
    """Seconds of each step of the downtime besides the pages and the state: ``suspend`` before the last round, and
    after it ``restore`` (with a paravirtual guest's page tables pinned), ``reconnect`` and ``announce`` (one frame
    of a gratuitous ARP or RARP to the switch, which then delivers the VM's traffic to the target)."""
    cooperative = mode.cpu_part.paravirtual_kernel
    suspend = SUSPEND_S[0]["cooperative" if cooperative else "paused"]
    restore = RESTORE_S[0]
    if mode.memory_part.paravirtual_tables:
        restore += vm_pages / TABLE_ENTRIES[0] * PIN_TABLE_S[0]
    io = mode.io_part
    reconnect = RECONNECT_S[0]["split" if (io.split_driver or io.vmbus) else "default"]
    return {"suspend": suspend, "restore": restore, "reconnect": reconnect, "announce": wire_s}

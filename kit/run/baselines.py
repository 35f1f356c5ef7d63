"""What a run is compared with: its native baseline (:func:`native_spec`, :func:`native_value`), keyed on exactly
the hardware values native reads and computed once per process (a sweep loads and stores them), and the same
spec alone on the host (:func:`alone_spec`, :func:`alone_value`) for ``interference``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from ..version import __version__
from .simulation import _simulate

if TYPE_CHECKING:
    from ..inputs.hardware import Hardware
    from ..inputs.resolve import Resolved
    from ..inputs.spec import Spec

__all__ = ["NATIVE_KEEPS", "native_spec", "alone_spec", "baseline_description", "Baseline", "BASELINE_CACHE_SIZE",
           "baseline_stats", "baseline_base", "baseline_reads", "native_value", "native_baseline", "add_baseline",
           "take_new_baselines", "alone_value", "baseline_warnings"]


#: Mode settings the native baseline keeps: the guest OS's page size, the software era's speculative-execution
#: mitigations and the host's DMA remapping
NATIVE_KEEPS = ("guest_page", "mitigations", "dma_remap")


def native_spec(spec: Spec, keep_neighbor: bool = False) -> Spec:
    """The native baseline of a spec: same hardware, workload, seed, vCPUs, VMs, physical CPUs and pinning, alone
    on the host (no neighbour; with ``keep_neighbor`` the same neighbour, natively).

    Mode overrides do not apply to native and are dropped, except the guest page
    size, which belongs to the guest OS, the speculative-execution mitigations, which
    belong to the software era of both, and the host's DMA remapping; hardware and
    workload overrides are kept. :func:`baseline_description` says this in words for a given spec.
    """
    from ..inputs.spec import Spec
    data = spec.model_dump()
    guest = tuple((k, v) for k, v in spec.mode if k in NATIVE_KEEPS)
    data.update(hypervisor="native", mode=guest, dom0_vcpus=1)
    if not keep_neighbor:
        data.update(neighbor=None, neighbor_vcpus=1)
    return Spec(**data)


def alone_spec(spec: Spec) -> Spec:
    """The same spec with no neighbour: what :func:`run`'s ``interference`` is measured against."""
    from ..inputs.spec import Spec
    return Spec(**{**spec.model_dump(), "neighbor": None, "neighbor_vcpus": 1})


def baseline_description(spec: Spec) -> str:
    """What the native baseline of ``spec`` (:func:`native_spec`) shares with it and what it does not, in words."""
    if spec.hypervisor == "native" and spec == native_spec(spec):
        return "this run is native alone: its own baseline"
    mode = dict(spec.mode)
    guest = mode.get("guest_page")
    shared = [f"hardware {spec.hardware}" + (" with " + ", ".join(f"hw.{k}={v}" for k, v in spec.hw)
                                             if spec.hw else ""),
              f"workload {spec.workload}" + (" with " + ", ".join(f"workload.{k}={v}" for k, v in spec.params)
                                             if spec.params else ""),
              f"{spec.vms} VM{'s' if spec.vms > 1 else ''} x {spec.vcpus} vCPU{'s' if spec.vcpus > 1 else ''}",
              "the same seed",
              f"{spec.pcpus} physical CPUs" if spec.pcpus else "all physical CPUs",
              "pinned" if spec.pin else "unpinned",
              f"guest pages {guest} (the guest OS's)" if guest else "default guest pages"]
    shared += [f"{k}={mode[k]} (the software era's)" if k == "mitigations" else f"{k}={mode[k]} (the host's)"
               for k in NATIVE_KEEPS[1:] if k in mode]
    if spec.weights:
        shared.append("weights " + ",".join(map(str, spec.weights)))
    if spec.caps:
        shared.append("caps " + ",".join(map(str, spec.caps)))
    differs = []
    if spec.neighbor:
        differs.append(f"no neighbour (this run has {spec.neighbor} on {spec.neighbor_vcpus} vCPU"
                       f"{'s' if spec.neighbor_vcpus > 1 else ''})")
    dropped = [f"{k}={v}" for k, v in spec.mode if k not in NATIVE_KEEPS]
    if dropped:
        differs.append("not the mode's settings " + ", ".join(dropped) + " (no hypervisor: e.g. no host page table)")
    elif spec.hypervisor != "native":
        differs.append(f"no hypervisor (no {spec.hypervisor} paths, no host page table)")
    return "native alone on the host; shares: " + ", ".join(shared) + (
        "; differs: " + "; ".join(differs) if differs else "")



class _HardwareReads:
    """A hardware profile that records which of its values a run reads (to key native baselines on exactly that).

    Names are ``params.<name>``, ``features.<name>`` or a top-level field (``arch``, ``year``, ``id``...).
    """

    def __init__(self, hw: Hardware) -> None:
        self._hw = hw
        self.reads: set[str] = set()

    def val(self, name: str) -> float:
        self.reads.add(f"params.{name}")
        return self._hw.val(name)

    def opt(self, name: str) -> float | None:
        self.reads.add(f"params.{name}")
        return self._hw.opt(name)

    @property
    def pcpus(self) -> int:
        return int(self.val("sockets") * self.val("cores_per_socket") * self.val("threads_per_core"))

    @property
    def is_arm(self) -> bool:
        self.reads.add("arch")
        return self._hw.is_arm

    @property
    def features(self) -> Any:
        return _FeatureReads(self._hw.features, self.reads)

    def __getattr__(self, name: str) -> Any:
        self.reads.add(name)
        return getattr(self._hw, name)


class _FeatureReads:
    def __init__(self, features: Any, reads: set[str]) -> None:
        self._features, self._reads = features, reads

    def __getattr__(self, name: str) -> Any:
        self._reads.add(f"features.{name}")
        return getattr(self._features, name)


def _read(hw: Hardware, name: str) -> Any:
    """The value a :class:`_HardwareReads` name stands for."""
    if name.startswith("params."):
        return hw.opt(name[7:])
    if name.startswith("features."):
        return getattr(hw.features, name[9:])
    return getattr(hw, name)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A native run, keyed on what it read: ``base`` (its spec without hardware overrides) and the values of the
    hardware parameters and features it read (``names``, ``values``). ``spec`` is the native spec with only the
    overrides it read and ``summary`` its summary row (None when it came from a sweep store)."""

    base: str
    names: tuple[str, ...]
    values: tuple
    value: float
    spec: Spec | None = None
    summary: dict | None = None


#: Native baselines known to this process: base key -> baselines (computed here, or loaded from a sweep store).
_BASELINES: dict[str, list[Baseline]] = {}
#: Baselines computed since :func:`take_new_baselines` was last called (a sweep stores them).
_NEW_BASELINES: list[Baseline] = []
#: Most base keys kept (a sweep over a hardware value has one base per workload and knob setting).
BASELINE_CACHE_SIZE = 1024
#: How many native baselines were computed and how many reused (for benchmarks and tests).
baseline_stats = {"computed": 0, "reused": 0}


def _baseline_key(spec: Spec, keep_neighbor: bool = False) -> str:
    """Everything the native run of ``spec`` reads except the hardware overrides (compared value by value, see
    :func:`native_value`): the key of ``native_spec(spec, keep_neighbor)`` without them, computed without
    building it, the content of the profile and workloads it names (:func:`kit.inputs.resolve.content_digest`), and
    the path lengths and constants replaced in force (:func:`kit.costs.codepaths.overrides_in_force`), which native
    reads too (its stack's driver share, ``kvm.host_driver_pkt``)."""
    from ..costs.codepaths import overrides_in_force
    from ..inputs.resolve import content_digest
    return baseline_base(spec.model_dump(mode="json"), keep_neighbor,
                         content_digest(spec, neighbor=keep_neighbor) + overrides_in_force())


def baseline_base(data: dict, keep_neighbor: bool = False, digest: str = "") -> str:
    """:func:`_baseline_key` of the spec whose JSON form (``model_dump(mode="json")``) is ``data`` (a sweep has
    it already) and whose files' content digest is ``digest`` (:func:`kit.inputs.resolve.content_digest` with
    ``neighbor=keep_neighbor``)."""
    data = {**data, "hypervisor": "native", "mode": [[k, v] for k, v in data["mode"] if k in NATIVE_KEEPS],
            "dom0_vcpus": 1, "hw": []}
    if not keep_neighbor:
        data.update(neighbor=None, neighbor_vcpus=1)
    # the content of the files it names, not their paths: an edited workload or profile is a new baseline
    blob = json.dumps(data, sort_keys=True) + __version__ + digest
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def baseline_reads(spec: Spec, names: Sequence[str]) -> tuple:
    """The values of the hardware parameters and features ``names`` (a :class:`Baseline`'s) for ``spec``, from its
    profile and its overrides without resolving them: what says, in a sweep's parent, whether a baseline already
    known serves a point. Only a shortcut: a worker compares the resolved values again (:func:`native_value`), so
    a value written differently only costs a native run."""
    from ..inputs.hardware import load_hardware
    hw = load_hardware(spec.hardware)
    over = dict(spec.hw)
    out = []
    for n in names:
        if n.startswith("params.") and n[7:] in over:
            out.append(over[n[7:]])
        elif n.startswith("features.") and n in over:
            out.append(over[n])
        else:
            out.append(_read(hw, n))
    return tuple(out)


def native_value(spec: Spec, hw: Hardware | None = None, keep_neighbor: bool = False) -> float:
    """The metric of ``spec``'s native baseline (alone, or with ``keep_neighbor`` beside the same neighbour),
    computed once per process for what native reads.

    A native run is keyed on its spec without hardware overrides, plus the values of exactly the hardware
    parameters and features it read (recorded the first time): a sweep over a value native never reads, such as
    the VM exit latency, has one native run per workload and setting, not one per point.
    """
    return native_baseline(spec, hw, keep_neighbor).value


def native_baseline(spec: Spec, hw: Hardware | None = None, keep_neighbor: bool = False) -> Baseline:
    """The :class:`Baseline` :func:`native_value` answers from: one known to this process whose reads have this
    spec's values, or a native run made now (and remembered)."""
    from ..inputs.modes import hypervisor
    from ..inputs.resolve import resolve, resolve_platform
    base = _baseline_key(spec, keep_neighbor)
    entries = _BASELINES.get(base, [])
    if entries:
        if hw is None:  # the spec's hardware with its overrides, which native keeps
            hw = resolve_platform(spec.hardware, "native", dict(spec.hw))[0]
        for b in entries:
            if tuple(_read(hw, n) for n in b.names) == b.values:
                baseline_stats["reused"] += 1
                return b
    native = native_spec(spec, keep_neighbor)
    res = resolve(native)
    tracked = _HardwareReads(res.hw)
    hw = cast("Hardware", tracked)  # what the mode's resolution and the run read of it is recorded
    res = dataclasses.replace(res, hw=hw, mode=hypervisor("native", hw, **dict(native.mode)))
    s = _simulate(native, -1, "native", resolved=res, tables=False)[0]
    res = dataclasses.replace(res, hw=tracked._hw)
    names = tuple(sorted(tracked.reads))
    read_hw = {k: v for k, v in native.hw if (k if k.startswith("features.") else f"params.{k}") in names}
    s.update(native_value=s["value"], relative_performance=1.0)
    b = Baseline(base, names, tuple(_read(res.hw, n) for n in names), s["value"], native.replace(hw=read_hw), s)
    add_baseline(b)
    _NEW_BASELINES.append(b)
    del _NEW_BASELINES[:-BASELINE_CACHE_SIZE]  # nobody takes them outside a sweep: keep the newest only
    baseline_stats["computed"] += 1
    return b


def add_baseline(b: Baseline) -> None:
    """Make a native baseline known to this process (a sweep loads the ones its store holds)."""
    if b.base not in _BASELINES and len(_BASELINES) >= BASELINE_CACHE_SIZE:
        _BASELINES.pop(next(iter(_BASELINES)))
    entries = _BASELINES.setdefault(b.base, [])
    if all(e.names != b.names or e.values != b.values for e in entries):
        entries.append(b)


def take_new_baselines() -> list[Baseline]:
    """The baselines computed since the last call (and forget them)."""
    out = list(_NEW_BASELINES)
    _NEW_BASELINES.clear()
    return out


#: Values of the same spec alone on the host (no neighbour), for ``interference``: spec key -> value
_ALONE: dict[str, float] = {}


def alone_value(spec: Spec) -> float:
    """The metric of ``spec`` with no neighbour (:func:`alone_spec`), computed once per process."""
    from ..inputs.spec import Spec
    alone = alone_spec(spec)
    if alone.hypervisor == "native" and alone == native_spec(alone):
        return native_value(alone)
    from ..costs.codepaths import overrides_in_force
    from ..inputs.resolve import content_digest
    key = Spec.key(alone, __version__ + content_digest(alone) + overrides_in_force())
    if key not in _ALONE:
        if len(_ALONE) >= BASELINE_CACHE_SIZE:
            _ALONE.pop(next(iter(_ALONE)))
        _ALONE[key] = float(_simulate(alone, -1, "alone", tables=False)[0]["value"])
    return _ALONE[key]


def baseline_warnings(spec: Spec, native: float, resolved: Resolved | None = None) -> str:
    """What makes the native baseline of ``spec`` (its metric ``native``) doubtful as a measurement, prefixed
    ``native baseline:``: a rate above the hardware's peaks (:func:`kit.results.validity.peak_warnings`); a run is
    only as good as what it is compared with. ``resolved``: ``resolve(spec)`` if the caller has it; the peaks and
    demands read only the profile with its overrides, the workload with its parameters and the duration, which
    the native run keeps (:func:`native_spec`), so the spec's own resolution answers for it."""
    from ..inputs.resolve import resolve
    from ..results.validity import peak_warnings
    res = resolved if resolved is not None and resolved.spec == spec and not resolved.vms else resolve(
        native_spec(spec))
    found = peak_warnings(res, native)
    return "; ".join(f"native baseline: {w}" for w in found)

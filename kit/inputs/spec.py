"""The one frozen specification of a run, and the one ``--set`` language.

Widgets, the command line, sweeps, notebooks and tests all build a :class:`Spec` and hand it to
:func:`kit.run`. Variants are made with :meth:`Spec.replace` or :meth:`Spec.with_sets`, never by mutation.

``--set key=value`` is parsed here and nowhere else (:func:`parse_set`, :func:`route`): a key is a top-level
knob (``vcpus``, ``pcpus``, ``weights``...), a mode part (``memory``, ``io``, ``interrupts``, page sizes), a
hardware value (``hw.<parameter>``, ``hw.features.<name>``) or a workload parameter (``workload.<name>``).
Values are stored canonically (numbers as numbers, booleans as booleans), so a spec built from the command line
equals the same spec built in Python.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from ..errors import HvkitError, format_validation_error
from .coerce import Bool, Int, Num, strict_int, to_bool, to_number
from .hardware import Features
from .modes import PARTS

__all__ = ["Spec", "ENGINES", "MAX_DURATION_S", "MAX_SEED", "SET_KEYS", "TOP_KEYS", "MODE_KEYS", "Overrides", "parse_set", "parse_sets", "route",
           "format_value"]

TOP_KEYS = frozenset({"hardware", "hypervisor", "workload", "vcpus", "vms", "duration", "seed", "pcpus", "pin",
                      "weights", "caps", "dom0_vcpus", "net_queues", "neighbor", "neighbor_vcpus", "engine",
                      "precision"})
#: How a run is computed: ``hybrid`` (the default: the closed form where nothing contends, fluid processor
#: sharing for CPU-bound work, discrete events where an outcome depends on them) or ``discrete`` (every slice and
#: tick simulated; the reference the hybrid engine is tested against, and what a timeline needs).
ENGINES = ("hybrid", "discrete")
#: Mode parts that are switches rather than choices
MODE_SWITCHES = frozenset({"shadow_cache"})
MODE_KEYS = frozenset(PARTS) | MODE_SWITCHES
#: Other spellings accepted for a key (the reference and the README use the canonical one on the right)
ALIASES = {"memory.guest_page": "guest_page", "memory.host_page": "host_page", "memory.technique": "memory"}

#: Most vCPUs a VM may have
MAX_VCPUS = 256
#: Most VMs on a host (a consolidation study of small VMs reaches hundreds)
MAX_VMS = 256
#: Longest simulated run, in seconds
MAX_DURATION_S = 3600
#: Largest seed: a signed 64-bit integer, what a table (Parquet, NumPy) holds exactly
MAX_SEED = 2 ** 63 - 1

#: What ``--set`` reaches, for error messages.
SET_KEYS = sorted(TOP_KEYS) + sorted(MODE_KEYS) + sorted(ALIASES) + ["hw.<parameter>", "hw.features.<name>",
                                                                     "workload.<parameter>"]


def parse_set(item: str) -> tuple[str, str]:
    """One ``key=value`` argument as a pair; a one-line error when it is not one."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise HvkitError("--set takes key=value", field="--set", value=item,
                         allowed="e.g. memory=shadow, hw.exit_roundtrip_cycles=500, workload.mtu=500")
    return key.strip(), value.strip()


def parse_sets(items: Iterable[str] | None) -> list[tuple[str, str]]:
    return [parse_set(item) for item in items or []]


@dataclass(frozen=True)
class Overrides:
    """``--set`` pairs sorted by destination (canonical values)."""

    top: dict = field(default_factory=dict)
    mode: dict = field(default_factory=dict)
    hw: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def route(pairs: Iterable[tuple[str, Any]] | Mapping[str, Any]) -> Overrides:
    """Sort ``(key, value)`` pairs by what they set; unknown keys are refused."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    out = Overrides()
    for key, value in items:
        key = ALIASES.get(key, key)
        if key in TOP_KEYS:
            out.top[key] = value
        elif key.startswith("hw."):
            name = key[3:]
            out.hw[name] = _canonical_hw(name, value)
        elif key.startswith("workload."):
            out.params[key[9:]] = _canonical_number(value, f"--set {key}")
        elif key.startswith("mode.") or key in MODE_KEYS:
            name = key[5:] if key.startswith("mode.") else key
            out.mode[name] = _canonical_mode(name, value)
        else:
            raise HvkitError("unknown setting", field=f"--set {key}", value=key, allowed=SET_KEYS)
    return out


def _canonical_number(value: Any, where: str) -> Any:
    """Numeric text as int or float; numbers checked finite; other text left as it is."""
    if isinstance(value, str):
        text = value.strip()
        for cast in (int, float):
            try:
                value = cast(text)
                break
            except ValueError:
                continue
        else:
            return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        to_number(value, field=where)  # refuses NaN and infinities
    return value


def _canonical_hw(name: str, value: Any) -> Any:
    if name.startswith("features."):
        info = Features.model_fields.get(name.split(".", 1)[1])
        if info is not None and info.annotation is bool:
            return to_bool(value, field=f"hw.{name}")
        return value
    value = _canonical_number(value, f"hw.{name}")
    if isinstance(value, (str, bool)):
        to_number(value, field=f"hw.{name}")  # a one-line error: hardware values are numbers
    return value


def _canonical_mode(name: str, value: Any) -> Any:
    if name in MODE_SWITCHES:
        return to_bool(value, field=name)
    return value if isinstance(value, bool) else str(value)


def format_value(value: Any) -> str:
    """A canonical value as ``--set`` text (``true``/``false`` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _freeze(d: Any) -> tuple:
    if d is None:
        return ()
    if isinstance(d, Mapping):
        d = d.items()
    return tuple(sorted((str(k), v) for k, v in d))


class Spec(BaseModel):
    """Hardware, hypervisor mode, workload and knobs of one run.

    Each field below is a keyword of ``Spec(...)``; ``hardware``, ``hypervisor`` and ``workload`` are required,
    every other field has the default given.

    Attributes
    ----------
    hardware : str
        Profile id (``hvkit list hardware``) or a YAML path. Required.
    hypervisor : str
        Mode preset (``hvkit list hypervisors``). Required.
    workload : str
        Workload id (``hvkit list workloads``) or a YAML path. Required.
    vcpus : int
        vCPUs per VM (default 1).
    vms : int
        Identical VMs on the host (default 1).
    duration : float or None
        Simulated seconds (default None: the workload's).
    seed : int
        Seed of every random stream of the run (default 0).
    pcpus : int or None
        Physical CPUs the host offers (default None: the profile's logical CPUs).
    pin : bool
        Pin vCPU ``i`` of every VM to physical CPU ``i mod pcpus`` (default False).
    weights : tuple of int or None
        Scheduler weight of each VM (Xen credit weight or CFS shares; default None: 256 each).
    caps : tuple of int or None
        Xen credit cap of each VM in percent of one physical CPU (0: no cap; default None: no caps).
    dom0_vcpus : int
        vCPUs of Xen's dom0 (or Hyper-V's root partition) that run the backends (default 1: a testbed that
        pins dom0 to one CPU; Xen without dom0_max_vcpus would give dom0 every CPU).
    net_queues : int
        Queue pairs of a VM's virtio-net device, each served by its own vhost worker (default 1, QEMU's default;
        multiqueue needs ``queues=N`` on the device and ``ethtool -L`` in the guest).
    neighbor : str or None
        A workload for one more VM on the host, under the same mode, that is not measured: the noisy neighbour
        of an isolation study (default None).
    neighbor_vcpus : int
        vCPUs of the neighbour VM (default 1).
    engine : {"hybrid", "discrete"}
        How the run is computed (``ENGINES``; default "hybrid"); both give the same answer within sampling
        noise (``tests/test_equivalence.py``).
    precision : float or None
        Stop a request or disk workload early, once the 95% confidence interval of its metric is narrower
        than this fraction of the mean (``duration`` is then the longest it runs); default None: run the whole
        duration (reproducible papers and the CLI).
    mode : tuple of (str, value)
        Overrides of mode parts, e.g. ``{"memory": "shadow"}`` (default: none).
    hw : tuple of (str, value)
        Overrides of hardware values, e.g. ``{"features.apicv": False}`` (default: none).
    params : tuple of (str, value)
        Overrides of workload parameters, e.g. ``{"clients": 4}`` (default: none).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    hardware: str = Field(description="profile id or YAML path")
    hypervisor: str = Field(description="mode preset")
    workload: str = Field(description="workload id or YAML path")
    vcpus: Int = Field(1, ge=1, le=MAX_VCPUS, description="vCPUs per VM")
    vms: Int = Field(1, ge=1, le=MAX_VMS, description="identical VMs on the host")
    duration: Num | None = Field(None, gt=0, le=MAX_DURATION_S, description="simulated seconds (default: the workload's)")
    seed: Int = Field(0, ge=0, le=MAX_SEED, description="seed of every random stream of the run (at most 2**63 - 1: "
                                                        "a signed 64-bit integer, exact in every table)")
    pcpus: Int | None = Field(None, ge=1, le=1024, description="physical CPUs the host offers (default: the profile's)")
    pin: Bool = Field(False, description="pin vCPU i of every VM to physical CPU i mod pcpus")
    weights: tuple[Int, ...] | None = Field(None, description="scheduler weight of each VM (default 256)")
    caps: tuple[Int, ...] | None = Field(None, description="cap of each VM in percent of one CPU (0: no cap)")
    dom0_vcpus: Int = Field(1, ge=1, le=64, description="vCPUs of Xen's dom0 or Hyper-V's root partition")
    net_queues: Int = Field(1, ge=1, le=64, description="virtio-net queue pairs, each with its own vhost worker")
    neighbor: str | None = Field(None, description="workload of an unmeasured neighbour VM")
    neighbor_vcpus: Int = Field(1, ge=1, le=64, description="vCPUs of the neighbour VM")
    engine: Literal["hybrid", "discrete"] = Field(
        "hybrid", description="hybrid: closed form or fluid CPU sharing where exact, events where outcomes depend "
                              "on them; discrete: every slice an event (timelines, equivalence checks)")
    precision: Num | None = Field(None, gt=0, lt=1, description="stop request/disk/stream runs once the 95% "
                                                               "interval of the metric is within this fraction")
    mode: tuple[tuple[str, Any], ...] = Field((), description="overrides of mode parts")
    hw: tuple[tuple[str, Any], ...] = Field((), description="overrides of hardware values")
    params: tuple[tuple[str, Any], ...] = Field((), description="overrides of workload parameters")

    @field_validator("mode", "hw", "params", mode="before")
    @classmethod
    def _freeze_maps(cls, v: Any) -> tuple:
        return _freeze(v)

    @model_validator(mode="after")
    def _canonical_overrides(self) -> Spec:
        """Mode, hardware and workload overrides in the ``--set`` language's canonical form."""
        ov = route([(f"mode.{k}", v) for k, v in self.mode] + [(f"hw.{k}", v) for k, v in self.hw]
                   + [(f"workload.{k}", v) for k, v in self.params])
        for name, values in (("mode", ov.mode), ("hw", ov.hw), ("params", ov.params)):
            object.__setattr__(self, name, _freeze(values))
        return self

    @field_validator("weights", "caps", mode="before")
    @classmethod
    def _per_vm_list(cls, v: Any, info: ValidationInfo) -> list[int] | None:
        """Comma-separated text or a list: one integer per VM. Weights are positive; a cap of 0 means uncapped."""
        if isinstance(v, str):
            v = [x.strip() for x in v.split(",") if x.strip()]
        if v is None:
            return v
        values = [strict_int(x) for x in v]
        if info.field_name == "weights" and any(w <= 0 for w in values):
            raise ValueError("weights must be positive")
        if info.field_name == "caps" and any(c < 0 or c > 100 * MAX_VCPUS for c in values):
            raise ValueError("caps are percent of one CPU, 0 for no cap")
        return values

    @classmethod
    def make(cls, **kw: Any) -> Spec:
        """Validated construction with a readable error."""
        try:
            spec = cls(**kw)
        except ValidationError as exc:
            raise format_validation_error(exc, "spec", cls) from None
        for name in ("weights", "caps"):
            v = getattr(spec, name)
            if v is not None and len(v) != spec.vms:
                raise HvkitError("one value per VM", where="spec", field=name, value=list(v),
                                 allowed=f"{spec.vms} integers")
        for key, _ in spec.mode:
            if key not in MODE_KEYS:
                raise HvkitError("unknown hypervisor part", where="spec", field=f"mode.{key}", value=key,
                                 allowed=sorted(MODE_KEYS))
        return spec

    def replace(self, **kw: Any) -> Spec:
        """A copy with fields replaced (validated)."""
        data = self.model_dump()
        data.update(kw)
        return Spec.make(**data)

    def with_sets(self, pairs: Iterable[tuple[str, Any]] | Mapping[str, Any]) -> Spec:
        """A copy with ``--set key=value`` pairs applied."""
        ov = route(pairs)
        data = self.model_dump()
        data.update(ov.top)
        data.update(mode={**dict(self.mode), **ov.mode}, hw={**dict(self.hw), **ov.hw},
                    params={**dict(self.params), **ov.params})
        return Spec.make(**data)

    def key(self, version: str = "") -> str:
        """A stable hash of the spec (and the kit version)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True) + version
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label(self) -> str:
        return f"{self.hypervisor}/{self.workload}@{self.hardware}"



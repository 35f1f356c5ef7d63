"""The one frozen specification of a run.

Widgets, the command line, sweeps, notebooks and tests all build a
:class:`Spec` and hand it to :func:`kit.run`. Variants are made with
:meth:`Spec.replace` or :meth:`Spec.with_sets`, never by mutation.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import HvkitError, format_validation_error
from .modes import PARTS

__all__ = ["Spec", "SET_KEYS"]

_TOP = {"hardware", "hypervisor", "workload", "vcpus", "vms", "duration", "seed", "pcpus", "pin", "weights", "caps",
        "dom0_vcpus", "neighbor", "neighbor_vcpus"}
_MODE_KEYS = set(PARTS) | {"shadow_cache"}
_ALIASES = {"memory.guest_page": "guest_page", "memory.host_page": "host_page", "memory.technique": "memory"}

#: What ``--set`` reaches, for error messages.
SET_KEYS = sorted(_TOP) + sorted(_MODE_KEYS) + sorted(_ALIASES) + ["hw.<parameter>", "hw.features.<name>",
                                                                   "workload.<parameter>"]


def _freeze(d) -> tuple:
    if d is None:
        return ()
    if isinstance(d, dict):
        d = d.items()
    return tuple(sorted((str(k), v) for k, v in d))


class Spec(BaseModel):
    """Hardware, hypervisor mode, workload and knobs of one run.

    Parameters
    ----------
    hardware, hypervisor, workload : str
        Profile id (or YAML path), mode preset, workload id (or YAML path).
    vcpus : int
        vCPUs per VM.
    vms : int
        Identical VMs on the host.
    duration : float, optional
        Simulated seconds (default: the workload's).
    seed : int
        Seed of every random stream of the run.
    pcpus : int, optional
        Physical CPUs the host offers (default: the profile's logical CPUs).
    pin : bool
        Pin vCPU ``i`` of every VM to physical CPU ``i mod pcpus``.
    weights : tuple of int, optional
        Scheduler weight of each VM (Xen credit weight or CFS shares; default 256).
    caps : tuple of int, optional
        Xen credit cap of each VM in percent of one physical CPU (0: no cap).
    dom0_vcpus : int
        vCPUs of Xen's dom0 (or Hyper-V's root partition).
    neighbor : str, optional
        A workload for one more VM on the host, under the same mode, that is not
        measured: the noisy neighbour of an isolation study.
    neighbor_vcpus : int
        vCPUs of the neighbour VM.
    mode, hw, params : tuple of (key, value)
        Overrides of mode parts, hardware values and workload parameters.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    hardware: str
    hypervisor: str
    workload: str
    vcpus: int = Field(1, ge=1, le=256)
    vms: int = Field(1, ge=1, le=64)
    duration: float | None = Field(None, gt=0, le=3600)
    seed: int = Field(0, ge=0)
    pcpus: int | None = Field(None, ge=1, le=1024)
    pin: bool = False
    weights: tuple[int, ...] | None = None
    caps: tuple[int, ...] | None = None
    dom0_vcpus: int = Field(1, ge=1, le=64)
    neighbor: str | None = None
    neighbor_vcpus: int = Field(1, ge=1, le=64)
    mode: tuple[tuple[str, Any], ...] = ()
    hw: tuple[tuple[str, Any], ...] = ()
    params: tuple[tuple[str, Any], ...] = ()

    @field_validator("mode", "hw", "params", mode="before")
    @classmethod
    def _freeze_maps(cls, v):
        return _freeze(v)

    @field_validator("weights", "caps", mode="before")
    @classmethod
    def _weights(cls, v):
        if isinstance(v, str):
            try:
                v = [int(x) for x in v.split(",") if x.strip()]
            except ValueError:
                raise ValueError("weights are integers separated by commas") from None
        if v is not None and any(int(w) <= 0 for w in v):
            raise ValueError("weights must be positive")
        return v

    @classmethod
    def make(cls, **kw) -> "Spec":
        """Validated construction with a readable error."""
        try:
            spec = cls(**kw)
        except ValidationError as exc:
            exc._hvkit_model = cls
            raise format_validation_error(exc, "spec") from None
        for name in ("weights", "caps"):
            v = getattr(spec, name)
            if v is not None and len(v) != spec.vms:
                raise HvkitError("one value per VM", where="spec", field=name, value=list(v),
                                 allowed=f"{spec.vms} integers")
        for key, _ in spec.mode:
            if key not in _MODE_KEYS:
                raise HvkitError("unknown hypervisor part", where="spec", field=f"mode.{key}", value=key,
                                 allowed=sorted(_MODE_KEYS))
        return spec

    def replace(self, **kw) -> "Spec":
        """A copy with fields replaced (validated)."""
        data = self.model_dump()
        data.update(kw)
        return Spec.make(**data)

    def with_sets(self, pairs) -> "Spec":
        """A copy with ``--set key=value`` pairs applied."""
        data = self.model_dump()
        mode, hw, params = dict(self.mode), dict(self.hw), dict(self.params)
        for key, value in pairs:
            key = _ALIASES.get(key, key)
            if key in _TOP:
                data[key] = value
            elif key.startswith("hw."):
                hw[key[3:]] = value
            elif key.startswith("workload."):
                params[key[9:]] = _num(value)
            elif key.startswith("mode."):
                mode[key[5:]] = value
            elif key in _MODE_KEYS:
                mode[key] = value
            else:
                raise HvkitError("unknown setting", field=f"--set {key}", value=key, allowed=SET_KEYS)
        data.update(mode=mode, hw=hw, params=params)
        return Spec.make(**data)

    def key(self, version: str = "") -> str:
        """A stable hash of the spec (and the kit version)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True) + version
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label(self) -> str:
        return f"{self.hypervisor}/{self.workload}@{self.hardware}"


def _num(v):
    if isinstance(v, str):
        for cast in (int, float):
            try:
                return cast(v)
            except ValueError:
                pass
    return v

"""Measurements of a user's own machine: the file ``hvkit import`` and ``hvkit probe`` write, ``hvkit profile fit``
reads.

A measurements file is YAML: the machine it was measured on, the tool, and rows. Each row is one measured value
with its unit, its 95% interval when it was replicated, how many replications, the mode it ran under and what it
is in the model's terms: a microbenchmark names its guest events (``events: {cpuid: 1}``) or an operation of
the catalogue (``op: vmcall``); an exit rate (``perf kvm stat``) or a native rate (fio, iperf3, netperf) is a
check, not an input of the fit. Every row carries the sentence "measured on HOST (CPU model, kernel, date) by
TOOL". Measured counts of a native run (``perf stat``, ``/proc/vmstat``) go under ``per_unit``, in the workload
file's vocabulary.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .coerce import Bool, Int, Num
from .files import load_validated, read_yaml

__all__ = ["Machine", "MeasuredRow", "Measurements", "load_measurements", "ROLES"]

#: What a row is for: ``input`` (a microbenchmark a fit may use), ``check`` (compared with a prediction, never
#: fitted), ``native`` (characterizes native work or a native baseline).
ROLES = ("input", "check", "native")


class Machine(BaseModel):
    """The machine the rows were measured on."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    hostname: str = Field(description="the host's name")
    cpu_model: str = Field(description="the CPU model, as /proc/cpuinfo names it")
    vendor: str = Field("unknown", description="intel, amd, arm or unknown")
    kernel: str = Field(description="the kernel release the tool ran on")
    date: str = Field(description="when the tool ran (ISO 8601)")
    is_guest: Bool = Field(False, description="the CPUID hypervisor bit was set: the machine is itself a VM")
    hypervisor: str = Field("", description="the outer hypervisor's CPUID signature, when a guest")
    kvm_module: str = Field("", description="the module serving /dev/kvm (kvm_intel, kvm_amd, kvm_pvm)")
    hw_virt: str = Field("none", description="vmx, svm or none: what the CPU flags showed")
    origin: str = Field("", description="where these facts come from (the tool's output, or this machine at import)")

    def describe(self, guest: bool = True) -> str:
        text = f"{self.hostname} ({self.cpu_model}, Linux {self.kernel}, {self.date})"
        if guest and self.is_guest:
            outer = f" of {self.hypervisor}" if self.hypervisor else ""
            text += f", itself a virtual machine{outer}: every exit measured here includes the outer hypervisor"
        return text


class MeasuredRow(BaseModel):
    """One measured value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, description="unique in the file: tool and quantity (probe:cpuid)")
    quantity: str = Field(min_length=1, description="what was measured (op.cpuid, exit_rate.HLT, fio.read.iops)")
    value: Num = Field(description="the mean over replications")
    unit: str = Field(min_length=1, description="cycles, ns, per_s, iops, MB/s, ...")
    ci95: list[Num] | None = Field(None, description="95% interval of the mean [low, high] (Student's t); absent "
                                                     "for one replication")
    n: Int = Field(1, ge=1, description="replications")
    role: Literal["input", "check", "native"] = Field("input", description="input (a fit may use it), check "
                                                                           "(compared, never fitted), native")
    hypervisor: str = Field("native", description="the mode it ran under (kvm, native)")
    op: str | None = Field(None, description="the catalogue operation it is (hvkit list ops)")
    events: dict[str, Num] = Field(default_factory=dict, description="the model's guest events one iteration is")
    device_model_cycles: Num | None = Field(None, ge=0, description="cycles the measuring monitor spent in user "
                                                                    "space per exit (replaces the model's device model)")
    native: str | None = Field(None, description="id of the row that times the same unit natively, without its "
                                                 "exits (a check's native part)")
    source: str = Field(min_length=10, description="measured on HOST (CPU, kernel, date) by TOOL")

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("not a finite number")
        return v

    @model_validator(mode="after")
    def _interval(self) -> "MeasuredRow":
        if self.ci95 is not None:
            if len(self.ci95) != 2 or not all(math.isfinite(x) for x in self.ci95):
                raise ValueError("ci95 is [low, high], two finite numbers")
            low, high = self.ci95
            if not low <= self.value <= high:
                raise ValueError(f"ci95 [{low}, {high}] does not contain the value {self.value}")
        return self

    def half_width(self) -> float | None:
        return None if self.ci95 is None else (self.ci95[1] - self.ci95[0]) / 2


class Measurements(BaseModel):
    """A measurements file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["measurements"] = Field(description="always 'measurements'")
    tool: str = Field(min_length=2, description="the tool and its version")
    machine: Machine = Field(description="the machine the rows were measured on")
    rows: list[MeasuredRow] = Field(default_factory=list, description="the measured values")
    per_unit: dict[str, Num] = Field(default_factory=dict, description="a native run's counts per unit of work, in "
                                                                       "the workload file's per_unit vocabulary")
    params: dict[str, Num] = Field(default_factory=dict, description="a workload's parameters the run shows, in the "
                                                                     "workload file's params vocabulary")
    notes: list[str] = Field(default_factory=list, description="what the tool or the import said about the run")

    @model_validator(mode="after")
    def _unique(self) -> "Measurements":
        seen: set[str] = set()
        for r in self.rows:
            if r.id in seen:
                raise ValueError(f"row id {r.id!r} appears twice")
            seen.add(r.id)
        return self


def load_measurements(path: str | os.PathLike[str]) -> Measurements:
    """Read and validate a measurements file (one-line errors naming the file and field)."""
    p = Path(path)
    return load_validated(read_yaml(p), Measurements, str(p), "a measurements file")

"""The trusted computing base as data: the software each part of a host is made of (``data/tcb.yaml``), its size in
thousands of lines with a plausible range and a source, and what each hypervisor family's parts are made of.

:func:`load_tcb` validates the file once (every size finite and inside its range, every source a citation or
"estimated, because ..."); :func:`software_of` names a family's code per role, which
:class:`kit.sim.failures.FailureDomains` attaches to the components it derives from a mode.
"""
from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .files import data_dir, load_validated, read_yaml

__all__ = ["Software", "TcbData", "load_tcb", "software_of", "ROLES"]

#: The roles a family's code is named for (kit.sim.failures' components)
ROLES = ("hypervisor", "service-vm", "driver-domain", "kernel", "in-kernel", "nic-driver", "disk-driver", "netback",
         "blkback", "vhost", "vmm", "device-model", "toolstack")


class Software(BaseModel):
    """One piece of software: its size in thousands of source lines, the plausible range and the source."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=3, description="what it is")
    kloc: float = Field(gt=0, description="thousands of source lines of the parts a host builds and runs")
    low: float = Field(gt=0, description="the plausible range's lower end (kloc)")
    high: float = Field(gt=0, description="the plausible range's upper end (kloc)")
    source: str = Field(min_length=10, description="a citation, or 'estimated, because ...'")

    @field_validator("source")
    @classmethod
    def _sourced(cls, s: str) -> str:
        if s.strip().lower().startswith("estimated") and "because" not in s:
            raise ValueError("an estimate says why: 'estimated, because ...'")
        return s

    @model_validator(mode="after")
    def _in_range(self) -> Software:
        if not self.low <= self.kloc <= self.high:
            raise ValueError(f"kloc {self.kloc} is outside its range {self.low}-{self.high}")
        return self


class TcbData(BaseModel):
    """``data/tcb.yaml``: the software, and what each family's parts are made of."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    software: dict[str, Software] = Field(description="software by id")
    families: dict[str, dict[str, str]] = Field(description="per hypervisor family, the software id of each role")

    @model_validator(mode="after")
    def _known(self) -> TcbData:
        for fam, roles in self.families.items():
            for role, sw in roles.items():
                if role not in ROLES:
                    raise ValueError(f"families.{fam}: unknown role {role!r}; roles: {', '.join(ROLES)}")
                if sw not in self.software:
                    raise ValueError(f"families.{fam}.{role}: unknown software {sw!r}")
        return self


@lru_cache(maxsize=1)
def load_tcb() -> TcbData:
    """``data/tcb.yaml``, validated (a bad file is a one-line error naming the field)."""
    path = data_dir() / "tcb.yaml"
    return load_validated(read_yaml(path), TcbData, str(path), "the trusted computing base")


def software_of(family: str) -> dict[str, str]:
    """The software id of each role of hypervisor ``family`` (empty where nothing is published)."""
    return dict(load_tcb().families.get(family, {}))

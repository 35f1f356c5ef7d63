"""Workload catalog: presets load with their citations; user YAML is validated like profiles."""
import pytest
import yaml

import kit
from kit.errors import HvkitError
from kit.run import run
from kit.inputs.spec import Spec
from kit.inputs.workloads import list_workloads, load_workload, workloads_dir

PRESETS = ["spec-int", "kernel-build", "osdb-ir", "osdb-oltp", "dbench", "specweb", "ttcp", "netperf-rr", "linpack",
           "stream", "random-access", "memcached", "fio-randread", "hackbench"]


def test_every_preset_exists_and_cites_its_characterization():
    ids = {w.id for w in list_workloads()}
    assert set(PRESETS) <= ids
    for w in list_workloads():
        assert len(w.source) > 40 and w.metric and w.unit
        assert isinstance(w.higher_is_better, bool)


def _write(tmp_path, data):
    p = tmp_path / "mine.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def _base():
    return yaml.safe_load((workloads_dir() / "kernel-build.yaml").read_text())


def test_user_workload_runs(tmp_path):
    d = _base(); d["id"] = "my-build"; d["per_unit"]["user_instr"] = 5e7
    p = _write(tmp_path, d)
    r = run(Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload=str(p), duration=0.2))
    assert r.summary["workload"].iloc[0] == "my-build"


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d.update(colour=1), "colour"),
    (lambda d: d["per_unit"].update(exits_per_sec=5), "per_unit.exits_per_sec"),
    (lambda d: d.update(kind="batch"), "kind"),
    (lambda d: d["per_unit"].update(syscalls=-1), "per_unit.syscalls"),
    (lambda d: d.pop("metric"), "metric"),
    (lambda d: d["params"].update(mtu=100) if "params" in d else d.update(params={"mtu": 100}), "params.mtu"),
])
def test_bad_workloads_are_refused_naming_file_and_field(tmp_path, mutate, needle):
    d = _base(); mutate(d)
    p = _write(tmp_path, d)
    with pytest.raises(HvkitError) as e:
        load_workload(str(p))
    assert str(p) in str(e.value) and needle in str(e.value)


def test_workload_parameters_via_spec():
    wl = load_workload("ttcp").with_params({"mtu": 500, "direction": "rx"})
    assert wl.params.mtu == 500 and wl.params.direction == "rx"
    with pytest.raises(HvkitError, match="workload.colour"):
        load_workload("ttcp").with_params({"colour": 1})
    assert kit.list_hardware()


def test_every_preset_count_says_where_it_comes_from():
    """Each per-unit count and parameter a preset sets cites a published profile, a native measurement, or says
    'estimated, because ...'."""
    for w in list_workloads():
        assert w.unsourced() == [], (w.id, w.unsourced())


@pytest.mark.parametrize("provenance,needle", [({"syscalls": "estimated, it seemed right"}, "because"),
                                                ({"no_such_count": "estimated, because why not"}, "unknown field")])
def test_provenance_is_checked(tmp_path, provenance, needle):
    d = _base()
    d["provenance"] = {**d["provenance"], **provenance}
    with pytest.raises(HvkitError, match=needle):
        load_workload(str(_write(tmp_path, d)))

"""Hardware profiles: every required profile loads, every value has provenance, overrides are checked, and the
catalogue moves with $HVKIT_ROOT. Every kind of bad profile file (refused with a message naming file, field, value
and what is allowed) is a case of the bad-input table, ``tests/test_bad_inputs.py``."""

import pytest

import kit
from kit.errors import HvkitError
from kit.inputs.hardware import Params

REQUIRED = ["p4-xeon-2003", "p4-vtx-2006", "core2-2008", "sandybridge-ep-2012", "skylake-sp-2017",
            "icelake-sp-2021", "zen3-epyc-2021", "xgene-armv8-2014", "neoverse-n1-2019"]


def test_required_profiles_exist():
    assert set(REQUIRED) <= set(kit.list_hardware())


@pytest.mark.parametrize("hid", kit.list_hardware())
def test_profile_loads_with_provenance(hid):
    hw = kit.load_hardware(hid)
    assert hw.id == hid
    for name, q in hw.params:
        assert len(q.source) > 3, name
        if q.source.lower().startswith("estimated"):
            assert "because" in q.source.lower(), name
    assert hw.features.source


def test_features_of_the_generations():
    f = {h: kit.load_hardware(h).features for h in REQUIRED}
    assert f["p4-xeon-2003"].hw_virt == "none"
    assert f["p4-vtx-2006"].hw_virt == "vmx" and not f["p4-vtx-2006"].nested_paging and not f["p4-vtx-2006"].tagged_tlb
    assert not f["core2-2008"].nested_paging
    assert f["sandybridge-ep-2012"].nested_paging and f["sandybridge-ep-2012"].tagged_tlb and not f["sandybridge-ep-2012"].apicv
    s = f["skylake-sp-2017"]
    assert s.ept_ad_bits and s.apicv and s.pml and s.vmcs_shadowing
    assert f["icelake-sp-2021"].posted_interrupts and f["icelake-sp-2021"].la57
    z = f["zen3-epyc-2021"]
    assert z.hw_virt == "svm" and z.nested_paging and z.tagged_tlb and z.apicv
    assert f["xgene-armv8-2014"].gic == "v2" and not f["xgene-armv8-2014"].vhe
    assert f["neoverse-n1-2019"].gic == "v3" and f["neoverse-n1-2019"].vhe


def test_unknown_profile_lists_allowed():
    with pytest.raises(HvkitError) as e:
        kit.load_hardware("pentium-pro")
    assert "skylake-sp-2017" in str(e.value)


def test_overrides_are_validated_and_copied():
    hw = kit.load_hardware("skylake-sp-2017")
    hw2 = hw.with_overrides({"exit_roundtrip_cycles": 200})
    assert hw2.val("exit_roundtrip_cycles") == 200 and hw.val("exit_roundtrip_cycles") != 200
    assert hw2.params.exit_roundtrip_cycles.source == "override given by the user"
    with pytest.raises(HvkitError, match="hw.exit_latency"):
        hw.with_overrides({"exit_latency": 1})
    with pytest.raises(HvkitError, match="not a number"):
        hw.with_overrides({"exit_roundtrip_cycles": "fast"})
    with pytest.raises(HvkitError, match="must not be negative"):
        hw.with_overrides({"exit_roundtrip_cycles": -1})
    assert hw.with_overrides({"features.apicv": "false"}).features.apicv is False


def test_every_param_is_documented():
    from kit.inputs.hardware import PARAM_DOCS
    assert set(PARAM_DOCS) == set(Params.model_fields)


@pytest.mark.parametrize("feature", ["la57"])
def test_a_feature_no_mechanism_reads_cannot_be_set(feature):
    """No setting is silently ignored: a feature flag that changes nothing is refused as not modelled yet."""
    hw = kit.load_hardware("skylake-sp-2017")
    with pytest.raises(HvkitError, match="not modelled yet"):
        hw.with_overrides({f"features.{feature}": "true"})


def test_hvkit_root_moves_every_catalogue(tmp_path, monkeypatch):
    """$HVKIT_ROOT relocates hardware profiles as well as workloads and published data."""
    from kit.inputs.files import catalogue_dir
    src = catalogue_dir("hw_profiles") / "skylake-sp-2017.yaml"
    (tmp_path / "hw_profiles").mkdir()
    (tmp_path / "workloads").mkdir()
    (tmp_path / "hw_profiles" / "skylake-sp-2017.yaml").write_text(src.read_text())
    monkeypatch.setenv("HVKIT_ROOT", str(tmp_path))
    assert kit.list_hardware() == ["skylake-sp-2017"]
    assert catalogue_dir("workloads") == tmp_path / "workloads"
    assert catalogue_dir("data") == tmp_path / "data"

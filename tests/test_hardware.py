"""Hardware profiles: every required profile loads, every value has provenance,
and every kind of bad profile is refused with a message naming file, field,
value and what is allowed."""

import pytest
import yaml

import kit
from kit.errors import HvkitError
from kit.inputs.hardware import Params, profiles_dir

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


def _base():
    return yaml.safe_load((profiles_dir() / "skylake-sp-2017.yaml").read_text())


def _write(tmp_path, data, name="bad.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def _err(tmp_path, data):
    p = _write(tmp_path, data)
    with pytest.raises(HvkitError) as e:
        kit.load_hardware(str(p))
    msg = str(e.value)
    assert str(p) in msg  # names the file
    return msg


def test_unknown_top_level_key(tmp_path):
    d = _base(); d["colour"] = "blue"
    msg = _err(tmp_path, d)
    assert "colour" in msg and "unknown key" in msg and "allowed" in msg and "params" in msg


def test_unknown_param(tmp_path):
    d = _base(); d["params"]["exit_latency"] = {"value": 1, "source": "x" * 5}
    msg = _err(tmp_path, d)
    assert "params.exit_latency" in msg and "exit_roundtrip_cycles" in msg


def test_unknown_feature(tmp_path):
    d = _base(); d["features"]["warp_drive"] = True
    msg = _err(tmp_path, d)
    assert "features.warp_drive" in msg and "nested_paging" in msg


def test_missing_param(tmp_path):
    d = _base(); del d["params"]["freq_ghz"]
    msg = _err(tmp_path, d)
    assert "params.freq_ghz" in msg and "missing" in msg


def test_value_without_source(tmp_path):
    d = _base(); d["params"]["freq_ghz"] = {"value": 2.0}
    msg = _err(tmp_path, d)
    assert "params.freq_ghz.source" in msg


def test_bare_number_instead_of_quantity(tmp_path):
    d = _base(); d["params"]["freq_ghz"] = 2.0
    msg = _err(tmp_path, d)
    assert "params.freq_ghz" in msg


def test_estimate_without_reason(tmp_path):
    d = _base(); d["params"]["freq_ghz"]["source"] = "estimated"
    msg = _err(tmp_path, d)
    assert "because" in msg and "params.freq_ghz.source" in msg


def test_not_a_number(tmp_path):
    d = _base(); d["params"]["tlb_entries"]["value"] = "lots"
    msg = _err(tmp_path, d)
    assert "params.tlb_entries.value" in msg and "'lots'" in msg


def test_negative_value(tmp_path):
    d = _base(); d["params"]["exit_roundtrip_cycles"]["value"] = -5
    msg = _err(tmp_path, d)
    assert "params.exit_roundtrip_cycles.value" in msg and "-5" in msg and "allowed" in msg


def test_bad_enum(tmp_path):
    d = _base(); d["features"]["hw_virt"] = "vtx"
    msg = _err(tmp_path, d)
    assert "features.hw_virt" in msg and "'vtx'" in msg and "vmx" in msg


def test_exits_without_hardware_virtualization(tmp_path):
    d = _base(); d["features"]["hw_virt"] = "none"; d["features"]["nested_paging"] = False
    msg = _err(tmp_path, d)
    assert "exit_roundtrip_cycles" in msg


def test_sriov_without_iommu(tmp_path):
    d = _base(); d["features"]["iommu"] = "none"
    msg = _err(tmp_path, d)
    assert "features.sriov" in msg


def test_arm_without_gic(tmp_path):
    d = yaml.safe_load((profiles_dir() / "xgene-armv8-2014.yaml").read_text()); d["features"]["gic"] = "none"
    msg = _err(tmp_path, d)
    assert "features.gic" in msg and "v2" in msg


def test_fractional_levels(tmp_path):
    d = _base(); d["params"]["page_levels"]["value"] = 3.5
    msg = _err(tmp_path, d)
    assert "page_levels" in msg


def test_not_a_mapping(tmp_path):
    p = tmp_path / "list.yaml"; p.write_text("- a\n- b\n")
    with pytest.raises(HvkitError, match="mapping"):
        kit.load_hardware(str(p))


def test_invalid_yaml(tmp_path):
    p = tmp_path / "broken.yaml"; p.write_text("id: [unclosed\n")
    with pytest.raises(HvkitError, match="not valid YAML"):
        kit.load_hardware(str(p))


def test_unknown_profile_lists_allowed():
    with pytest.raises(HvkitError) as e:
        kit.load_hardware("pentium-pro")
    assert "skylake-sp-2017" in str(e.value)


def test_valid_user_profile_from_path(tmp_path):
    d = _base(); d["id"] = "my-cpu"
    hw = kit.load_hardware(str(_write(tmp_path, d, "my-cpu.yaml")))
    assert hw.id == "my-cpu"


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

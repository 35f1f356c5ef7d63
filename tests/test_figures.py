"""Every figure builder checked on its own data: what is plotted equals what the tables say, no trace carries NaN or
None, axes are titled in words with units, titles say what is compared, colours are stable and distinguishable."""
import itertools
import math

import numpy as np
import pandas as pd
import pytest

import kit
from kit import papers
from kit.ui import plots, style
from kit.sweep import sweep

MODES = ["native", "xen-pv", "xen-hvm", "kvm", "kvm-emulated", "kvm-sriov"]


@pytest.fixture(scope="module")
def cmp():
    return kit.compare("skylake-sp-2017", "netperf-rr", MODES, duration=0.005)


@pytest.fixture(scope="module")
def swept():
    base = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.003)
    return sweep(base, {"hw.exit_roundtrip_cycles": [200, 2000], "hypervisor": ["kvm", "xen-hvm"]},
                 replications=2, workers=1, progress=False)


# ---- helpers ---------------------------------------------------------------------------------------------

def _lab(hex_color):
    """CIE L*a*b* (D65) of an sRGB hex colour."""
    rgb = np.array([int(hex_color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a, b):
    return float(np.linalg.norm(_lab(a) - _lab(b)))


def chroma(c):
    _, a, b = _lab(c)
    return math.hypot(a, b)


def _values(v):
    if v is None:
        return []
    arr = np.asarray(v, dtype=object).ravel()
    return list(arr)


def assert_no_missing(fig):
    """No trace carries NaN, None or inf in its coordinates (a gap would restart a stack in the browser)."""
    for t in fig.data:
        for attr in ("x", "y", "z", "base"):
            for v in _values(getattr(t, attr, None)):
                assert v is not None, f"{t.name}: None in {attr}"
                if isinstance(v, (float, np.floating)):
                    assert math.isfinite(v), f"{t.name}: {v} in {attr}"


def assert_words(text, unit=None):
    """An axis or legend title in words: not empty, no raw dotted or underscored column name."""
    assert text and text.strip()
    assert "_" not in text and not text.startswith("set.") and ".hw" not in text, text
    if unit:
        assert f"({unit}" in text, f"{text!r} lacks its unit {unit}"


def bar_totals(fig):
    totals = {}
    for t in fig.data:
        for x, y in zip(t.x, t.y):
            totals[x] = totals.get(x, 0.0) + float(y)
    return totals


# ---- stacked bars ----------------------------------------------------------------------------------------

def test_breakdown_bar_totals_equal_the_data(cmp):
    fig = plots.overhead_breakdown(cmp.breakdown, cmp.summary)
    assert_no_missing(fig)
    b = cmp.breakdown[cmp.breakdown["category"] != "idle"]
    units = cmp.summary.set_index("hypervisor")["units"]
    want = (b.groupby("scenario")["seconds"].sum() / units * 1e6).to_dict()
    got = bar_totals(fig)
    assert set(got) == set(MODES)
    for mode in MODES:
        assert got[mode] == pytest.approx(want[mode], rel=1e-12), mode
    # the historic bug: kvm's vhost time sat above a NaN and was dropped from the stack (7.6 us shown for 13.4)
    assert got["kvm"] > got["native"] + 5
    # every category of every run, at its own height
    per_cat = (b.groupby(["scenario", "category"])["seconds"].sum()
               / b.groupby(["scenario", "category"])["seconds"].sum().index.get_level_values(0).map(units) * 1e6)
    for t in fig.data:
        for x, y in zip(t.x, t.y):
            assert float(y) == pytest.approx(per_cat[(x, t.name)], rel=1e-12)
    shown = {a.x: a.text for a in fig.layout.annotations}
    assert shown == {m: f"{want[m]:.3g} µs" for m in MODES}
    assert fig.layout.barmode == "stack" and list(fig.layout.xaxis.categoryarray) == MODES


def test_breakdown_with_idle_counts_vcpu_idle_only(cmp):
    fig = plots.overhead_breakdown(cmp.breakdown, cmp.summary, include_idle=True)
    b = cmp.breakdown[(cmp.breakdown["entity"] == "vcpu") | (cmp.breakdown["category"] != "idle")]
    units = cmp.summary.set_index("hypervisor")["units"]
    want = b.groupby("scenario")["seconds"].sum() / units * 1e6
    got = bar_totals(fig)
    for mode in MODES:
        assert got[mode] == pytest.approx(want[mode], rel=1e-12)
    assert_no_missing(fig)


def test_breakdown_from_hand_made_tables_with_a_missing_category_and_a_repeated_mode():
    summary = pd.DataFrame({"run": [0, 1, 2, 3], "scenario": ["native", "kvm", "kvm", "xen-pv"],
                            "hypervisor": ["native", "kvm", "kvm", "xen-pv"], "units": [10.0, 5.0, 4.0, 0.0],
                            "workload": "w", "hardware": "h", "error": ["", "", "", ""]})
    breakdown = pd.DataFrame([
        (0, "vcpu", "guest user", 2e-5), (0, "vcpu", "idle", 1.0),
        (1, "vcpu", "guest user", 2e-5), (1, "vcpu", "exit: HLT", 1e-5), (1, "backend", "backend: vhost", 3e-5),
        (1, "backend", "idle", 1.0),
        (2, "vcpu", "guest user", 2e-5), (2, "vcpu", "exit: HLT", 2e-5),
        (3, "vcpu", "guest user", 1e-5),
    ], columns=["run", "entity", "category", "seconds"])
    fig = plots.overhead_breakdown(breakdown, summary)
    assert_no_missing(fig)
    # by hand: run 0 2e-5 s / 10 units = 2 us; run 1 6e-5 s / 5 = 12 us (backend idle is not a cost); run 2 4e-5 / 4
    assert bar_totals(fig) == pytest.approx({"native": 2.0, "kvm (run 1)": 12.0, "kvm (run 2)": 10.0})
    vhost = next(t for t in fig.data if t.name == "backend: vhost")
    assert list(vhost.x) == ["kvm (run 1)"]
    # a run with no completed work is left out, and the figure says so
    assert any("not shown: xen-pv" in a.text for a in fig.layout.annotations)
    assert fig.layout.title.text.startswith("Where the CPU time goes per unit of work: native, kvm (run 1)")
    assert "(w on h)" in fig.layout.title.text


def test_breakdown_is_readable(cmp):
    fig = plots.overhead_breakdown(cmp.breakdown, cmp.summary)
    assert fig.layout.yaxis.title.text == "CPU time per unit of work (µs)"
    assert_words(fig.layout.xaxis.title.text)
    assert_words(fig.layout.legend.title.text)
    assert fig.layout.title.text.replace("<br>", " ") == ("Where the CPU time goes per unit of work: native, xen-pv, xen-hvm, kvm "
                                     "and 2 more (netperf-rr on skylake-sp-2017)")
    assert plots.overhead_breakdown(cmp.breakdown, cmp.summary, title="mine").layout.title.text == "mine"
    colors = [t.marker.color for t in fig.data]
    assert len(set(colors)) == len(colors)
    for a, b in itertools.combinations(colors, 2):
        assert delta_e(a, b) >= 15, (a, b)
    for t in fig.data:
        assert t.marker.color == plots.category_color(t.name) or t.name.startswith("exit: ")


def test_exits_per_second_totals_equal_the_data(cmp):
    fig = plots.exits_per_second(cmp.exits, cmp.summary)
    assert_no_missing(fig)
    dur = cmp.summary.set_index("run")["duration"]
    e = cmp.exits.assign(per_s=cmp.exits["count"] / cmp.exits["run"].map(dur))
    want = e.groupby("scenario")["per_s"].sum().to_dict()
    assert bar_totals(fig) == pytest.approx(want, rel=1e-12)
    without = set(MODES) - set(want)
    assert "native" in without
    assert {a.x for a in fig.layout.annotations if a.text == "no exits"} == without
    assert list(fig.layout.xaxis.categoryarray) == MODES and tuple(fig.layout.xaxis.range) == (-0.5, 5.5)
    assert fig.layout.barmode == "stack"
    assert fig.layout.yaxis.title.text == "VM exits per simulated second (all vCPUs)"
    assert fig.layout.legend.title.text == "exit reason"
    assert fig.layout.title.text.startswith("VM exits per second by reason: native, xen-pv")


def test_exit_reasons_are_distinguishable_and_stable_across_figures(cmp):
    ex = plots.exits_per_second(cmp.exits, cmp.summary)
    bd = plots.overhead_breakdown(cmp.breakdown, cmp.summary)
    colors = {t.name: t.marker.color for t in ex.data}
    assert len(colors) == cmp.exits["reason"].nunique() >= 3
    for a, b in itertools.combinations(colors.values(), 2):
        assert delta_e(a, b) >= 20, (a, b)
    in_breakdown = {t.name.removeprefix("exit: "): t.marker.color for t in bd.data if t.name.startswith("exit: ")}
    for reason, color in in_breakdown.items():
        assert colors[reason] == color
    # more reasons than any one run has, with hash collisions among them: still all distinct
    many = [f"exit: reason {i}" for i in range(len(style._EXITS))]
    assigned = plots.category_colors(many + list(plots.CATEGORY_COLORS))
    assert len(set(assigned.values())) == len(assigned)
    for c in assigned.values():
        if c not in plots.CATEGORY_COLORS.values():
            assert min(delta_e(c, k) for k in plots.CATEGORY_COLORS.values()) >= 20


# ---- bars, lines, CDFs -----------------------------------------------------------------------------------

def test_relative_performance_bars_equal_the_data(cmp):
    fig = plots.relative_performance(cmp.summary, x="hypervisor")
    assert_no_missing(fig)
    want = cmp.summary.set_index("hypervisor")["relative_performance"]
    assert [t.name for t in fig.data] == MODES
    for t in fig.data:
        assert list(t.x) == [t.name] and float(t.y[0]) == pytest.approx(want[t.name], rel=1e-12)
        assert t.marker.color == plots.MODE_COLORS[t.name]
    assert [s.y0 for s in fig.layout.shapes] == [1.0]
    assert [a.text for a in fig.layout.annotations] == ["native = 1"]
    assert fig.layout.yaxis.title.text == "relative performance (1.0 = native, higher is better)"
    assert fig.layout.xaxis.title.text == "hypervisor mode"
    assert fig.layout.title.text.replace("<br>", " ") == (
        "Relative performance against native: xen-pv, xen-hvm, kvm, kvm-emulated and kvm-sriov (netperf-rr on "
        "skylake-sp-2017)")
    # drawn, a title longer than the figure is cut off at its right edge (notebook 01 lost its CPU that way)
    assert all(len(line) <= plots.TITLE_LINE for line in fig.layout.title.text.split("<br>"))


def test_relative_performance_by_workload_leaves_out_failed_rows():
    df = pd.DataFrame({"workload": ["a", "a", "b", "b", "b"], "hypervisor": ["native", "kvm", "native", "kvm", "xen"],
                       "relative_performance": [1.0, 0.9, 1.0, 0.5, float("nan")],
                       "error": ["", "", "", "", "HvkitError: no"]})
    fig = plots.relative_performance(df)
    assert_no_missing(fig)
    assert fig.layout.barmode == "group"
    kvm = next(t for t in fig.data if t.name == "kvm")
    assert list(kvm.x) == ["a", "b"] and list(kvm.y) == [0.9, 0.5]
    assert [t.name for t in fig.data] == ["native", "kvm"]
    assert any("not shown: xen" in a.text for a in fig.layout.annotations)
    assert fig.layout.xaxis.title.text == "workload" and "by workload" in fig.layout.title.text


def test_latency_cdf_follows_the_data(cmp):
    fig = plots.latency_cdf(cmp.latency)
    assert_no_missing(fig)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [t.name for t in lines] == MODES
    finished = cmp.latency[~cmp.latency["censored"].astype(bool)]  # right-censored requests have no latency
    assert len(finished) < len(cmp.latency)  # some were under way at the end: they are left out
    for t in lines:
        data = np.sort(finished.loc[finished["scenario"] == t.name, "latency_us"].to_numpy())
        assert np.array_equal(np.asarray(t.x, dtype=float), data)
        y = np.asarray(t.y, dtype=float)
        assert y[-1] == pytest.approx(1.0) and np.all(np.diff(y) > 0) and y[0] == pytest.approx(1 / len(data))
        assert t.line.color == plots.MODE_COLORS[t.name]
        for q in (50, 99):
            m = next(p for p in fig.data if p.name == f"{t.name} p{q}")
            assert m.x[0] == pytest.approx(np.quantile(data, q / 100)) and m.y[0] == q / 100
            assert m.marker.color == t.line.color and m.legendgroup == t.legendgroup
    assert fig.layout.xaxis.title.text == "request latency (µs)"
    assert_words(fig.layout.yaxis.title.text)
    assert fig.layout.title.text.replace("<br>", " ") == "Request latency distribution: native, xen-pv, xen-hvm, kvm and 2 more"
    assert [a.text for a in fig.layout.annotations] == ["circle: median (p50), diamond: p99"]


def test_user_made_labels_get_stable_distinct_colours():
    labels = ["native", "emulated (e1000)", "virtio (QEMU)", "vhost", "Xen split driver", "SR-IOV, exits",
              "SR-IOV, posted"]  # the paths of notebook 03
    rng = np.random.default_rng(0)
    lat = pd.DataFrame({"scenario": np.repeat(labels, 50), "latency_us": rng.uniform(5, 50, 50 * len(labels))})
    fig = plots.latency_cdf(lat)
    colors = {t.name: t.line.color for t in fig.data if t.mode == "lines"}
    assert colors["native"] == plots.MODE_COLORS["native"]
    for name, c in colors.items():
        if name != "native":
            assert chroma(c) > 30, f"{name} is grey: {c}"
    for a, b in itertools.combinations(colors.values(), 2):
        assert delta_e(a, b) >= 20, (a, b)
    # the same labels in another order, in another figure: the same colours
    again = plots.latency_cdf(lat.iloc[::-1])
    assert {t.name: t.line.color for t in again.data if t.mode == "lines"} == colors
    # a label on its own keeps its colour unless it collides with another in the figure
    alone = {n: plots.mode_color(n) for n in labels}
    assert sum(alone[n] == colors[n] for n in labels) >= len(labels) - 2
    # as many user labels as the palette holds: all distinct, none grey, none a preset's colour
    many = [f"my mode {i}" for i in range(len(style._SERIES))]
    got = plots.mode_colors(many)
    assert len(set(got.values())) == len(many)
    assert not set(got.values()) & set(plots.MODE_COLORS.values())


def test_preset_colours_are_distinct():
    for a, b in itertools.combinations(plots.MODE_COLORS.values(), 2):
        assert delta_e(a, b) >= 15, (a, b)
    for a, b in itertools.combinations(plots.CATEGORY_COLORS.values(), 2):
        assert delta_e(a, b) >= 15, (a, b)
    for c in style._SERIES:
        assert chroma(c) > 30 and min(delta_e(c, m) for m in plots.MODE_COLORS.values()) >= 25
    assert set(kit.list_hypervisors()) <= set(plots.MODE_COLORS)


def test_path_waterfall_ends_in_the_operation_total():
    mb = kit.microbench("xgene-armv8-2014", "kvm", ["hypercall"]).iloc[0]
    fig = plots.path_waterfall(mb["path"])
    assert_no_missing(fig)
    w = fig.data[0]
    assert list(w.y)[-1] == "total" and list(w.measure)[-1] == "total" and w.orientation == "h"
    assert sum(w.x) == pytest.approx(mb["cycles"])
    assert w.text[-1] == f"{mb['cycles']:,.0f}"
    assert fig.layout.xaxis.title.text == "CPU cycles (cumulative)"
    assert_words(fig.layout.yaxis.title.text)
    # step names on the vertical axis, wrapped to lines a reader can take in, the full name in the hover text
    assert all(len(line) <= 34 for name in w.y for line in name.split("<br>"))
    assert list(w.customdata)[:-1] == [s["step"] for s in mb["path"]]
    assert fig.layout.height >= 150 + 40 * len(w.y)
    assert f"{mb['cycles']:,.0f} cycles in all" in fig.layout.title.text
    assert plots.path_waterfall(mb["path"], title="KVM/ARM").layout.title.text == "KVM/ARM"


def test_sweep_line_plots_the_means_and_their_band(swept):
    fig = plots.sweep_line(swept, x="set.hw.exit_roundtrip_cycles", color="set.hypervisor")
    assert_no_missing(fig)
    want = swept.groupby(["set.hypervisor", "set.hw.exit_roundtrip_cycles"])["relative_performance"].mean()
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == ["kvm", "xen-hvm"]
    for t in lines:
        assert list(t.x) == [200, 2000]
        assert list(t.y) == pytest.approx([want[(t.name, 200)], want[(t.name, 2000)]], rel=1e-12)
        assert t.line.color == plots.MODE_COLORS[t.name]
        band = next(b for b in fig.data if b.name == f"{t.name} band")
        hi, lo = np.asarray(band.y[:2], float), np.asarray(band.y[2:][::-1], float)
        assert np.all(lo <= np.asarray(t.y, float) + 1e-12) and np.all(np.asarray(t.y, float) <= hi + 1e-12)
    assert fig.layout.xaxis.title.text == "VM exit round trip (cycles)"
    assert fig.layout.yaxis.title.text == "relative performance (1.0 = native, higher is better)"
    assert fig.layout.legend.title.text == "hypervisor mode"
    assert fig.layout.title.text.replace("<br>", " ") == ("Relative performance against VM exit round trip, by hypervisor mode "
                                     "(netperf-rr on skylake-sp-2017)")


def test_sweep_line_colours_other_series_distinctly(swept):
    df = swept.assign(**{"set.memory": swept["set.hypervisor"].map({"kvm": "nested", "xen-hvm": "shadow"})})
    fig = plots.sweep_line(df, x="set.hw.exit_roundtrip_cycles", color="set.memory")
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    a, b = (t.line.color for t in lines)
    assert delta_e(a, b) >= 20 and chroma(a) > 30 and chroma(b) > 30
    assert fig.layout.legend.title.text == "memory virtualization"


def test_sweep_heatmap_means_and_scales(swept):
    fig = plots.sweep_heatmap(swept, x="set.hw.exit_roundtrip_cycles", y="set.hypervisor")
    assert_no_missing(fig)
    h = fig.data[0]
    want = swept.groupby(["set.hypervisor", "set.hw.exit_roundtrip_cycles"])["relative_performance"].mean()
    assert list(h.x) == ["200", "2000"] and list(h.y) == ["kvm", "xen-hvm"]
    for i, hv in enumerate(h.y):
        for j, cyc in enumerate(h.x):
            assert h.z[i][j] == pytest.approx(want[(hv, int(cyc))], rel=1e-12)
    assert h.zmid is None and h.colorscale[0][1] != h.colorscale[-1][1]  # positive values: sequential
    assert h.colorbar.title.text.replace("<br>", " ") == "relative performance (1.0 = native, higher is better)"
    assert all(len(line) <= 40 for line in h.colorbar.title.text.split("<br>"))
    assert fig.layout.xaxis.title.text == "VM exit round trip (cycles)"
    assert fig.layout.yaxis.title.text == "hypervisor mode"
    # signed values: diverging, centred on zero, and the caller names its own column
    diff = pd.DataFrame({"x": [1, 1, 2, 2], "y": [1, 2, 1, 2], "d": [-0.2, 0.1, 0.3, -0.05]})
    fig = plots.sweep_heatmap(diff, x="x", y="y", z="d", labels={"d": "nested minus shadow (relative performance)"})
    h = fig.data[0]
    assert h.zmid == 0 and min(v for row in h.z for v in row) < 0 < max(v for row in h.z for v in row)
    assert h.colorbar.title.text.replace("<br>", " ") == "nested minus shadow (relative performance)"
    assert fig.layout.title.text == "Nested minus shadow over x and y"
    assert plots.sweep_heatmap(diff.assign(d=diff["d"].abs()), x="x", y="y", z="d", center=0.1).data[0].zmid == 0.1


def test_vcpu_timeline_durations_equal_the_trace():
    r = kit.run(kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.005),
                baseline=False, trace_s=0.0005)
    t0, t1 = 0.0001, 0.0003
    fig = plots.vcpu_timeline(r.timeline, t0, t1)
    assert_no_missing(fig)
    tl = r.timeline
    clipped = (np.minimum(tl["end_s"], t1) - np.maximum(tl["start_s"], t0)).clip(lower=0)
    want = (clipped * 1e6).groupby(tl["scope"]).sum()
    got = {}
    for t in fig.data:
        for scope, dx, base in zip(t.y, t.x, t.base):
            got[scope] = got.get(scope, 0.0) + dx
            assert t0 * 1e6 - 1e-9 <= base and base + dx <= t1 * 1e6 + 1e-9
    assert got == pytest.approx({k: v for k, v in want.items() if v > 0}, rel=1e-9)
    assert {t.name for t in fig.data} <= set(plots.STATE_COLORS) and len(fig.data) >= 2
    assert fig.layout.xaxis.title.text == "simulated time (µs)"
    assert_words(fig.layout.yaxis.title.text)
    assert fig.layout.title.text.startswith("What each vCPU and backend thread does, 100 to 300 µs")


def test_published_vs_model_plots_every_row():
    table = papers.reproduce("dall-2016-arm")
    fig = plots.published_vs_model(table)
    assert_no_missing(fig)
    points = [t for t in fig.data if t.mode == "markers"]
    assert sum(len(t.x) for t in points) == len(table)
    got = sorted((float(x), float(y)) for t in points for x, y in zip(t.x, t.y))
    assert got == sorted(zip(table["published"].astype(float), table["model"].astype(float)))
    assert fig.layout.xaxis.title.text == "published value (cycles or µs, by marker)"
    assert fig.layout.yaxis.title.text == "model value (cycles or µs, by marker)"
    one_unit = plots.published_vs_model(papers.reproduce("kvm-unit-tests-vmexit"))
    assert one_unit.layout.xaxis.title.text == "published value (cycles)"
    systems = {t.legendgroup: t.marker.color for t in points}
    for a, b in itertools.combinations(systems.values(), 2):
        assert delta_e(a, b) >= 20
    assert {t.marker.symbol for t in points} == {"circle", "diamond"}
    assert [t.name for t in fig.data if t.mode == "lines"] == ["model = published", "model = 2 x published",
                                                              "model = published / 2"]
    assert fig.layout.title.text.startswith(f"Model against published values: {len(table)} measurements")


# ---- words -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("column,words", [
    ("set.hw.exit_roundtrip_cycles", "VM exit round trip (cycles)"),
    ("set.hypervisor", "hypervisor mode"),
    ("set.memory", "memory virtualization"),
    ("mode.memory", "memory virtualization"),
    ("relative_performance", "relative performance (1.0 = native, higher is better)"),
    ("set.workload.tlb_mpki", "TLB misses per 1,000 instructions"),
    ("set.hw.pwc_skip_levels", "hardware: pwc skip levels"),
    ("set.hw.iotlb_miss_cycles", "hardware: iotlb miss (cycles)"),
    ("set.workload.disk_kb", "workload: disk (KiB)"),
    ("set.hw.mem_latency_ns", "memory latency (ns)"),
    ("nic_tx_util", "nic tx (fraction)"),
])
def test_columns_become_words(column, words):
    assert plots.label(column) == words
    assert_words(plots.label(column))
    assert plots.label(column, {column: "mine"}) == "mine"


def test_every_category_the_model_accounts_has_its_own_colour():
    """One table of category names: every fixed category and every backend the model can charge is coloured."""
    from kit.sim import work as W
    names = set(W.FIXED_CATEGORIES) | {W.backend_category(b) for b in W.BACKEND_LABELS}
    assert names <= set(plots.CATEGORY_COLORS)
    assert len(set(plots.CATEGORY_COLORS.values())) == len(plots.CATEGORY_COLORS)


# ---- colours a reader can rely on (issue 23, section 1) ------------------------------------------------------

def _exit_reasons_the_model_emits():
    from kit.costs.model import CostModel
    from kit.costs.paths import EVENT_REGISTRY
    from kit.errors import HvkitError
    from kit.inputs.hardware import list_hardware, load_hardware
    from kit.inputs.modes import PRESETS, hypervisor
    reasons = set()
    for hw in map(load_hardware, list_hardware()):
        for name in PRESETS:
            for parts in ({}, {"memory": "shadow"}, {"io": "emulated"}, {"interrupts": "injected"}, {"nested": "kvm"}):
                try:
                    cm = CostModel(hw, hypervisor(name, hw, **parts))
                except HvkitError:
                    continue
                for event, registered in EVENT_REGISTRY.items():
                    try:
                        steps = cm.path(event, 1) if registered.takes_count else cm.path(event)
                    except (TypeError, HvkitError):  # a path that needs arguments, or none under this mode
                        continue
                    reasons |= {s.reason for s in steps if s.reason}
    return reasons


def test_every_exit_reason_has_its_own_colour_in_every_figure():
    reasons = _exit_reasons_the_model_emits()
    assert len(reasons) >= 25 and reasons <= set(plots.EXIT_COLORS), sorted(reasons - set(plots.EXIT_COLORS))
    for a, b in itertools.combinations(plots.EXIT_COLORS.values(), 2):
        assert delta_e(a, b) >= 20, (a, b)
    for c in plots.EXIT_COLORS.values():
        assert min(delta_e(c, k) for k in plots.CATEGORY_COLORS.values()) >= 20
    # the same reason, the same colour, whatever else the figure holds (issue 23: magenta in one, olive in another)
    kick = "exit: MMIO/PIO kick (ioeventfd)"
    seen = {plots.category_colors([kick] + [f"exit: {r}" for r in group])[kick]
            for group in itertools.combinations(sorted(reasons), 3)}
    assert seen == {plots.EXIT_COLORS["MMIO/PIO kick (ioeventfd)"]}


@pytest.mark.parametrize("labels", [
    ["skylake-sp-2017 nested", "skylake-sp-2017 shadow", "zen3-epyc-2021 nested", "zen3-epyc-2021 shadow"],
    [f"cpu{i} x mem{j}" for i in range(3) for j in range(2)],
    ["my-mode", "kvm", "container-nat", "other", "paper A", "paper B"]])
def test_user_series_are_never_near_identical(labels):
    """CIE94 below 20 reads as one colour (two yellows CIE76 puts 30 apart): no such pair among a figure's series."""
    colors = plots.mode_colors(labels)
    for a, b in itertools.combinations(colors.values(), 2):
        assert plots.color_difference(a, b) >= plots.SERIES_MIN_DIFFERENCE, (a, b)
    assert plots.color_difference("#f2b701", "#f6cf71") < plots.SERIES_MIN_DIFFERENCE  # the two yellows of issue 23
    for a, b in itertools.combinations(style._SERIES, 2):
        assert plots.color_difference(a, b) >= plots.SERIES_MIN_DIFFERENCE, (a, b)


@pytest.mark.parametrize("column", ["set.workload.pte_writes", "set.workload.tlb_mpki", "set.workload.cr3_loads",
                                    "set.workload.pagefaults", "set.workload.syscalls"])
def test_workload_rates_are_labelled_with_their_unit(column):
    """Notebook 02's heatmap read "workload: pte writes" on an axis: a count without its unit of work."""
    assert "per " in plots.label(column)


# ---- ids and acronyms at the start of a default title are shown as spelt (issue 23: "my-jit" read "My-jit") ----

def test_a_title_keeps_an_id_or_an_acronym_as_spelt():
    df = pd.DataFrame({"clients": [1, 2, 1, 2], "value": [1.0, 2.0, 1.1, 2.1], "error": ""})
    fig = plots.sweep_line(df, x="clients", y="value", labels={"value": "my-jit throughput (ops/s)"})
    assert fig.layout.title.text.startswith("my-jit throughput against clients"), fig.layout.title.text
    fig = plots.sweep_heatmap(df.assign(vcpus=[1, 1, 2, 2]), x="clients", y="vcpus", z="value",
                              labels={"value": "my-jit throughput (ops/s)"})
    assert fig.layout.title.text.startswith("my-jit throughput over clients"), fig.layout.title.text
    mig = pd.DataFrame({"page_writes_per_s": [1e3, 1e4], "downtime_ms": [5.0, 50.0], "method": "pre-copy"})
    fig = plots.downtime_vs_dirty_rate(mig, labels={"downtime_ms": "VM downtime (ms)"})
    assert fig.layout.title.text.startswith("VM downtime against"), fig.layout.title.text
    fig = plots.downtime_vs_dirty_rate(mig)  # a plain word still starts the sentence with a capital
    assert fig.layout.title.text.startswith("Downtime against"), fig.layout.title.text


def test_relative_performance_draws_and_names_the_intervals_its_rows_carry():
    """Notebook 01's figure had no whiskers: its table had dropped the interval columns; each bar now says which."""
    s = pd.DataFrame({"hypervisor": ["native", "kvm", "native", "kvm"], "workload": ["a", "a", "b", "b"],
                      "relative_performance": [1.0, 0.9, 1.0, 0.8], "relative_pi_low": [None, 0.85, None, 0.7],
                      "relative_pi_high": [None, 0.95, None, 0.85], "relative_ci_low": [1.0, 0.89, 1.0, 0.79],
                      "relative_ci_high": [1.0, 0.91, 1.0, 0.81], "ci_note": "", "error": ""})
    fig = plots.relative_performance(s, x="workload")
    kvm = next(t for t in fig.data if t.name == "kvm")
    assert list(kvm.error_y.array) == pytest.approx([0.05, 0.05]) and list(kvm.error_y.arrayminus) == pytest.approx(
        [0.05, 0.1])
    assert "90% prediction interval 0.850-0.950 (model uncertainty)" in kvm.customdata[0][0]
    assert "95% interval 0.890-0.910 over replications (simulation noise)" in kvm.customdata[0][0]
    assert "customdata[0]" in kvm.hovertemplate
    assert any("whiskers: 90% prediction interval" in a.text for a in fig.layout.annotations)

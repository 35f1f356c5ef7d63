# %% [markdown]
# # I/O paths
#
# Emulated devices (every register access exits, to QEMU under KVM), PV split drivers (netfront/netback through
# dom0), virtio with a QEMU or in-kernel vhost backend, SR-IOV with exiting or posted interrupts. Throughput, CPU
# cost per packet (including the backend's) and latency tails.

# %%
from kit import studies
from kit.ui import plots
import pandas as pd
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# %%
paths = {"native": {"hypervisor": "native"}, "emulated (e1000)": {"hypervisor": "kvm-emulated"},
         "virtio (QEMU)": {"hypervisor": "kvm", "mode": {"io": "virtio"}}, "vhost": {"hypervisor": "kvm"},
         "Xen split driver": {"hypervisor": "xen-hvm"},
         "SR-IOV, exits": {"hypervisor": "kvm-sriov", "mode": {"interrupts": "apicv"}},
         "SR-IOV, posted": {"hypervisor": "kvm-sriov"}}
common = dict(hardware="skylake-sp-2017", workload="netperf-rr", duration=0.02)
io = studies.run_variants(paths, label="path", latency=True, **common)
io[["path", "value", "relative_performance", "busy_us_per_unit", "latency_p99_us"]].rename(columns={
    "value": "trans/s", "relative_performance": "relative", "busy_us_per_unit": "CPU us per transaction (all threads)",
    "latency_p99_us": "p99 latency (us)"})

# %%
v = io.set_index("path")
cpu_us, rel = v["busy_us_per_unit"], v["relative_performance"].drop("native")
assert rel.idxmin() == "emulated (e1000)" and cpu_us.idxmax() == "emulated (e1000)"
assert rel.idxmax() == "SR-IOV, posted" and rel["vhost"] > rel["virtio (QEMU)"]
assert (v["latency_p99_us"].drop("native") > v.loc["native", "latency_p99_us"]).all()
print(f"Per transaction, every thread's CPU time goes from {cpu_us['native']:.1f} us natively to "
      f"{cpu_us['SR-IOV, posted']:.1f} us with an assigned NIC and posted interrupts, {cpu_us['vhost']:.1f} us "
      f"through vhost, {cpu_us['Xen split driver']:.1f} us through dom0 and {cpu_us['emulated (e1000)']:.1f} us "
      "with an emulated e1000.")

# %%
plots.latency_cdf(studies.request_latencies(paths, **common))

# %% [markdown]
# ## Bulk transfer, transmit and receive, and the MTU
#
# On the 2003 testbed, Xen's dom0 does the per-packet work; smaller packets mean more of it.

# %%
ttcp = studies.compare_grid("p4-xeon-2003", ["native", "xen-pv", "vmware-bt"], "ttcp",
                            grid={"direction": ["tx", "rx"], "mtu": [1500, 500]}, duration=0.1)
ttcp[["direction", "mtu", "hypervisor", "value", "relative_performance", "backend_util"]].rename(columns={
    "value": "Mbit/s", "relative_performance": "relative", "backend_util": "backend util"})

# %%
xen = ttcp[ttcp["hypervisor"] == "xen-pv"].assign(
    dom0=lambda d: d["backend_util"].str.extract(r"dom0=([0-9.]+)", expand=False).astype(float))
for direction, g in xen.groupby("direction"):
    g = g.set_index("mtu")
    assert g.loc[500, "dom0"] > g.loc[1500, "dom0"] and g.loc[500, "relative_performance"] < g.loc[1500,
                                                                                                    "relative_performance"]
    print(f"{direction}: dom0 is busy {g.loc[1500, 'dom0']:.0%} of the time at MTU 1500 and {g.loc[500, 'dom0']:.0%} "
          f"at MTU 500, where Xen delivers {g.loc[500, 'relative_performance']:.2f} of native")

# %% [markdown]
# ## Containers: veth, bridge and NAT against a VM's I/O paths
#
# A container's packets cross no hypervisor, but unless it shares the host's stack they cross a veth pair and the
# host's bridge, and with Docker's port mapping conntrack, NAT and the FORWARD chain on every packet. The CPU time
# per transaction counts every thread: the container's own, or the guest's vCPU and its backend.

# %%
ct_paths = {"native": {"hypervisor": "native"}, "container, host network": {"hypervisor": "container-host"},
            "container, veth + bridge": {"hypervisor": "container-nat", "mode": {"io": "veth-bridge"}},
            "container, NAT": {"hypervisor": "container-nat"}, "KVM, vhost": {"hypervisor": "kvm"},
            "KVM, SR-IOV": {"hypervisor": "kvm-sriov"}}
ct = studies.run_variants(ct_paths, label="path", latency=True, **common)
ct[["path", "value", "relative_performance", "busy_us_per_unit", "latency_p99_us"]].rename(columns={
    "value": "trans/s", "relative_performance": "relative", "busy_us_per_unit": "CPU us per transaction (all threads)",
    "latency_p99_us": "p99 latency (us)"})

# %%
cpu = ct.set_index("path")["busy_us_per_unit"]
assert cpu["container, host network"] == cpu["native"]  # no veth, no bridge, no NAT
assert cpu["native"] < cpu["container, veth + bridge"] < cpu["container, NAT"]

# %% [markdown]
# ## Container storage: an overlay against a volume
#
# A union file system (overlayfs, AUFS) resolves each operation through the image's layers; a volume is a host
# directory, the native path. Random 4 KiB reads from flash:

# %%
storage = {"native": {"hypervisor": "native"}, "container, volume": {"hypervisor": "container-host",
                                                                    "mode": {"storage": "volume"}},
           "container, overlay": {"hypervisor": "container-host"}, "KVM, virtio-blk": {"hypervisor": "kvm"}}
st = studies.run_variants(storage, label="storage", latency=True, hardware="skylake-sp-2017", workload="fio-randread",
                          duration=0.05)
st[["storage", "value", "busy_us_per_unit", "latency_mean_us"]].rename(columns={
    "value": "IOPS", "busy_us_per_unit": "CPU us per read", "latency_mean_us": "mean latency (us)"})

# %% [markdown]
# ## The panel
#
# The I/O paths behind controls: pick a profile, an I/O workload (netperf-rr, memcached, fio-randread, ttcp...) and
# the modes, press **Run**; the latency view shows the tails. Run the cell (Shift+Enter) to get the live panel.

# %%
from kit.ui.panels import ComparePanel
ComparePanel(hardware="skylake-sp-2017", workload="netperf-rr",
             hypervisors=("native", "kvm-emulated", "kvm", "xen-hvm", "kvm-sriov"), view="latency")

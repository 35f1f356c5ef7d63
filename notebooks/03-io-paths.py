# %% [markdown]
# # I/O paths
#
# Emulated devices (every register access exits, to QEMU under KVM), PV split drivers (netfront/netback through
# dom0), virtio with a QEMU or in-kernel vhost backend, SR-IOV with exiting or posted interrupts. Throughput, CPU
# cost per packet (including the backend's) and latency tails.

# %%
from kit import plots, studies
import pandas as pd
import plotly.io as pio
pio.renderers.default = "plotly_mimetype"  # figures as data: JupyterLab renders them, the notebook stays small
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

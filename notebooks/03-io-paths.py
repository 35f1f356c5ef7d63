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
# On the 2003 testbed with today's Xen, dom0's netback does the per-packet work; smaller packets mean more of it.
# (Xen 1.0, `release=2003`, drove the NIC inside the hypervisor instead: see the `barham-2003-macro` paper
# notebook, which also shows how much each estimated backend path length moves the I/O results.)

# %%
ttcp = studies.compare_grid("p4-xeon-2003", ["native", "xen-pv", "vmware-bt"], "ttcp",
                            grid={"direction": ["tx", "rx"], "mtu": [1500, 500]}, duration=0.1)
ttcp[["direction", "mtu", "hypervisor", "value", "relative_performance", "backend_util"]].rename(columns={
    "value": "Mbit/s", "relative_performance": "relative", "backend_util": "backend util"})

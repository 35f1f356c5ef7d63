# %% [markdown]
# # I/O paths
#
# Emulated devices (every register access exits, to QEMU under KVM), PV split drivers (netfront/netback through
# dom0), virtio with a QEMU or in-kernel vhost backend, SR-IOV with exiting or posted interrupts. Throughput, CPU
# cost per packet (including the backend's) and latency tails.

# %%
import kit
from kit import plots
import pandas as pd
import plotly.io as pio
pio.renderers.default = "plotly_mimetype"  # figures as data: JupyterLab renders them, the notebook stays small
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# %%
modes = [("native", "native", {}), ("emulated (e1000)", "kvm-emulated", {}), ("virtio (QEMU)", "kvm", {"io": "virtio"}),
         ("vhost", "kvm", {}), ("Xen split driver", "xen-hvm", {}), ("SR-IOV, exits", "kvm-sriov", {"interrupts": "apicv"}),
         ("SR-IOV, posted", "kvm-sriov", {})]
rows, lats = [], []
for label, hv, mode in modes:
    r = kit.run(kit.Spec.make(hardware="skylake-sp-2017", hypervisor=hv, workload="netperf-rr", mode=mode, duration=0.02))
    b = r.breakdown[r.breakdown["category"] != "idle"]
    units = r.summary["units"].iloc[0]
    rows.append({"path": label, "trans/s": r.summary["value"].iloc[0], "relative": r.summary["relative_performance"].iloc[0],
                 "CPU us per transaction (all threads)": b["seconds"].sum() / units * 1e6,
                 "p99 latency (us)": r.latency["latency_us"].quantile(0.99)})
    lats.append(r.latency.assign(scenario=label))
pd.DataFrame(rows)

# %%
plots.latency_cdf(pd.concat(lats))

# %% [markdown]
# ## Bulk transfer, transmit and receive, and the MTU
#
# On the 2003 testbed, Xen's dom0 does the per-packet work; smaller packets mean more of it.

# %%
rows = []
for direction in ["tx", "rx"]:
    for mtu in [1500, 500]:
        for hv in ["native", "xen-pv", "vmware-bt"]:
            r = kit.run(kit.Spec.make(hardware="p4-xeon-2003", hypervisor=hv, workload="ttcp",
                                      params={"direction": direction, "mtu": mtu}, duration=0.1))
            s = r.summary.iloc[0]
            rows.append({"direction": direction, "mtu": mtu, "hypervisor": hv, "Mbit/s": s["value"],
                         "relative": s["relative_performance"], "backend util": s["backend_util"]})
pd.DataFrame(rows)

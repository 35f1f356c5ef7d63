# %% [markdown]
# # Live migration: pre-copy, post-copy, and what the guest pays
#
# A VM moves to another host while its workload runs. **Pre-copy** (Clark et al., NSDI 2005) sends all memory,
# then round after round the pages the guest dirtied meanwhile, and stops the VM only for the last few; **post-copy**
# (Hines and Gopalan, VEE 2009) stops it only to move its CPU state, then fetches each page on the target when the
# guest touches it, while the rest is pushed in the background. The guest pays either way: pre-copy makes the
# hypervisor track every first write to a page in a round (a fault under write protection or shadow log-dirty
# mode, almost nothing with PML), post-copy makes every access to a missing page a network round trip. The link is
# the host's NIC, shared with the workload's own traffic.

# %%
import kit
from kit import studies
from kit.ui import plots
import pandas as pd
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# %% [markdown]
# ## 1. One pre-copy migration
#
# A Quake 3 server in a 128 MiB KVM guest on Skylake, over gigabit Ethernet shared with its players. QEMU's policy:
# at most 128 MiB/s, stop when the rest fits in 300 ms. The first round sends all memory; the game's small hot set
# is all that is left after it.

# %%
spec = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="quake3-server")
pre = kit.migrate(spec, vm_mib=128, link_gbps=1.0)
keys = ["tracking", "policy", "total_s", "downtime_ms", "rounds", "bytes_sent", "stop_reason", "source_cpu_s",
        "target_cpu_s", "tracking_cpu_s", "relative_throughput_during"]
pd.Series({k: pre.summary[k] for k in keys})

# %%
pre.rounds[["round", "kind", "start_s", "end_s", "pages", "dirtied", "rate_mbps"]]

# %%
plots.migration_timeline(pre.timeline, title="pre-copy: the guest's throughput and the migration's traffic")

# %% [markdown]
# ## 2. Pre-copy against post-copy
#
# The same VM. Post-copy stops the VM for a couple of milliseconds and sends every page exactly once; in exchange
# the guest stalls on the target until the pages it uses have arrived.

# %%
post = kit.migrate(spec, vm_mib=128, link_gbps=1.0, method="post-copy")
both = pd.DataFrame([pre.summary, post.summary]).set_index("method")
both[["total_s", "downtime_ms", "rounds", "memory_factor", "postcopy_faults", "relative_throughput_during"]]

# %%
assert post.summary["downtime_ms"] < pre.summary["downtime_ms"]  # post-copy stops the VM for less time
assert post.summary["memory_factor"] == 1.0 < pre.summary["memory_factor"]  # and sends each page once
plots.migration_timeline(post.timeline, title="post-copy: the guest's throughput and the pages it pulls")

# %% [markdown]
# ## 3. Dirty rate against downtime, per method
#
# The game server again in 64 MiB, with its writable working set made heavier: more pages written per update,
# most of them anywhere in its memory. Pre-copy's downtime follows the dirty rate up to QEMU's 300 ms limit, beyond
# which the rounds stop converging (the model stops after 60 and reports it); post-copy's downtime does not move,
# and its cost shows up as the guest's throughput while its pages arrive.

# %%
variants = {f"{method} {pages}": {"method": method, "params": {"writable.pages_per_unit": pages,
                                                             "writable.hot_fraction": 0.2}}
            for method in ("pre-copy", "post-copy") for pages in (3, 30, 100, 300, 1000)}
sweep = studies.migrate_variants(variants, hardware="skylake-sp-2017", hypervisor="kvm", workload="quake3-server",
                           vm_mib=64, link_gbps=1.0)
table = sweep[["method", "page_writes_per_s", "downtime_ms", "total_s", "rounds", "converged",
               "relative_throughput_during"]]
table.round({"page_writes_per_s": 0})

# %%
pre_rows = sweep[sweep["method"] == "pre-copy"]
post_rows = sweep[sweep["method"] == "post-copy"]
assert pre_rows["downtime_ms"].is_monotonic_increasing
assert not pre_rows["converged"].iloc[-1]  # the heaviest writer outruns the link
assert post_rows["downtime_ms"].max() - post_rows["downtime_ms"].min() < 1.0
assert post_rows["relative_throughput_during"].iloc[-1] < post_rows["relative_throughput_during"].iloc[0]
plots.downtime_vs_dirty_rate(sweep)

# %% [markdown]
# ## 4. What tracking costs the guest, per CPU generation
#
# A kernel build (page faults and fresh pages on every compile) migrated over 10 Gbit/s. Xen PV tracks with shadow
# page tables in log-dirty mode; KVM on Sandy Bridge write-protects its EPT (an exit per first write); Haswell adds
# EPT dirty bits (a what-if: KVM never scanned them); Skylake logs writes with PML, an exit per 512.

# %%
gens = {"Xen PV, Skylake (shadow log-dirty)": {"hardware": "skylake-sp-2017", "hypervisor": "xen-pv"},
        "KVM, Sandy Bridge (write protection)": {"hardware": "sandybridge-ep-2012"},
        "KVM, Haswell (EPT dirty bits)": {"hardware": "haswell-ep-2014", "tracking": "ad-bits"},
        "KVM, Skylake (PML)": {"hardware": "skylake-sp-2017"},
        "KVM, Skylake without PML": {"hardware": "skylake-sp-2017", "hw": {"features.pml": False}}}
track = studies.migrate_variants(gens, label="tracking by", hypervisor="kvm", workload="kernel-build", vm_mib=128,
                           link_gbps=10.0, start_s=0.5)
track["exits per first write"] = track["tracking_exits"] / track["first_writes"]
track["tracking us per first write"] = track["tracking_cpu_s"] / track["first_writes"] * 1e6
track[["tracking by", "tracking", "first_writes", "exits per first write", "tracking us per first write",
       "relative_throughput_during"]]

# %%
per = track.set_index("tracking by")["tracking us per first write"]
assert per["KVM, Skylake (PML)"] < per["KVM, Skylake without PML"]
assert per["KVM, Haswell (EPT dirty bits)"] < per["KVM, Sandy Bridge (write protection)"]

# %% [markdown]
# ## 5. The link is shared with the workload
#
# The same pre-copy over the NIC the players use, and over a link of its own: on the shared NIC the game's
# snapshots queue behind the migration's bursts.

# %%
links = studies.migrate_variants({"shared NIC": {}, "dedicated link": {"shared_link": False}}, label="link",
                           hardware="skylake-sp-2017", hypervisor="kvm", workload="quake3-server", vm_mib=128,
                           link_gbps=1.0)
links[["link", "total_s", "downtime_ms", "latency_p99_before_us", "latency_p99_during_us"]]

# %%
lat = links.set_index("link")["latency_p99_during_us"]
assert lat["shared NIC"] > lat["dedicated link"]

# %% [markdown]
# ## The panel
#
# The same migrations from controls: the platform, pre-copy or post-copy, the policy and the tracking method, the
# VM's memory, the link, and a heavier writable working set. **Run** shows the timeline and the summary.

# %%
from kit.ui.panels import MigrationPanel
MigrationPanel(hardware="skylake-sp-2017", hypervisor="kvm", workload="quake3-server", vm_mib=128, link_gbps=1.0)

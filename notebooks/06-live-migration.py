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
#
# How much a round dirties depends on the workload's *writable working set* (Clark et al., section 4.1): the
# distinct pages it writes in a window of each length. Pre-copy is computed by a round model over that set (each
# round's pages, length and dirtied pages from the working set and the round's rate), while the warm-up, the first
# moments of round 1 and the stop-and-copy are simulated event by event; the event engine (`engine="events"`)
# simulates every page and agrees with it (`tests/test_migration.py`).

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
keys = ["engine", "tracking", "policy", "total_s", "downtime_ms", "rounds", "bytes_sent", "stop_reason",
        "source_cpu_s", "target_cpu_s", "tracking_cpu_s", "relative_throughput_during"]
pd.Series({k: pre.summary[k] for k in keys})

# %%
pre.rounds[["round", "kind", "start_s", "end_s", "pages", "dirtied", "rate_mbps"]]

# %% [markdown]
# The downtime is more than the last pages: the guest stops (a paravirtual guest suspends itself; KVM pauses the
# vCPUs), the CPU and device state follow, the target restores the VM, its devices reconnect and its address is
# announced to the switch.

# %%
assert abs(sum(pre.summary["downtime_parts_ms"].values()) - pre.summary["downtime_ms"]) < 0.2
pd.Series(pre.summary["downtime_parts_ms"], name="ms")

# %% [markdown]
# Over time: the bands are the rounds and the stop-and-copy; the guest's throughput is shown per bin with its 95%
# interval where it was simulated (a bin holds about 200 units of the game server, or the stretch gets four bins),
# and as the round's mean (dashed) where the round model computed it.

# %%
plots.migration_timeline(pre.timeline, rounds=pre.rounds,
                         title="pre-copy: the guest's throughput and the migration's traffic")

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
plots.migration_timeline(post.timeline, rounds=post.rounds,
                         title="post-copy: the guest's throughput and the pages it pulls")

# %% [markdown]
# ## 3. The writable working set
#
# Clark et al. characterize a workload by the distinct pages it writes in windows of increasing length. A hot set
# (stacks, allocator pools, socket buffers, frames the allocator hands out again) is dirty within a fraction of a
# second; pages written once in a while grow with the window: a web server's new file data filling the page
# cache's oldest frames, a JVM allocating through its young generation in order. Each workload at a rate it runs
# at on one Skylake vCPU:

# %%
from kit.live_migration import writable_working_set
windows = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100]
runs = {w: kit.run(kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload=w), baseline=False).summary
        for w in ("specweb", "quake3-server", "kernel-build", "specjbb")}
rates = {w: float(r["units"].iloc[0] / r["duration"].iloc[0]) for w, r in runs.items()}  # units of work per second
curves = pd.concat([writable_working_set(w, rate, windows).assign(workload=w) for w, rate in rates.items()])
plots.writable_working_set(curves)

# %%
web = curves[curves["workload"] == "specweb"].set_index("window_s")
assert web.loc[1.0, "hot_mib"] > 0.99 * kit.load_workload("specweb").writable.hot_mib  # the hot set, within a second
assert web.loc[100.0, "in_order_mib"] > 50 * web.loc[1.0, "in_order_mib"]  # new file data grows with the window
curves.pivot(index="window_s", columns="workload", values="mib").round(1)

# %% [markdown]
# The same working set decides how a pre-copy proceeds round by round. SPECweb99 in an 800 MB Xen PV guest of 2003,
# over gigabit Ethernet shared with its clients, under Xen's policy as its save tool codes it and under the policy
# as Clark et al. describe it (the next round's limit is the last round's dirtying rate plus 50 Mbit/s; pre-copy
# stops when that would exceed 500 Mbit/s or when less than 256 KB remain; the stop-and-copy at 500 Mbit/s). The
# first round sends nearly all memory at 100 Mbit/s; as rounds shorten, the hot set is what is left.

# %%
web_spec = kit.Spec.make(hardware="p4-xeon-2003", hypervisor="xen-pv", workload="specweb", mode={"release": "2003"},
                         seed=2005)
policies = {p: kit.migrate(web_spec, vm_mib=800, link_gbps=1.0, policy=p, zero_pages=False) for p in ("xen", "clark")}
pd.DataFrame({p: {k: m.summary[k] for k in ("total_s", "downtime_ms", "rounds", "bytes_sent", "stop_reason")}
              for p, m in policies.items()})

# %%
assert policies["clark"].summary["rounds"] < policies["xen"].summary["rounds"]  # Clark's stop comes earlier
plots.migration_rounds(policies["xen"].rounds, title="SPECweb99, 800 MB, Xen's policy: pages sent and dirtied per round")

# %% [markdown]
# ## 4. Dirty rate against downtime, per method
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
# ## 5. What tracking costs the guest, per CPU generation
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
# ## 6. The link is shared with the workload
#
# The same pre-copy over the NIC the players use, and over a link of its own: on the shared NIC the game's
# snapshots queue behind the migration's bursts (the latencies during the migration are those of the stretches
# simulated event by event: round 1's first moments and the stop-and-copy).

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

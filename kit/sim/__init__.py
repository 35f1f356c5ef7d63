"""The simulation: a SimPy host on which guest workloads run under a hypervisor mode.

``work`` (immutable pieces of CPU work and the breakdown categories), ``costing`` (what a unit of work, an I/O
batch or a wakeup costs under the mode, from the per-event paths), ``scheduler`` (physical CPUs and the credit,
CFS and FIFO policies), ``devices`` (NIC and disk queues), ``host`` (VMs, backends, runners) and ``drivers``
(the processes of each workload kind).
"""

"""The simulation: a SimPy host on which guest workloads run under a hypervisor mode.

``work`` (immutable pieces of CPU work and the breakdown categories); what a workload costs under the mode as work
(``unit_costs``, ``net_costs``, ``disk_costs``, ``mode_costs``, from the per-event paths of :mod:`kit.costs`);
``entities``, ``policies`` (credit, credit2, CFS, FIFO), ``scheduler`` (the discrete engine) and ``fluid`` (the
hybrid engine's scheduler); ``engines`` (which engine runs a host); ``devices`` (NIC and disk queues); ``host``
(VMs, backends, runners) and ``drivers`` (the processes of each workload kind); ``request_paths`` (request and disk
paths evaluated as queues, without events, where nothing contends) and ``queueing`` (mean-value analysis and the
Lindley recursion); what VMs cost each other
(``numa``, ``memory``, ``overcommit``, ``switches``, ``locks``).
"""

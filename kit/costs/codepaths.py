"""Software path lengths of hypervisors, in instructions.

The hardware profile says what a transition costs and how fast kernel code
runs (``kernel_cpi``); this table says how much code a hypervisor runs on each
path. A path costs ``instructions x kernel_cpi`` cycles on a given CPU, so the
same KVM exit handler is slower on a Pentium 4 than on a Skylake, and a change
to the hardware moves every path that runs on it.

Keys are ``family.path``; a release may override one as
``family@release.path``. Each entry is ``(instructions, source)``. Values
marked "calibrated" were fitted to the microbenchmark named in the source and
are then used unchanged for every other operation and workload.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from ..errors import HvkitError

__all__ = ["SOFTWARE", "FALLBACK", "FITTED_TO", "instructions", "path_overrides", "path_reads", "values_tagged",
           "overrides_in_force"]

_KUT12 = "calibrated: kvm-unit-tests x86/vmexit.c, commit 00bfecaa (2012) commit message"
_AA06 = "calibrated: Adams & Agesen, ASPLOS 2006, nanobenchmarks"
_B03 = "calibrated: Barham et al., SOSP 2003, Tables 3-5 (lmbench)"
_D16 = "calibrated: Dall et al., ISCA 2016, Table II"
_KUT17 = "calibrated: kvm-unit-tests commit cfbd129c (2017)"
#: The range of a path length estimated by reading the code (kit.inputs.ranges)
_READ = ("; plausible 0.5-2x because a path length read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")

SOFTWARE: dict[str, tuple[float, str]] = {
    # ---- KVM (x86 and ARM) ---------------------------------------------------------------
    "kvm.exit_dispatch": (600, "calibrated: Dall et al., ISCA 2016, Table II: a KVM x86 hypercall is 1,300 cycles on Sandy Bridge; the rest of the exit path (vmx_handle_exit, vcpu_enter_guest loop, VMCS reads); plausible 300-930 because this is the 90% profile-likelihood interval of its fit to dall2016:kvm-x86:hypercall, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm@2012.exit_dispatch": (3200, _KUT12 + ": vmcall took 3,898 cycles, so the 2012 exit path was far longer than today's; plausible 2200-4200 because this is the 90% profile-likelihood interval of its fit to kut2012:kvm:vmcall, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm.hypercall": (150, "estimated, because kvm_emulate_hypercall for an unknown number only validates and returns -KVM_ENOSYS" + _READ),
    "kvm.cpuid": (350, "estimated, because kvm_emulate_cpuid looks up the guest's CPUID table (a few hundred instructions); kvm-unit-tests cpuid runs slightly above vmcall" + _READ),
    "kvm.emulate": (3300, _KUT12 + ": 'cost of instruction emulation' about 3,300 cycles (decode, fetch through guest page tables); plausible 2500-4000 because this is the 90% profile-likelihood interval of its fit to kut2012:kvm:inl_from_kernel, kut2012:kvm:step-kvm-instruction-emulation, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm.pio_fast": (200, _KUT12 + ": outl_to_kernel 4,451 vs vmcall 3,898 cycles: the fast port-I/O path and in-kernel device; plausible 100-400 because this is the 90% profile-likelihood interval of its fit to kut2012:kvm:outl_to_kernel, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm.user_exit": (2700, "estimated, because KVM's run loop now returns to userspace and re-enters in about 1,150 cycles beyond the hardware round trip (576 cycles from the KVM_RUN ioctl's entry to VMRUN and 576 from #VMEXIT to the ioctl's exit, measured by M. Roth, 'KVM: SVM: use vmsave/vmload for saving/restoring additional host state', LKML, December 2020) and QEMU's kvm_cpu_exec dispatches the access through the memory API under its big lock in about 1,500 more; the 2012 path (kvm@2012) was five times longer, as the kernel's exit path was; plausible 2000-6000 because the run loop's return and re-entry are measured but QEMU's dispatch is read from the code"),
    "kvm@2012.user_exit": (12600, _KUT12 + ": 'extra cost of exiting to userspace' 13,000 cycles (return from KVM_RUN, QEMU dispatch, re-entry), less two system calls; plausible 10000-16000 because this is the 90% profile-likelihood interval of its fit to kut2012:kvm:inl_from_qemu-inl_from_kernel, kut2012:kvm:inl_from_qemu, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm.qemu_device": (500, "estimated, because a QEMU port read of a simple device register is a dispatch through the memory API and a few hundred instructions" + _READ),
    "kvm.qemu_pmtimer": (4000, _KUT12 + ": inl_from_pmtimer (24,615) exceeds inl_from_qemu (20,574) by reading the host clock in QEMU's ACPI PM timer; plausible 2000-8000 because this is the 90% profile-likelihood interval of its fit to kut2012:kvm:inl_from_pmtimer, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm.apic_access": (900, "estimated, because an APIC register write exit decodes the access and runs the in-kernel LAPIC emulation (kvm_lapic_reg_write)" + _READ),
    "kvm.eoi": (500, "estimated, because an EOI exit updates the in-kernel LAPIC ISR/IRR and re-evaluates pending interrupts" + _READ),
    "kvm.inject": (300, "estimated, because injecting an interrupt writes the VMCS entry-interruption field after an IRR scan" + _READ),
    "kvm.ipi_send": (1200, "estimated, because kvm_apic_send_ipi looks up destinations, sets the IRR and kicks the target vCPU" + _READ),
    "kvm.timer_arm": (700, "calibrated: kvm-unit-tests commit cfbd129c (2017), tscdeadline_immed 2,500 cycles on Haswell with the VMX preemption timer; plausible 350-1100 because this is the 90% profile-likelihood interval of its fit to kut2017:kvm:tscdeadline_immed, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm.timer_arm_hrtimer": (2300, _KUT17 + ": tscdeadline_immed costs 3,700 cycles with hrtimers, 1,200 more than with the VMX preemption timer; plausible 1100-2900 because this is the 90% profile-likelihood interval of its fit to kut2017:kvm:tscdeadline_immed-hrtimer, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm.timer_fire": (2500, "calibrated: kvm-unit-tests commit cfbd129c (2017), tscdeadline 5,600 vs tscdeadline_immed 2,500 cycles on Haswell; plausible 1200-3600 because this is the 90% profile-likelihood interval of its fit to kut2017:kvm:tscdeadline, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm.irq_host": (800, "estimated, because the host handles the physical interrupt (do_IRQ) before KVM injects it" + _READ),
    "kvm.shadow_pf": (1100, "estimated, because classifying a fault against the guest tables and injecting it is about a thousand instructions (VMware's 2006 hardware VMM spent 11,242 cycles on a whole page fault, Adams & Agesen, ASPLOS 2006; no KVM measurement names this path)" + _READ),
    "kvm.shadow_update": (600, "estimated, because a shadow PTE update after an emulated write is a few hundred instructions (kvm_mmu_pte_write)" + _READ),
    "kvm.shadow_cr3": (900, "estimated, because a CR3 exit under shadow paging looks up the cached shadow root (kvm_mmu_new_pgd)" + _READ),
    "kvm.shadow_root_load": (4000, "estimated, because a CR3 load that misses the previous-root cache runs kvm_mmu_load: it allocates or finds the root, syncs unsync shadow pages (kvm_mmu_sync_roots) and flushes the vCPU's TLB" + _READ),
    "kvm.shadow_invlpg": (700, "estimated, because invlpg under shadow paging zaps one shadow entry" + _READ),
    "kvm.shadow_alloc": (2500, "estimated, because a new shadow page is allocated and zeroed, then filled on demand" + _READ),
    "kvm.hidden_fault": (1200, "estimated, because a hidden fault walks the guest tables and fills one shadow entry" + _READ),
    "kvm.mmio_decode": (1200, "estimated, because an MMIO exit (EPT misconfiguration) takes the fast MMIO path with a short decode" + _READ),
    "kvm.vm_switch": (3000, "estimated, because switching vCPU threads of two VMs is a host context switch plus VMCS load (vmptrld) and MSR and FPU state" + _READ),
    "kvm.ioeventfd": (400, "estimated, because an ioeventfd write signals an eventfd from the exit handler without leaving the kernel" + _READ),
    "kvm.thread_wake": (2500, "estimated, because try_to_wake_up, the scheduler's pick and a context switch into a sleeping host thread (a vCPU thread, a vhost worker, an I/O thread) on its CPU run a couple of thousand instructions" + _READ),
    "kvm.irqfd": (800, "estimated, because irqfd injects from the vhost thread through the in-kernel LAPIC" + _READ),
    "kvm.halt_poll_hit": (400, "estimated, because a halt-poll hit checks for a pending interrupt and re-enters without a host context switch" + _READ),
    # KVM/ARM: the hypervisor's own code (the lowvisor in split mode)
    "kvm.arm_run_loop": (400, _D16 + ": KVM ARM hypercall 6,500 cycles, of which the VGIC save/restore is 3,250 (Table III) and the rest is the EL1/EL2 world switch and host run loop; plausible 200-800 because this is the 90% profile-likelihood interval of its fit to dall2016:kvm-arm:hypercall, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm.arm_timer_switch": (150, "estimated, because the virtual timer's control and compare registers are saved and restored per world switch" + _READ),
    "kvm.arm_mmio_vgic": (600, _D16 + ": interrupt controller trap 7,370 vs hypercall 6,500 cycles, the distributor emulation; plausible 300-1200 because this is the 90% profile-likelihood interval of its fit to dall2016:kvm-arm:irqchip_trap, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "kvm.arm_vhe_exit": (350, "estimated, because with VHE an exit is handled in the host kernel at EL2 without switching EL1 state (Dall et al., USENIX ATC 2017)" + _READ),
    # backends: per packet and per disk operation, run by the backend entity
    "kvm.vhost_pkt": (1500, "estimated, because vhost-net's handle_tx/handle_rx (descriptors fetched, the used ring updated, notifications checked) and the tap device's tun_get_user/tun_put_user (an skb built or released) run about 1.5 k instructions per packet; the Linux bridge (BRIDGE_PKT_INSTR) and the host NIC driver (kvm.host_driver_pkt) are charged apart; plausible 1-3 k" + _READ),
    "kvm.qemu_virtio_pkt": (9000, "estimated, because a userspace virtio-net backend adds a tap read or write system call and QEMU's virtqueue handling per packet" + _READ),
    "kvm.qemu_e1000_pkt": (12000, "estimated, because QEMU's e1000 model walks descriptor rings in emulated registers and writes to tap per packet" + _READ),
    "kvm.copy_kb": (120, "estimated, because copying one KiB runs at roughly 8 bytes per instruction" + _READ),
    "kvm.qemu_blk_op": (15000, "estimated, because QEMU's virtio-blk pops a request from the virtqueue and maps its buffers, runs it through QEMU's own block layer (a coroutine per request) to the AIO submission, and takes the completion back through its callback and the virtqueue: about 15 k instructions of QEMU (the host kernel's block layer below it is kit.sim.disk_costs.HOST_BLOCK_REQUEST_INSTR); plausible 8-30 k" + _READ),
    "kvm.qemu_ide_op": (30000, "estimated, because emulated IDE processes a command through QEMU's ATA model and its block layer" + _READ),
    # ---- Firecracker (a microVM's VMM; every other path is KVM's, FALLBACK) ----------------------------------
    "firecracker.vmm_virtio_pkt": (9500, "estimated, because the VMM thread handles a frame as QEMU's user-space virtio-net does (the virtqueue, one read or write system call on the tap device; kvm.qemu_virtio_pkt, 9,000) and also copies it through a frame buffer of its own between guest memory and the tap (Firecracker's net device, as recalled), a few hundred instructions for 1.5 KiB; plausible 0.5-2x because neither the VMM's frame handling nor its copy has been measured"),
    "firecracker.vmm_blk_op": (2000, "estimated, because the VMM thread parses the request's descriptor chain, issues one pread or pwrite on the backing file (docs/api_requests/block-io-engine.md: blocking system calls before v1.0) and writes the used ring, a couple of thousand instructions of its own; the host kernel's path below the system call (VFS, block layer, NVMe submission and completion) is the host block layer's pass (kit.sim.disk_costs.HOST_BLOCK_REQUEST_INSTR), as for QEMU; plausible 0.5-2x because the VMM's own share is read from the code, not measured"),
    "kvm.host_driver_pkt": (1500, "estimated, because the host NIC driver handles one packet in about a thousand instructions" + _READ),
    # ---- Xen ---------------------------------------------------------------------------------
    "xen.exit_dispatch": (500, "estimated, because Xen's vmx_vmexit_handler dispatches in a few hundred instructions (Dall et al. put a Xen x86 hypercall near KVM's)" + _READ),
    "xen.hypercall": (120, "estimated, because a null Xen hypercall validates its number and returns" + _READ),
    "xen.pv_hypercall": (60, "estimated, because the PV hypercall entry (int 0x82 / syscall) jumps through the hypercall table" + _READ),
    "xen.arm_hypercall": (180, "calibrated: Dall et al., ISCA 2016: a Xen ARM hypercall is 376 cycles on X-Gene (trap, register save, handler); plausible 110-250 because this is the 90% profile-likelihood interval of its fit to dall2016:xen-arm:hypercall, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "xen.arm_mmio_vgic": (880, "calibrated: Dall et al., ISCA 2016: Xen ARM interrupt controller trap 1,356 cycles; plausible 640-1200 because this is the 90% profile-likelihood interval of its fit to dall2016:xen-arm:irqchip_trap, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "xen.trap_bounce": (340, _B03 + ": protection fault 1.40 vs 1.06 us; Xen builds a bounce frame for the guest kernel; plausible 170-680 because this is the 90% profile-likelihood interval of its fit to barham2003:xen-pv:lmbench.prot_fault, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "xen.syscall_bounce": (200, "estimated, because 64-bit PV system calls enter Xen, which switches to the guest kernel's page tables and bounces" + _READ),
    "xen.mmu_update": (250, _B03 + ": page fault 2.73 vs 1.42 us; validating one page-table update; plausible 120-440 because this is the 90% profile-likelihood interval of its fit to barham2003:xen-pv:lmbench.page_fault, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "xen.pt_validate_entry": (6, _B03 + ": fork 198 vs 110 us; validating one entry while pinning a page-table page; plausible 3-9.2 because this is the 90% profile-likelihood interval of its fit to barham2003:xen-pv:lmbench.fork, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "xen.cr3": (500, _B03 + ": context switch 1.97 vs 0.77 us; mmuext_op new_baseptr plus stack_switch; plausible 250-820 because this is the 90% profile-likelihood interval of its fit to barham2003:xen-pv:lmbench.ctxsw_2p_0k, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "xen.emulate_priv": (800, "estimated, because Xen emulates a PV guest's privileged instruction after a #GP" + _READ),
    "xen.upcall": (300, "estimated, because an event-channel upcall sets pending bits and bounces to the guest's callback" + _READ),
    "xen.evtchn_send": (400, "estimated, because EVTCHNOP_send marks the port pending and notifies the remote vCPU" + _READ),
    "xen.ioreq": (6000, "estimated, because an HVM I/O request to the device model in dom0 goes through an ioreq page, an event channel and a dom0 process wakeup" + _READ),
    "xen.schedule": (1500, "estimated, because Xen's scheduler (csched_schedule: runqueue, credit accounting, the pick) runs about 1.5 k instructions per decision" + _READ),
    "xen.vcpu_save": (1750, "estimated, because a Xen domain switch saves the outgoing vCPU's registers, segment, FPU and VMCS or page-table state; with the scheduler and the restore it is a 5,000-instruction switch (Dall et al., ISCA 2016, found Xen's VM switch slower than KVM's on x86)" + _READ),
    "xen.vcpu_restore": (1750, "estimated, because restoring the incoming vCPU's state mirrors saving the outgoing one's" + _READ),
    "xen.irq_host": (500, "estimated, because Xen handles the physical interrupt before raising an event or injecting" + _READ),
    "xen.eoi": (450, "estimated, because Xen's vlapic EOI exit is comparable to KVM's" + _READ),
    "xen.apic_access": (700, "estimated, because Xen's vlapic register emulation is comparable to KVM's" + _READ),
    "xen.ipi_send": (1000, "estimated, because Xen's vlapic ICR write sends an event to the target vCPU" + _READ),
    "xen.inject": (300, "estimated, because injection writes the VMCS entry-interruption field" + _READ),
    "xen.shadow_pf": (1000, "estimated, because Xen's shadow code is comparable to KVM's" + _READ),
    "xen.mmio_decode": (1500, "estimated, because Xen's HVM emulator decodes every MMIO access" + _READ),
    "xen.timer_arm": (1200, "estimated, because Xen's vlapic TSC-deadline write sets a Xen timer" + _READ),
    "xen.timer_fire": (1500, "estimated, because Xen's timer softirq injects the vlapic timer interrupt" + _READ),
    "xen.netback_pkt": (3300, "estimated, because netback's own work per packet (the grant copy or map requested, ring request and response, the skb built or released) is a few thousand instructions: of the 6,000 estimated for dom0's whole per-packet path (Menon et al., VEE 2005, found dom0 processing dominant for guest networking), the Linux bridge (BRIDGE_PKT_INSTR) and dom0's NIC driver (kvm.host_driver_pkt) are charged apart; plausible 2-5 k" + _READ),
    "xen.grant_copy_kb": (200, "estimated, because a grant copy (or a page flip's remapping) moves one KiB with hypervisor checks" + _READ),
    # Xen 1.0 (2003) drove the devices in the hypervisor (arch type1-hypervisor-drivers): no dom0 backend
    "xen.vif_tx_pkt": (600, "estimated, because Xen 1.0 validates each transmit descriptor, copies it and the packet header into the hypervisor and matches the header against the virtual firewall-router's rules before queueing the payload for DMA from the guest's page (Barham et al., SOSP 2003, section 3.3)" + _READ),
    "xen.vif_rx_pkt": (900, "estimated, because Xen 1.0 demultiplexes a received packet through the virtual firewall-router and exchanges its page with a free page from the guest's receive ring (page flipping): two page-table updates checked like an mmu_update, a TLB invalidation and the ring bookkeeping (Barham et al., SOSP 2003, section 3.3)" + _READ),
    "xen.vbd_op": (1500, "estimated, because Xen 1.0 translates a virtual block request through the VBD's extent list, checks the guest's access and issues it to its own disk driver, then queues the completion (Barham et al., SOSP 2003, section 3.3)" + _READ),
    "xen.blkback_op": (8000, "estimated, because blkback maps the grant, builds a bio and completes it through an event channel" + _READ),
    # ---- VMware hosted VMM (binary translation and, in 2006, its VT-x VMM) -------------------
    "vmware.bt_callret": (17, _AA06 + ": call/ret 51 vs 11 cycles; translated returns look up the translation cache; plausible 10-21 because this is the 90% profile-likelihood interval of its fit to adams2006:software-vmm-bt:call/ret, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.bt_syscall_reflect": (340, _B03 + " and " + _AA06 + ": the VMM receives the guest's system call and reflects it into the translated kernel; plausible 280-480 because this is the 90% profile-likelihood interval of its fit to barham2003:vmware-workstation-3.2:lmbench.null_call, adams2006:software-vmm-bt:syscall, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.bt_fault_reflect": (960, _AA06 + ": divide by zero 3,223 vs 889 cycles; a fault in guest code is classified and reflected; plausible 620-1300 because this is the 90% profile-likelihood interval of its fit to adams2006:software-vmm-bt:divzero, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware@2003.bt_fault_reflect": (6300, _B03 + ": protection fault 7.53 vs 1.06 us under Workstation 3.2; reflecting a guest fault cost the 2003 VMM about 15,000 cycles (it explains page fault 12.4 vs 1.42 us and mmap 620 vs 68 us as well); plausible 4100-7900 because this is the 90% profile-likelihood interval of its fit to barham2003:vmware-workstation-3.2:lmbench.prot_fault, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.bt_traced_pte": (160, _AA06 + ": PTE modification 391 cycles; a traced write updates the shadow in the VMM; plausible 80-180 because this is the 90% profile-likelihood interval of its fit to adams2006:software-vmm-bt:ptemod, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware@2003.bt_traced_pte": (1100, _B03 + ": fork 874 vs 110 us and exec 2,300 vs 530 us under Workstation 3.2; before adaptive binary translation every write to a traced page-table page took a trace fault into the VMM (Adams & Agesen, ASPLOS 2006, section 3.3); plausible 550-1500 because this is the 90% profile-likelihood interval of its fit to barham2003:vmware-workstation-3.2:lmbench.fork, barham2003:vmware-workstation-3.2:lmbench.exec, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.bt_callout": (70, "estimated, because a translated privileged instruction calls out to VMM emulation code" + _READ),
    "vmware.bt_inline_device": (85, _AA06 + ": in from port 0x80 is 214 cycles under BT, about fifteen times faster than native; plausible 66-120 because this is the 90% profile-likelihood interval of its fit to adams2006:software-vmm-bt:in, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.bt_cr8": (14, _AA06 + ": cr8 write 35 cycles under BT, about four times faster than native; plausible 10-19 because this is the 90% profile-likelihood interval of its fit to adams2006:software-vmm-bt:cr8wr, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.hidden_fault": (900, _B03 + ": VMware Workstation context switches (18.1 us vs 0.77 us) refill shadows after every address-space switch; plausible 630-1400 because this is the 90% profile-likelihood interval of its fit to barham2003:vmware-workstation-3.2:lmbench.ctxsw_2p_0k, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.shadow_alloc": (3000, "estimated, because a new shadow page is allocated and zeroed in the VMM" + _READ),
    "vmware.exit_dispatch": (1000, _AA06 + ": the 2006 hardware VMM's exit handling, from page fault 11,242 cycles; plausible 500-1300 because this is the 90% profile-likelihood interval of its fit to adams2006:hardware-vmm-vtx:pgfault, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.shadow_pf": (450, _AA06 + ": hardware VMM page fault 11,242 cycles; plausible 220-900 because this is the 90% profile-likelihood interval of its fit to adams2006:hardware-vmm-vtx:pgfault, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.emulate": (500, _AA06 + ": hardware VMM PTE modification 12,733 cycles; decode and emulate the faulting write; plausible 250-1000 because this is the 90% profile-likelihood interval of its fit to adams2006:hardware-vmm-vtx:ptemod, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.shadow_update": (200, _AA06 + ": with vmware.emulate, the hardware VMM's PTE modification (12,733 cycles): the shadow entry updated after the emulated write; plausible 100-400 because this is the 90% profile-likelihood interval of its fit to adams2006:hardware-vmm-vtx:ptemod, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.shadow_invlpg": (400, "estimated, because invlpg drops one shadow entry" + _READ),
    "vmware.host_device": (800, "estimated, because the VMX process's device emulation handles one register access" + _READ),
    "vmware.hosted_io_dispatch": (400, _AA06 + ": in (port 0x80) 15,826 cycles under the hardware VMM, whose I/O exits go through the hosted world switch; plausible 200-800 because this is the 90% profile-likelihood interval of its fit to adams2006:hardware-vmm-vtx:in, each row taken to carry the model's median error on test rows (15%), within the factor of 2 a path length read from the code carries"),
    "vmware.host_net_pkt": (4000, "estimated, because on the host the VMNet driver and the host's bridge handle each packet the VMApp writes to or reads from /dev/vmnet (Sugerman et al., USENIX ATC 2001, section 3); the system call and the host NIC driver are charged apart" + _READ),
    "vmware.host_disk_op": (20000, "estimated, because the VMApp issues each virtual disk request as a read or write of the virtual disk file, which runs the host's VFS, file system and block layer (Sugerman et al., USENIX ATC 2001, section 3)" + _READ),
    "vmware.vlance_port": (300, "estimated, because the VMM decodes a trapped access to the emulated Lance's (or IDE controller's) registers and updates its model of the device without leaving the monitor (Sugerman et al., USENIX ATC 2001, section 4: most register accesses are handled in the VMM)" + _READ),
    # ---- Hyper-V -----------------------------------------------------------------------------
    "hyperv.exit_dispatch": (550, "estimated, because Hyper-V's hypervisor handles intercepts in a path comparable to Xen's" + _READ),
    "hyperv.hypercall": (150, "estimated, because a fast hypercall passes arguments in registers" + _READ),
    "hyperv.root_intercept": (9000, "estimated, because intercepts forwarded to the root partition's worker process cross the VMBus and a process wakeup" + _READ),
    "hyperv.vmbus_signal": (1500, "estimated, because a VMBus signal is a hypercall posting a message to the root partition" + _READ),
    "hyperv.vsp_pkt": (5000, "estimated, because the root partition's network VSP and virtual switch handle each packet (the root's NIC driver is charged apart, kvm.host_driver_pkt)" + _READ),
    "hyperv.vsp_disk_op": (12000, "estimated, because the root partition's storage VSP issues each request to its disk stack" + _READ),
    # ---- QEMU TCG ------------------------------------------------------------------------------
    "qemu.tcg_op": (3, "estimated, because TCG expands a guest instruction into a few micro-operations of one to three host instructions each, with lazy condition-code bookkeeping (Bellard, USENIX ATC 2005, sections 2-3)" + _READ),
    "qemu.softmmu_access": (12, "estimated, because each guest memory access looks its page up inline in the direct-mapped software TLB: shift, mask, compare the tag, add the addend, about a dozen host instructions on a hit (Bellard, USENIX ATC 2005, section 3, software MMU)" + _READ),
    "qemu.tb_chained_exit": (2, "estimated, because a block ending in a direct jump is patched to jump straight to its successor (Bellard, USENIX ATC 2005, direct block chaining)" + _READ),
    "qemu.tb_lookup": (40, "estimated, because a return or indirect jump leaves the chained code and looks the next block up by its guest PC (Bellard, USENIX ATC 2005: a hash of the virtual PC into the translation cache)" + _READ),
    "qemu.softmmu_fill": (300, "estimated, because a software-TLB miss calls tlb_fill, which walks the guest's page-table levels in C and installs the entry (tlb_set_page)" + _READ),
    "qemu.tlb_flush": (600, "estimated, because a guest CR3 load makes QEMU clear its 256-entry software TLB tables (tlb_flush: memsets of a few KiB)" + _READ),
    "qemu.helper": (400, "estimated, because a TCG helper call for a privileged or I/O instruction leaves translated code" + _READ),
    "qemu.exception": (2500, "estimated, because a guest exception under TCG unwinds translated code and restores CPU state" + _READ),
}


#: The published rows (``data/published``, by ``id``) each calibrated path was fitted to. A row named here is a
#: ``fit`` row (or a ``tautology`` when its model value is the parameter itself): it is not evidence, and
#: ``hvkit validate`` keeps it out of the test figure. Every "calibrated" source above has an entry.
FITTED_TO: dict[str, tuple[str, ...]] = {
    "kvm.exit_dispatch": ("dall2016:kvm-x86:hypercall",),
    "kvm@2012.exit_dispatch": ("kut2012:kvm:vmcall",),
    "kvm.emulate": ("kut2012:kvm:inl_from_kernel", "kut2012:kvm:step-kvm-instruction-emulation"),
    "kvm.pio_fast": ("kut2012:kvm:outl_to_kernel",),
    "kvm@2012.user_exit": ("kut2012:kvm:inl_from_qemu-inl_from_kernel", "kut2012:kvm:inl_from_qemu"),
    "kvm.qemu_pmtimer": ("kut2012:kvm:inl_from_pmtimer",),
    "kvm.timer_arm": ("kut2017:kvm:tscdeadline_immed",),
    "kvm.timer_arm_hrtimer": ("kut2017:kvm:tscdeadline_immed-hrtimer",),
    "kvm.timer_fire": ("kut2017:kvm:tscdeadline",),
    "kvm.arm_run_loop": ("dall2016:kvm-arm:hypercall",),
    "kvm.arm_mmio_vgic": ("dall2016:kvm-arm:irqchip_trap",),
    "xen.arm_hypercall": ("dall2016:xen-arm:hypercall",),
    "xen.arm_mmio_vgic": ("dall2016:xen-arm:irqchip_trap",),
    "xen.trap_bounce": ("barham2003:xen-pv:lmbench.prot_fault",),
    "xen.mmu_update": ("barham2003:xen-pv:lmbench.page_fault",),
    "xen.pt_validate_entry": ("barham2003:xen-pv:lmbench.fork",),
    "xen.cr3": ("barham2003:xen-pv:lmbench.ctxsw_2p_0k",),
    "vmware.bt_callret": ("adams2006:software-vmm-bt:call/ret",),
    "vmware.bt_syscall_reflect": ("barham2003:vmware-workstation-3.2:lmbench.null_call",
                                  "adams2006:software-vmm-bt:syscall"),
    "vmware.bt_fault_reflect": ("adams2006:software-vmm-bt:divzero",),
    "vmware@2003.bt_fault_reflect": ("barham2003:vmware-workstation-3.2:lmbench.prot_fault",),
    "vmware.bt_traced_pte": ("adams2006:software-vmm-bt:ptemod",),
    "vmware@2003.bt_traced_pte": ("barham2003:vmware-workstation-3.2:lmbench.fork",
                                  "barham2003:vmware-workstation-3.2:lmbench.exec"),
    "vmware.bt_inline_device": ("adams2006:software-vmm-bt:in",),
    "vmware.bt_cr8": ("adams2006:software-vmm-bt:cr8wr",),
    "vmware.hidden_fault": ("barham2003:vmware-workstation-3.2:lmbench.ctxsw_2p_0k",),
    "vmware.exit_dispatch": ("adams2006:hardware-vmm-vtx:pgfault",),
    "vmware.shadow_pf": ("adams2006:hardware-vmm-vtx:pgfault",),
    "vmware.emulate": ("adams2006:hardware-vmm-vtx:ptemod",),
    "vmware.shadow_update": ("adams2006:hardware-vmm-vtx:ptemod",),
    "vmware.hosted_io_dispatch": ("adams2006:hardware-vmm-vtx:in",),
}

#: Path lengths replaced for the current context (refits, sensitivity tables); see :func:`path_overrides`.
_OVERRIDES: ContextVar[Mapping[str, float | None]] = ContextVar("hvkit_path_overrides", default={})
#: The entries :func:`instructions` answered from, recorded for the current context; see :func:`path_reads`.
_READS: ContextVar[set[str] | None] = ContextVar("hvkit_path_reads", default=None)
#: Other model values replaced for the current context, as ``name=value`` texts (module constants replaced by
#: :func:`kit.uncertainty.overrides.constants_replaced`); see :func:`values_tagged`.
_TAGS: ContextVar[tuple[str, ...]] = ContextVar("hvkit_model_value_tags", default=())


@contextmanager
def values_tagged(tags: Mapping[str, object]) -> Iterator[None]:
    """Within the ``with`` block, :func:`overrides_in_force` names the values ``tags`` (model values replaced by a
    layer above this one, such as module constants), so that a cache of results keys on them too."""
    token = _TAGS.set(_TAGS.get() + tuple(f"{k}={v!r}" for k, v in sorted(tags.items())))
    try:
        yield
    finally:
        _TAGS.reset(token)


def overrides_in_force() -> str:
    """Every path length (:func:`path_overrides`) and tagged model value (:func:`values_tagged`) replaced in the
    current context, as one text: empty where the model runs on its own values. A cache of computed results that
    outlives a ``with`` block (a unit's work, a native baseline) keys on it, so that a run made under other values
    is never answered with one made under the model's own (or the reverse)."""
    over, tags = _OVERRIDES.get(), _TAGS.get()
    if not over and not tags:
        return ""
    return ";".join([f"{k}={v!r}" for k, v in sorted(over.items())] + list(tags))

#: How many blocks of the current context replace or watch the model's module constants; see :func:`values_altered`.
_ALTERED: ContextVar[int] = ContextVar("hvkit_values_altered", default=0)


@contextmanager
def values_altered() -> Iterator[None]:
    """Within the ``with`` block, the model's module constants are not its own (other values, or values that record
    their reads: :mod:`kit.uncertainty.overrides`), so :func:`model_as_given` is false."""
    token = _ALTERED.set(_ALTERED.get() + 1)
    try:
        yield
    finally:
        _ALTERED.reset(token)


def model_as_given() -> bool:
    """Whether the model's own values are in force and nothing records what is read: no path length overridden
    (:func:`path_overrides`), no read recorded (:func:`path_reads`), no module constant replaced
    (:func:`values_altered`). A cache that keys on the hardware, mode and workload alone (a unit's cost,
    :mod:`kit.sim.unit_costs`) may answer and remember only then: an answer computed under a sample's values, or
    one that skips the reads a result records, would depend on what the process computed before."""
    return not _OVERRIDES.get() and _READS.get() is None and not _ALTERED.get()


@contextmanager
def path_reads() -> Iterator[set[str]]:
    """Within the ``with`` block, record the :data:`SOFTWARE` key of every path length :func:`instructions`
    answers with (after releases and fallbacks), in the set it yields: what a result read, so that model
    uncertainty varies those and no other (:mod:`kit.uncertainty`)."""
    reads: set[str] = set()
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


@contextmanager
def path_overrides(values: Mapping[str, float | None]) -> Iterator[None]:
    """Within the ``with`` block, :func:`instructions` returns ``values[key]`` for the keys given, and treats a
    key given as ``None`` as absent (the release-less entry or the :data:`FALLBACK` family's then applies). A key
    absent from :data:`SOFTWARE` is refused. Used by the leave-one-paper-out refit and the sensitivity tables;
    the table itself is never edited."""
    unknown = sorted(set(values) - set(SOFTWARE))
    if unknown:
        raise HvkitError("no such software path", field="path", value=unknown[0], allowed=sorted(SOFTWARE))
    token = _OVERRIDES.set({**_OVERRIDES.get(), **values})
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


#: Where a family has no path of its own, it runs code comparable to another's:
#: Firecracker's guests run on KVM, whose exits, injections and ioeventfds are the host kernel's;
#: Hyper-V's hypervisor is a type-1 microkernel like Xen's, and Xen's and Hyper-V's
#: x86 emulators and shadow-paging code do the same work as KVM's on the same VMCS.
FALLBACK = {"hyperv": "xen", "xen": "kvm", "vmware": "kvm", "qemu": "kvm", "firecracker": "kvm"}


def _keys(family: str, release: str, path: str) -> Iterator[str]:
    fam: str | None = family
    while fam:
        yield f"{fam}@{release}.{path}"
        yield f"{fam}.{path}"
        fam = FALLBACK.get(fam)


def instructions(family: str, release: str, path: str) -> float:
    """Instructions of ``path`` in hypervisor ``family`` at ``release``.

    A family without its own entry uses the one :data:`FALLBACK` names.
    """
    over = _OVERRIDES.get()
    reads = _READS.get()
    for key in _keys(family, release, path):
        if key in over:
            value = over[key]
            if value is not None:
                if reads is not None:
                    reads.add(key)
                return value
            continue
        if key in SOFTWARE:
            if reads is not None:
                reads.add(key)
            return SOFTWARE[key][0]
    raise HvkitError("no software path", field="path", value=f"{family}.{path}",
                     allowed=sorted(k for k in SOFTWARE if k.startswith(family + ".")))

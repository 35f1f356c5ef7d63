"""This machine: who it is (CPU, kernel, whether it is itself a guest) and what an exit costs on it.

:mod:`kit.machine.host` identifies the machine a measurement was taken on; :mod:`kit.machine.kvm` is a minimal
user of the KVM API (ioctls from Python on ``/dev/kvm``); :mod:`kit.machine.guest` holds the hand-assembled guest
programs; :mod:`kit.machine.probe` runs them with replications and writes a measured hardware profile.
"""

/* The peer scenario of bench/bench_speed.py in SimGrid's C++ s4u API (a fluid model with virtual machines).
 *
 * One host with P cores runs N VMs of V vCPUs; each vCPU runs one actor that executes CPU-bound units back to
 * back (FLOPS_PER_UNIT each on average, the cycles hvkit charges for one unit, varied by a gamma factor of mean 1
 * and coefficient of variation CV as hvkit varies its units) and after each unit writes a Poisson number
 * of small blocks (WRITES_PER_UNIT on average, KB each) to the host's disk, as hvkit's kernel-build does.
 * Prints: vms vcpus pcpus sim_seconds cpu_seconds units
 *
 * Build: g++ -O2 -o simgrid_peer simgrid_peer.cpp -lsimgrid   (Debian: apt-get install libsimgrid-dev)
 * Usage: simgrid_peer N V P FLOPS_PER_UNIT CV CORE_SPEED WRITES_PER_UNIT KB DISK_BPS DURATION
 */
#include <simgrid/s4u.hpp>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>

namespace sg4 = simgrid::s4u;

static double flops_per_unit, cv, writes_per_unit, write_bytes, duration;
static sg4::Disk* disk;
static double units_done = 0;

static void vcpu(int seed)
{
  std::mt19937_64 rng(seed);
  std::poisson_distribution<int> writes(writes_per_unit);
  double shape = 1.0 / (cv * cv);
  std::gamma_distribution<double> jitter(shape, 1.0 / shape);
  while (sg4::Engine::get_clock() < duration) {
    sg4::this_actor::execute(flops_per_unit * jitter(rng));
    units_done += 1;
    int n = writes(rng);
    for (int i = 0; i < n; i++)
      disk->write(static_cast<sg_size_t>(write_bytes));
  }
}

int main(int argc, char** argv)
{
  sg4::Engine e(&argc, argv);
  if (argc != 11) {
    std::fprintf(stderr, "usage: %s N V P FLOPS_PER_UNIT CV CORE_SPEED WRITES_PER_UNIT KB DISK_BPS DURATION\n", argv[0]);
    return 2;
  }
  int n_vms = std::atoi(argv[1]), vcpus = std::atoi(argv[2]), pcpus = std::atoi(argv[3]);
  flops_per_unit = std::atof(argv[4]);
  cv = std::atof(argv[5]);
  double speed = std::atof(argv[6]);
  writes_per_unit = std::atof(argv[7]);
  write_bytes = std::atof(argv[8]) * 1024;
  double disk_bps = std::atof(argv[9]);
  duration = std::atof(argv[10]);

  std::clock_t c0 = std::clock();
  auto* zone = sg4::create_full_zone("host");
  sg4::Host* pm = zone->create_host("pm", speed)->set_core_count(pcpus);
  disk = pm->create_disk("disk", disk_bps, disk_bps);
  pm->seal();
  zone->seal();
  int seed = 1;
  for (int i = 0; i < n_vms; i++) {
    auto* vm = pm->create_vm("vm" + std::to_string(i), vcpus);
    vm->start();
    for (int j = 0; j < vcpus; j++)
      sg4::Actor::create("vcpu" + std::to_string(i) + "." + std::to_string(j), vm, vcpu, seed++);
  }
  e.run_until(duration);
  double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf("%d %d %d %g %g %g\n", n_vms, vcpus, pcpus, duration, cpu, units_done);
  std::fflush(stdout);
  std::_Exit(0); /* the actors still running at the horizon are not torn down one by one */
}

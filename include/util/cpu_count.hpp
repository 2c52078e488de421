// How many cores this process may run on: the smallest of the machine's cores, the CPU affinity
// mask (docker --cpuset-cpus, taskset) and the cgroup v2 CPU quota (docker --cpus, a compose
// file's `cpus:`), rounded up. std::thread::hardware_concurrency() sees only the first, so a
// container limited to one CPU on a big host would otherwise start one worker per host core.
#pragma once
#include <optional>
#include <string_view>

namespace uniqguard::util {

// The cores a cgroup v2 `cpu.max` line allows ("200000 100000" → 2, "150000 100000" → 2,
// "max 100000" → nullopt: no quota); nullopt too for a line it cannot read.
std::optional<unsigned> cores_from_cpu_max(std::string_view line);

// At least 1.
unsigned usable_cores();

}  // namespace uniqguard::util

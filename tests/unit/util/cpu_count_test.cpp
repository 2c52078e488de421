// The cores a cgroup v2 cpu.max line allows (util/cpu_count.hpp).
#include "util/cpu_count.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>

using uniqguard::util::cores_from_cpu_max;

TEST_CASE("cgroup v2 cpu.max lines", "[util]") {
    CHECK(cores_from_cpu_max("max 100000\n") == std::nullopt);  // no quota
    CHECK(cores_from_cpu_max("200000 100000\n") == 2u);
    CHECK(cores_from_cpu_max("150000 100000") == 2u);  // 1.5 CPUs: rounded up
    CHECK(cores_from_cpu_max("50000 100000") == 1u);
    CHECK(cores_from_cpu_max("") == std::nullopt);
    CHECK(cores_from_cpu_max("abc 100000") == std::nullopt);
    CHECK(cores_from_cpu_max("100000 0") == std::nullopt);
    // Never more than the machine's cores (the affinity mask and a quota only lower it), never 0.
    const unsigned cores = uniqguard::util::usable_cores();
    CHECK(cores >= 1u);
    CHECK(cores <= std::max(1u, std::thread::hardware_concurrency()));
}

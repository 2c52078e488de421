#include "util/cpu_count.hpp"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>
#include <thread>

namespace uniqguard::util {

std::optional<unsigned> cores_from_cpu_max(std::string_view line) {
    const auto space = line.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const auto quota_text = line.substr(0, space);
    auto period_text = line.substr(space + 1);
    while (!period_text.empty() && (period_text.back() == '\n' || period_text.back() == ' '))
        period_text.remove_suffix(1);
    if (quota_text == "max") return std::nullopt;
    unsigned long long quota = 0, period = 0;
    const auto q = std::from_chars(quota_text.data(), quota_text.data() + quota_text.size(), quota);
    const auto p =
        std::from_chars(period_text.data(), period_text.data() + period_text.size(), period);
    if (q.ec != std::errc{} || q.ptr != quota_text.data() + quota_text.size() ||
        p.ec != std::errc{} || p.ptr != period_text.data() + period_text.size() || period == 0 ||
        quota == 0)
        return std::nullopt;
    return static_cast<unsigned>(std::max(1ull, (quota + period - 1) / period));
}

namespace {

std::string first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (in) std::getline(in, line);
    return line;
}

// Each directory from `dir` up to the hierarchy's root ("/" for the root itself).
template <class Visit>
void up_from(std::string dir, Visit visit) {
    for (;;) {
        visit(dir == "/" ? std::string() : dir);
        if (dir.empty() || dir == "/") return;
        const auto slash = dir.rfind('/');
        dir = slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
    }
}

// The smallest CPU quota (in cores, rounded up) of the process's cgroup and those above it:
// cgroup v2 `cpu.max`, or v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us` (Debian 12 and Docker
// mount v2; older hosts v1 or both). In a container the process's cgroup is the root.
std::optional<unsigned> cgroup_quota_cores() {
    std::optional<unsigned> cores;
    const auto take = [&](std::optional<unsigned> q) {
        if (q && (!cores || *q < *cores)) cores = q;
    };
    std::ifstream self("/proc/self/cgroup");
    std::string line;
    while (self && std::getline(self, line)) {
        // "hierarchy-id:controllers:path"
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        const std::string controllers = line.substr(first + 1, second - first - 1);
        const std::string path = line.substr(second + 1);
        if (controllers.empty()) {
            up_from(path, [&](const std::string& dir) {
                take(cores_from_cpu_max(first_line("/sys/fs/cgroup" + dir + "/cpu.max")));
            });
            continue;
        }
        bool has_cpu = false;
        std::string_view rest = controllers;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            has_cpu = has_cpu || rest.substr(0, comma) == "cpu";
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
        if (!has_cpu) continue;
        up_from(path, [&](const std::string& dir) {
            const std::string base = "/sys/fs/cgroup/" + controllers + dir;
            const std::string quota = first_line(base + "/cpu.cfs_quota_us");
            if (quota.empty() || quota[0] == '-') return;  // -1: no quota
            take(cores_from_cpu_max(quota + " " + first_line(base + "/cpu.cfs_period_us")));
        });
    }
    return cores;
}

}  // namespace

unsigned usable_cores() {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int allowed = CPU_COUNT(&set);
        if (allowed > 0) cores = std::min(cores, static_cast<unsigned>(allowed));
    }
    if (const auto quota = cgroup_quota_cores()) cores = std::min(cores, *quota);
    return std::max(1u, cores);
}

}  // namespace uniqguard::util

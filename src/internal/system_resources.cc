#include "internal/system_resources.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace newsdedup::internal {
namespace {

// The first line of the file at `path`, without surrounding blanks; false
// where it cannot be read.
bool ReadFirstLine(const std::string& path, std::string* line) {
  std::ifstream in(path);
  if (!in || !std::getline(in, *line)) return false;
  *line = std::string(absl::StripAsciiWhitespace(*line));
  return true;
}

// The text of /proc/self/cgroup; empty where it cannot be read.
std::string ProcSelfCgroup() {
  std::ifstream in("/proc/self/cgroup");
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Calls visit(version, path) for each group in /proc/self/cgroup's text
// that is the unified one (version 2) or holds `v1_controller` (version 1).
template <typename Visit>
void ForEachGroup(const std::string& proc_self_cgroup,
                  absl::string_view v1_controller, const Visit& visit) {
  for (absl::string_view line : absl::StrSplit(proc_self_cgroup, '\n')) {
    // hierarchy-ID:controller-list:path
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3 || fields[2].empty() || fields[2][0] != '/') {
      continue;
    }
    if (fields[0] == "0" && fields[1].empty()) {
      visit(2, fields[2]);
      continue;
    }
    for (absl::string_view controller : absl::StrSplit(fields[1], ',')) {
      if (controller == v1_controller) visit(1, fields[2]);
    }
  }
}

// Calls visit(dir) for root + path and for every folder above it up to
// root.
template <typename Visit>
void ForEachFolderUp(const std::string& root, absl::string_view path,
                     const Visit& visit) {
  std::string dir(absl::StripSuffix(path, "/"));
  while (true) {
    visit(root + dir);
    if (dir.empty()) return;
    const size_t slash = dir.rfind('/');
    dir.resize(slash == std::string::npos ? 0 : slash);
  }
}

}  // namespace

uint64_t CgroupMemoryLimit(const std::string& proc_self_cgroup,
                           const std::string& cgroup_root) {
  uint64_t lowest = UINT64_MAX;
  ForEachGroup(proc_self_cgroup, "memory",
               [&](int version, absl::string_view path) {
                 const std::string root =
                     version == 2 ? cgroup_root : cgroup_root + "/memory";
                 const char* file =
                     version == 2 ? "/memory.max" : "/memory.limit_in_bytes";
                 ForEachFolderUp(root, path, [&](const std::string& dir) {
                   std::string line;
                   uint64_t value = 0;
                   // "max" (v2) and unparsable lines limit nothing.
                   if (ReadFirstLine(dir + file, &line) &&
                       absl::SimpleAtoi(line, &value)) {
                     lowest = std::min(lowest, value);
                   }
                 });
               });
  return lowest;
}

uint64_t AvailableMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 0;
  const uint64_t ram =
      static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
  return std::min(ram, CgroupMemoryLimit(ProcSelfCgroup(), "/sys/fs/cgroup"));
}

double CgroupCpuLimit(const std::string& proc_self_cgroup,
                      const std::string& cgroup_root) {
  double lowest = 0;
  const auto take = [&lowest](double quota, double period) {
    if (quota <= 0 || period <= 0) return;  // -1 (v1): no quota
    const double cores = quota / period;
    if (lowest == 0 || cores < lowest) lowest = cores;
  };
  ForEachGroup(
      proc_self_cgroup, "cpu", [&](int version, absl::string_view path) {
        if (version == 2) {
          ForEachFolderUp(cgroup_root, path, [&](const std::string& dir) {
            std::string line;
            if (!ReadFirstLine(dir + "/cpu.max", &line)) return;
            std::vector<absl::string_view> parts =
                absl::StrSplit(line, ' ', absl::SkipEmpty());
            double quota = 0, period = 0;
            // "max PERIOD": no quota (SimpleAtod reads no number there).
            if (parts.size() == 2 && absl::SimpleAtod(parts[0], &quota) &&
                absl::SimpleAtod(parts[1], &period)) {
              take(quota, period);
            }
          });
          return;
        }
        ForEachFolderUp(
            cgroup_root + "/cpu", path, [&](const std::string& dir) {
              std::string quota_line, period_line;
              double quota = 0, period = 0;
              if (ReadFirstLine(dir + "/cpu.cfs_quota_us", &quota_line) &&
                  ReadFirstLine(dir + "/cpu.cfs_period_us", &period_line) &&
                  absl::SimpleAtod(quota_line, &quota) &&
                  absl::SimpleAtod(period_line, &period)) {
                take(quota, period);
              }
            });
      });
  return lowest;
}

int CoresFrom(int affinity_cpus, double quota) {
  int cores = std::max(affinity_cpus, 1);
  if (quota > 0 && quota < cores) {
    cores = static_cast<int>(std::ceil(quota));
  }
  return std::max(cores, 1);
}

int AvailableCores() {
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    cpus = online > 0 ? static_cast<int>(online) : 1;
  }
  return CoresFrom(cpus, CgroupCpuLimit(ProcSelfCgroup(), "/sys/fs/cgroup"));
}

}  // namespace newsdedup::internal

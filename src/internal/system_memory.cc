#include "internal/system_memory.h"

#include <unistd.h>

#include <algorithm>
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

// The lowest limit in `file` of the folders from root/path up to root.
uint64_t LowestAlongPath(const std::string& root, absl::string_view path,
                         const char* file) {
  uint64_t lowest = UINT64_MAX;
  std::string dir(absl::StripSuffix(path, "/"));
  while (true) {
    std::string line;
    if (ReadFirstLine(root + dir + "/" + file, &line)) {
      uint64_t value = 0;
      // "max" (v2) and unparsable lines limit nothing.
      if (absl::SimpleAtoi(line, &value)) lowest = std::min(lowest, value);
    }
    if (dir.empty()) break;
    const size_t slash = dir.rfind('/');
    dir.resize(slash == std::string::npos ? 0 : slash);
  }
  return lowest;
}

}  // namespace

uint64_t CgroupMemoryLimit(const std::string& proc_self_cgroup,
                           const std::string& cgroup_root) {
  uint64_t lowest = UINT64_MAX;
  for (absl::string_view line : absl::StrSplit(proc_self_cgroup, '\n')) {
    // hierarchy-ID:controller-list:path
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3 || fields[2].empty() || fields[2][0] != '/') {
      continue;
    }
    if (fields[0] == "0" && fields[1].empty()) {
      lowest = std::min(lowest,
                        LowestAlongPath(cgroup_root, fields[2], "memory.max"));
      continue;
    }
    for (absl::string_view controller : absl::StrSplit(fields[1], ',')) {
      if (controller != "memory") continue;
      lowest =
          std::min(lowest, LowestAlongPath(cgroup_root + "/memory", fields[2],
                                           "memory.limit_in_bytes"));
    }
  }
  return lowest;
}

uint64_t AvailableMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 0;
  const uint64_t ram =
      static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
  std::ifstream in("/proc/self/cgroup");
  if (!in) return ram;
  std::stringstream text;
  text << in.rdbuf();
  return std::min(ram, CgroupMemoryLimit(text.str(), "/sys/fs/cgroup"));
}

}  // namespace newsdedup::internal

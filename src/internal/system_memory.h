// How much memory this process may use: the machine's RAM, or less where a
// control group (a container, a systemd slice) limits the process. The
// default --memory-limit is a share of it: a quarter of a 256 GB host's RAM
// would get a container limited to 4 GB killed by the kernel.
#ifndef NEWSDEDUP_INTERNAL_SYSTEM_MEMORY_H_
#define NEWSDEDUP_INTERNAL_SYSTEM_MEMORY_H_

#include <cstdint>
#include <string>

namespace newsdedup::internal {

// The lowest memory limit of the control groups the process is in, from
// the text of /proc/self/cgroup (`proc_self_cgroup`) and the control group
// files under `cgroup_root` (normally /sys/fs/cgroup). Both layouts:
//   - cgroup v2 ("0::/PATH"): ROOT/PATH/memory.max and the same file in
//     every folder above PATH up to ROOT ("max": no limit);
//   - cgroup v1 ("N:...memory...:/PATH"): ROOT/memory/PATH/
//     memory.limit_in_bytes and those above it (a value near 2^63: none).
// Folders of PATH that do not exist are passed over: inside a container
// the group's own files are usually at the mount's root. UINT64_MAX where
// no limit is found.
uint64_t CgroupMemoryLimit(const std::string& proc_self_cgroup,
                           const std::string& cgroup_root);

// The memory available to this process: the physical RAM (sysconf) or the
// control groups' limit from /proc/self/cgroup and /sys/fs/cgroup,
// whichever is lower. 0 where the RAM cannot be read.
uint64_t AvailableMemoryBytes();

}  // namespace newsdedup::internal

#endif  // NEWSDEDUP_INTERNAL_SYSTEM_MEMORY_H_

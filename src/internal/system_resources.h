// What this process may use of the machine: its memory and its cores, less
// than the machine has where a control group (a container, a systemd slice)
// or the CPU affinity limits the process. The defaults of --memory-limit
// and --threads are taken from them: a quarter of a 256 GB host's RAM would
// get a container limited to 4 GB killed by the kernel, and 64 threads in a
// container given 2 CPUs would only wait for each other.
#ifndef NEWSDEDUP_INTERNAL_SYSTEM_RESOURCES_H_
#define NEWSDEDUP_INTERNAL_SYSTEM_RESOURCES_H_

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

// The lowest CPU quota of the control groups the process is in, in cores
// (quota over period), read like CgroupMemoryLimit:
//   - cgroup v2: cpu.max ("QUOTA PERIOD", or "max PERIOD": no quota);
//   - cgroup v1 (the "cpu" controller, under ROOT/cpu): cpu.cfs_quota_us
//     over cpu.cfs_period_us (a quota of -1: none).
// 0 where no quota is found.
double CgroupCpuLimit(const std::string& proc_self_cgroup,
                      const std::string& cgroup_root);

// Cores from `affinity_cpus` (the CPUs the process may run on) and a
// control group's CPU quota in cores (0: none): the quota rounded up where
// it is lower, at least 1.
int CoresFrom(int affinity_cpus, double quota);

// The cores this process may run on: CoresFrom its affinity mask and
// CgroupCpuLimit from /proc/self/cgroup and /sys/fs/cgroup.
int AvailableCores();

}  // namespace newsdedup::internal

#endif  // NEWSDEDUP_INTERNAL_SYSTEM_RESOURCES_H_

// Control group memory and CPU limits, read from a folder laid out like
// /sys/fs/cgroup.
#include "internal/system_resources.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

namespace newsdedup::internal {
namespace {

class CgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/cgroupXXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    ASSERT_EQ(std::system(("rm -rf '" + root_ + "'").c_str()), 0);
  }

  // Writes `text` to root_/path, making the folders on the way.
  void Write(const std::string& path, const std::string& text) {
    std::string dir = root_;
    size_t from = 0;
    for (size_t slash; (slash = path.find('/', from)) != std::string::npos;
         from = slash + 1) {
      dir += "/" + path.substr(from, slash - from);
      mkdir(dir.c_str(), 0755);
    }
    std::ofstream(root_ + "/" + path) << text;
  }

  std::string root_;
};

TEST_F(CgroupTest, V2TakesTheLowestLimitOnThePath) {
  Write("memory.max", "max\n");
  Write("kubepods/memory.max", "8589934592\n");
  Write("kubepods/pod1/memory.max", "max\n");
  Write("kubepods/pod1/app/memory.max", "4294967296\n");
  EXPECT_EQ(CgroupMemoryLimit("0::/kubepods/pod1/app\n", root_),
            uint64_t{4294967296});
  // A group whose own limit is higher than its parent's gets the parent's.
  Write("kubepods/pod1/app/memory.max", "17179869184\n");
  EXPECT_EQ(CgroupMemoryLimit("0::/kubepods/pod1/app\n", root_),
            uint64_t{8589934592});
}

TEST_F(CgroupTest, V2WithoutALimitIsUnlimited) {
  Write("user.slice/memory.max", "max\n");
  EXPECT_EQ(CgroupMemoryLimit("0::/user.slice\n", root_), UINT64_MAX);
}

TEST_F(CgroupTest, V1ReadsTheMemoryController) {
  // Unlimited groups read 2^63 rounded down to a page; the limit is in the
  // memory controller's line only (not cpu's, whose path differs).
  Write("memory/memory.limit_in_bytes", "9223372036854771712\n");
  Write("memory/docker/abc/memory.limit_in_bytes", "2147483648\n");
  Write("memory/other/memory.limit_in_bytes", "1048576\n");
  const std::string cgroup =
      "12:cpu,cpuacct:/other\n"
      "4:memory:/docker/abc\n"
      "1:name=systemd:/docker/abc\n";
  EXPECT_EQ(CgroupMemoryLimit(cgroup, root_), uint64_t{2147483648});
}

TEST_F(CgroupTest, AContainerSeesItsGroupAtTheRoot) {
  // Inside a container the host's path does not exist under the mount; the
  // container's own limit is the mount's root file.
  Write("memory/memory.limit_in_bytes", "1073741824\n");
  EXPECT_EQ(CgroupMemoryLimit("4:memory:/docker/0123abcd\n", root_),
            uint64_t{1073741824});
}

TEST_F(CgroupTest, NothingReadableIsUnlimited) {
  EXPECT_EQ(CgroupMemoryLimit("0::/\n", root_), UINT64_MAX);
  EXPECT_EQ(CgroupMemoryLimit("", root_), UINT64_MAX);
  EXPECT_EQ(CgroupMemoryLimit("garbage\n3:memory\n", root_), UINT64_MAX);
  Write("memory.max", "not a number\n");
  EXPECT_EQ(CgroupMemoryLimit("0::/\n", root_), UINT64_MAX);
}

TEST_F(CgroupTest, V2CpuQuotaInCores) {
  Write("cpu.max", "max 100000\n");
  Write("system.slice/cpu.max", "max 100000\n");
  Write("system.slice/job/cpu.max", "150000 100000\n");
  EXPECT_DOUBLE_EQ(CgroupCpuLimit("0::/system.slice/job\n", root_), 1.5);
  // The lowest quota on the path counts.
  Write("system.slice/cpu.max", "50000 100000\n");
  EXPECT_DOUBLE_EQ(CgroupCpuLimit("0::/system.slice/job\n", root_), 0.5);
}

TEST_F(CgroupTest, V1CpuQuotaInCores) {
  Write("cpu/cpu.cfs_quota_us", "-1\n");
  Write("cpu/cpu.cfs_period_us", "100000\n");
  Write("cpu/docker/abc/cpu.cfs_quota_us", "200000\n");
  Write("cpu/docker/abc/cpu.cfs_period_us", "100000\n");
  // The cpu controller's line, not memory's.
  const std::string cgroup =
      "4:memory:/elsewhere\n"
      "3:cpu,cpuacct:/docker/abc\n";
  EXPECT_DOUBLE_EQ(CgroupCpuLimit(cgroup, root_), 2.0);
}

TEST_F(CgroupTest, NoCpuQuota) {
  Write("cpu.max", "max 100000\n");
  EXPECT_EQ(CgroupCpuLimit("0::/\n", root_), 0.0);
  Write("cpu/cpu.cfs_quota_us", "-1\n");
  Write("cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(CgroupCpuLimit("2:cpu:/\n", root_), 0.0);
  EXPECT_EQ(CgroupCpuLimit("", root_), 0.0);
}

TEST(CoresFromTest, TheQuotaRoundedUpWhereLower) {
  EXPECT_EQ(CoresFrom(8, 0), 8);     // no quota
  EXPECT_EQ(CoresFrom(8, 1.5), 2);   // rounded up
  EXPECT_EQ(CoresFrom(8, 0.25), 1);  // at least one
  EXPECT_EQ(CoresFrom(8, 3.0), 3);
  EXPECT_EQ(CoresFrom(2, 16), 2);  // a quota above the CPUs limits nothing
  EXPECT_EQ(CoresFrom(0, 0), 1);   // an unreadable mask
}

TEST(AvailableCoresTest, AtMostTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const int cores = AvailableCores();
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, CPU_COUNT(&set));
}

TEST(AvailableMemoryTest, AtMostThePhysicalRam) {
  const uint64_t ram = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                       static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  const uint64_t available = AvailableMemoryBytes();
  EXPECT_GT(available, 0u);
  EXPECT_LE(available, ram);
}

}  // namespace
}  // namespace newsdedup::internal

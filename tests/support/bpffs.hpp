// A BPF file system of a test's own (root only), for pins: outside /sys,
// which ip netns exec remounts, so that commands run in a namespace see it.
// Unmounted and removed by the destructor, also when a test fails.
#pragma once

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace p0fbpf::testing {

class Bpffs {
 public:
  // Mounted at TEMPDIR/p0fbpf_TAG_bpffs_PID: a tag per test program, so that
  // programs running side by side never share one.
  explicit Bpffs(const std::string& tag)
      : path_(::testing::TempDir() + "p0fbpf_" + tag + "_bpffs_" + std::to_string(getpid())) {
    mkdir(path_.c_str(), 0700);
    mounted_ = mount("bpf", path_.c_str(), "bpf", 0, nullptr) == 0;
  }
  ~Bpffs() {
    if (mounted_) umount(path_.c_str());
    rmdir(path_.c_str());
  }
  Bpffs(const Bpffs&) = delete;
  Bpffs& operator=(const Bpffs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& path() const { return path_; }
  // The entries of its top directory whose names start with p0fbpf, a name a line.
  std::string pins() const {
    std::string out;
    if (DIR* dir = opendir(path_.c_str())) {
      while (dirent* entry = readdir(dir)) {
        if (std::string(entry->d_name).rfind("p0fbpf", 0) == 0) out += std::string(entry->d_name) + "\n";
      }
      closedir(dir);
    }
    return out;
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

}  // namespace p0fbpf::testing

#include "p0fbpf/system_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace p0fbpf {

SystemLock::SystemLock(const std::string& path, std::chrono::milliseconds patience,
                       const std::function<void()>& waiting) {
  std::size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0 && geteuid() == 0) {
    std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      error_ = fmt::format("cannot make {} for the lock: {}", dir, std::strerror(errno));
      return;
    }
  }
  // Only root makes the lock (a run without privileges changes nothing,
  // and fails at its first privileged step anyway); a lock someone else
  // owns could be held forever by them, so root takes only its own. It is
  // readable by all, so that a run with capabilities (CAP_BPF,
  // CAP_NET_ADMIN) but not root takes it too (flock needs no write access).
  bool root = geteuid() == 0;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (root ? O_CREAT : 0), 0644);
  if (fd < 0) {
    // Without root, nothing to wait for: the first privileged step fails.
    if (!root && (errno == ENOENT || errno == EACCES)) return;
    error_ = fmt::format("cannot open the lock {}: {}", path, std::strerror(errno));
    return;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (root && st.st_uid != 0)) {
    error_ = fmt::format("the lock {} is not a regular file owned by root\n  help: remove it (rm {})", path, path);
    close(fd);
    return;
  }
  if (root && (st.st_mode & 0777) != 0644 && fchmod(fd, 0644) != 0) {  // made 0600 by an earlier p0fbpf
    error_ = fmt::format("cannot make the lock {} readable: {}", path, std::strerror(errno));
    close(fd);
    return;
  }
  auto deadline = std::chrono::steady_clock::now() + patience;
  bool told = false;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      error_ = fmt::format("cannot lock {}: {}", path, std::strerror(errno));
      close(fd);
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      error_ = fmt::format(
          "another p0fbpf run has held the lock {} for more than {} s\n"
          "  help: wait for it to finish (fuser -v {} shows it), then run again",
          path, std::chrono::duration_cast<std::chrono::seconds>(patience).count(), path);
      close(fd);
      return;
    }
    if (!told && waiting) waiting();
    told = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  fd_ = fd;
}

SystemLock::~SystemLock() {
  if (fd_ >= 0) close(fd_);  // releases the flock
}

}  // namespace p0fbpf

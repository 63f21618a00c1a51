// The one lock of every p0fbpf command that changes the system (xdp attach,
// xdp detach, xdp prune, pin): an flock on /run/lock/p0fbpf.lock, so that
// two runs at once take turns instead of interleaving their steps. Scripts
// hold a lock of their own (p0fbpf-script.lock) and call `p0fbpf pin` while
// they hold it: the two locks are never the same.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace p0fbpf {

inline constexpr const char* kSystemLockPath = "/run/lock/p0fbpf.lock";

class SystemLock {
 public:
  // Takes the lock at `path` (its directory is made if missing), waiting
  // at most `patience`; `waiting` is called once if another run holds it.
  // On failure `error()` says why and nothing is held. Without root, a
  // missing lock is not made: nothing is held and error() is empty.
  SystemLock(const std::string& path, std::chrono::milliseconds patience,
             const std::function<void()>& waiting = {});
  ~SystemLock();
  SystemLock(const SystemLock&) = delete;
  SystemLock& operator=(const SystemLock&) = delete;

  bool held() const { return fd_ >= 0; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  std::string error_;
};

}  // namespace p0fbpf

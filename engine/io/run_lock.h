// engine/io/run_lock.h — one run per output directory.
// RunLock(dir) creates dir (if needed) and dir/.lock, takes flock(LOCK_EX | LOCK_NB) on it and
// writes "pid / host / started" into it. The lock belongs to the open file, so the kernel releases
// it when the holder exits for any reason (kill -9 included): a stale .lock file is simply taken
// over by the next run. While the holder lives, a second RunLock on the same dir — in another
// process or in this one — throws senet::Error "output directory D is in use by pid P ...".
// In a data-parallel run (engine/dist/comm.h) rank 0 alone creates and holds the lock; on the other
// ranks a RunLock does nothing (they write no file).
// Caveat: a child made by fork() shares the lock until it exits or execs (the fd is O_CLOEXEC).
// A run that fails before writing anything (an exception unwinds through the lock while the
// directory holds only .lock) leaves nothing behind: the lock file is unlinked while still locked
// and the directory removed if this lock created it (see the .cpp for why that order is safe).
#pragma once
#include <string>

namespace senet::io {

class RunLock {
 public:
  explicit RunLock(const std::string& dir);
  ~RunLock();  // clears the lock file's content and releases the lock (the file stays; see .cpp)
               // unless a failure unwinds through it and the directory holds nothing else
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::string& lock_path() const { return path_; }

 private:
  std::string dir_, path_;
  int fd_ = -1;
  bool created_dir_ = false;
  int uncaught_ = 0;  // std::uncaught_exceptions() at construction
};

}  // namespace senet::io

// engine/io/run_lock.cpp — flock-based run-directory lock.
// Why flock and not "create the file if it does not exist": an exclusive create leaves a stale
// file behind when the process is killed, and someone must delete it by hand; a flock dies with
// the process. Why the file is never deleted: unlinking it would let two runs lock two different
// files (one opened before the unlink, one created after) and both believe they own the directory.
// The one exception, a failed run that wrote nothing: the unlink happens while we still hold the
// flock, so a run that opened the old file cannot lock it (LOCK_NB: it is refused, "in use"), and
// a run that comes after the unlink creates a new file and then owns the directory; our rmdir then
// fails harmlessly because the directory is not empty.
#include "engine/io/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>

#include "engine/core/error.h"
#include "engine/dist/comm.h"

namespace senet::io {
namespace {

std::string now_text() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z", &tm);
  return buf;
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

// The holder's content, "pid P\nhost H\nstarted T\n", read back for the error message.
std::string field(const std::string& content, const std::string& key) {
  size_t pos = 0;
  while (pos < content.size()) {
    size_t eol = content.find('\n', pos);
    if (eol == std::string::npos) eol = content.size();
    std::string line = content.substr(pos, eol - pos);
    if (line.compare(0, key.size() + 1, key + " ") == 0) return line.substr(key.size() + 1);
    pos = eol + 1;
  }
  return "?";
}

std::string read_fd(int fd) {
  std::string out;
  char buf[512];
  off_t off = 0;
  for (;;) {
    ssize_t r = ::pread(fd, buf, sizeof buf, off);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
    off += r;
    if (out.size() > 4096) break;  // our own content is a few lines; ignore anything longer
  }
  return out;
}

}  // namespace

RunLock::RunLock(const std::string& dir)
    : dir_(dir), path_(dir + "/.lock"), uncaught_(std::uncaught_exceptions()) {
  if (!dist::is_writer()) return;  // a data-parallel run: rank 0 holds the lock for the job
  std::error_code ec;
  created_dir_ = std::filesystem::create_directories(dir, ec);
  if (ec) fail("cannot create output directory ", dir, ": ", ec.message());

  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot open lock file ", path_, ": ", std::strerror(errno));

  int rc;
  do rc = ::flock(fd_, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    const std::string holder = read_fd(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      fail("output directory ", dir, " is in use by pid ", field(holder, "pid"), " on host ",
           field(holder, "host"), " (started ", field(holder, "started"),
           "); wait for that run to finish, stop it, or choose another output directory");
    }
    fail("cannot lock ", path_, ": ", std::strerror(err));
  }

  // We own it now: replace whatever a previous (dead) owner wrote.
  const std::string content =
      "pid " + std::to_string(getpid()) + "\nhost " + hostname() + "\nstarted " + now_text() + "\n";
  int err = 0;
  if (::ftruncate(fd_, 0) != 0) {
    err = errno;
  } else {
    ssize_t w = ::pwrite(fd_, content.data(), content.size(), 0);
    if (w < 0)
      err = errno;
    else if (static_cast<size_t>(w) != content.size())
      err = EIO;  // short write: disk full?
  }
  if (err != 0) {
    ::close(fd_);  // releases the lock
    fd_ = -1;
    fail("cannot write lock file ", path_, ": ", std::strerror(err));
  }
}

// True when `dir` holds nothing but the lock file.
static bool only_lock_file(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().filename() != ".lock") return false;
  return !ec;
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  if (std::uncaught_exceptions() > uncaught_ && only_lock_file(dir_)) {
    ::unlink(path_.c_str());  // still locked: see the top of this file
    ::close(fd_);
    if (created_dir_) ::rmdir(dir_.c_str());
    return;
  }
  (void)!::ftruncate(fd_, 0);  // no stale "in use by" text after a clean exit; best effort
  ::close(fd_);                // releases the flock
}

}  // namespace senet::io

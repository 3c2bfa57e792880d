// engine/io/atomic_file.cpp — write-temp-then-rename, with every system call checked.
// Order matters for crash safety: write → fsync(file) → close → rename → fsync(directory).
// Until rename succeeds, `path` still holds the old content; any failure before it removes the temp
// file and throws. Short writes are retried; EINTR is retried; anything else is an error.
#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "engine/core/error.h"
#include "engine/dist/comm.h"

namespace senet::io {
namespace {

std::string reason(int err) { return std::strerror(err); }

// Default action of SIGXFSZ kills the process when a write crosses RLIMIT_FSIZE. Ignoring it makes
// write() fail with EFBIG, which we report. A handler someone else installed is left alone.
void ignore_sigxfsz_if_default() {
  struct sigaction old {};
  if (sigaction(SIGXFSZ, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, nullptr);
  }
}

std::string parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Unique per process and per call, so two threads writing the same path never share a temp file.
std::string temp_path_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
}

// Writes all bytes or returns the errno of the failing write (0 on success).
int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;  // write() of n > 0 bytes never returns 0 on a regular file
    p += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

}  // namespace

static void write_file_atomic_here(const std::string& path, const void* data, size_t bytes);

void write_file_atomic(const std::string& path, const void* data, size_t bytes) {
  // A data-parallel run (engine/dist/comm.h) writes each file once, from rank 0; the others wait
  // until it is there, so a file one rank reads next is there for every rank.
  if (dist::world_size() > 1) {
    if (dist::is_writer()) write_file_atomic_here(path, data, bytes);
    dist::world().barrier(("writing " + path).c_str());
    return;
  }
  write_file_atomic_here(path, data, bytes);
}

static void write_file_atomic_here(const std::string& path, const void* data, size_t bytes) {
  ignore_sigxfsz_if_default();
  const std::string tmp = temp_path_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fail("cannot write ", path, ": cannot create temporary file ", tmp, ": ", reason(errno));
  }
  // On failure after creation: close (if still open), remove the temp file, throw.
  auto give_up = [&](const char* step, int err, bool still_open) {
    if (still_open) ::close(fd);
    ::unlink(tmp.c_str());
    fail("cannot write ", path, ": ", step, " failed: ", reason(err),
         " (previous file left unchanged)");
  };
  if (int err = write_all(fd, static_cast<const char*>(data), bytes)) give_up("write", err, true);
  if (::fsync(fd) != 0) give_up("fsync", errno, true);
  if (::close(fd) != 0) give_up("close", errno, false);
  if (::rename(tmp.c_str(), path.c_str()) != 0) give_up("rename", errno, false);

  // The new content is in place; now make the directory entry durable. Some file systems do not
  // support fsync on a directory (EINVAL); that is not an error for us.
  const std::string dir = parent_dir(path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    fail("wrote ", path, " but cannot open its directory ", dir, " to sync it: ", reason(errno));
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0 && err != EINVAL && err != ENOTSUP) {
    fail("wrote ", path, " but syncing its directory ", dir, " failed: ", reason(err));
  }
}

void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot read ", path, ": ", reason(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail("cannot read ", path, ": fstat failed: ", reason(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail("cannot read ", path, ": it is a directory");
  }
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      fail("cannot read ", path, ": ", reason(err));
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

}  // namespace senet::io

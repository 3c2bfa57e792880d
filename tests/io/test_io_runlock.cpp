// tests/io/test_io_runlock.cpp — one run per output directory.
// A second RunLock on a locked directory fails with "in use by pid P" whether it comes from this
// process or another one (fork); the lock is free again after the holder's destructor, and after
// the holder is killed with SIGKILL (the kernel drops the flock), the next run takes it over and
// rewrites the lock file with its own pid. A failure that unwinds through the lock before anything
// was written leaves no directory behind (or only the user's own, if it existed).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/run_lock.h"
#include "temp_dir.h"

namespace senet::io {
namespace {

using test::TempDir;

std::string pid_text(pid_t p) { return "pid " + std::to_string(p); }

TEST(RunLock, CreatesDirectoryAndWritesOwner) {
  TempDir d;
  const std::string dir = d.file("run/a");
  RunLock lock(dir);
  EXPECT_EQ(lock.lock_path(), dir + "/.lock");
  const std::string content = read_file(dir + "/.lock");
  EXPECT_EQ(content.rfind(pid_text(::getpid()) + "\n", 0), 0u) << content;
  EXPECT_NE(content.find("host "), std::string::npos) << content;
  EXPECT_NE(content.find("started "), std::string::npos) << content;
}

TEST(RunLock, FailureBeforeAnyOutputLeavesNothingBehind) {
  TempDir d;
  const std::string dir = d.file("run/new");
  try {
    RunLock lock(dir);
    throw Error("data root missing");
  } catch (const Error&) {
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE(std::filesystem::exists(d.file("run")));  // only what the lock created goes

  // A directory that existed stays (empty); one with output keeps it and the lock file.
  std::filesystem::create_directories(dir);
  try {
    RunLock lock(dir);
    throw Error("bad config");
  } catch (const Error&) {
  }
  EXPECT_TRUE(std::filesystem::exists(dir));
  EXPECT_FALSE(std::filesystem::exists(dir + "/.lock"));
  try {
    RunLock lock(dir);
    write_file_atomic(dir + "/metrics.jsonl", "{}\n");
    throw Error("diverged");
  } catch (const Error&) {
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/metrics.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/.lock"));
  { RunLock clean(d.file("run/ok")); }  // a clean exit keeps its (emptied) lock file
  EXPECT_TRUE(std::filesystem::exists(d.file("run/ok/.lock")));
}

TEST(RunLock, SecondLockInSameProcessFails) {
  TempDir d;
  RunLock first(d.path());
  try {
    RunLock second(d.path());
    FAIL() << "second lock succeeded";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("output directory " + d.path() + " is in use by " + pid_text(::getpid())),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("started "), std::string::npos) << msg;
  }
}

TEST(RunLock, ReleasedByDestructor) {
  TempDir d;
  { RunLock first(d.path()); }
  EXPECT_NO_THROW(RunLock again(d.path()));
}

// Exit codes of the child: 0 = refused with the expected message, 1 = got the lock, 2 = other error.
TEST(RunLock, OtherProcessIsRefused) {
  TempDir d;
  RunLock mine(d.path());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      RunLock theirs(d.path());
    } catch (const Error& e) {
      const std::string msg = e.what();
      ::_exit(msg.find("is in use by " + pid_text(::getppid())) != std::string::npos ? 0 : 2);
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// The child takes the lock, tells us through a pipe, then waits to be killed.
TEST(RunLock, KilledHolderIsTakenOver) {
  TempDir d;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[0]);
    try {
      RunLock held(d.path());
      char c = 'k';
      if (::write(ready[1], &c, 1) != 1) ::_exit(3);
      for (;;) ::pause();
    } catch (...) {
      ::_exit(2);
    }
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "child could not take the lock";
  ::close(ready[0]);

  try {
    RunLock blocked(d.path());
    ADD_FAILURE() << "lock taken while the holder is alive";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is in use by " + pid_text(pid)), std::string::npos)
        << e.what();
  }

  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));

  // The dead holder's text is still in the file; the kernel has dropped its lock.
  EXPECT_NE(read_file(d.path() + "/.lock").find(pid_text(pid)), std::string::npos);
  RunLock taken(d.path());
  const std::string content = read_file(d.path() + "/.lock");
  EXPECT_EQ(content.rfind(pid_text(::getpid()) + "\n", 0), 0u) << content;
  EXPECT_EQ(content.find(pid_text(pid) + "\n"), std::string::npos) << content;
}

}  // namespace
}  // namespace senet::io

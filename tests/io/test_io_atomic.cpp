// tests/io/test_io_atomic.cpp — write_file_atomic / read_file.
// The property under test: after a failed write the previous file is byte-for-byte intact and no
// temporary file is left in the directory; the error names the path. Failures are provoked with a
// read-only directory (skipped as root, who ignores permissions), a file-size limit (RLIMIT_FSIZE,
// in a forked child so the limit does not leak into other tests) and a directory in the target's place.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "temp_dir.h"

namespace senet::io {
namespace {

using test::TempDir;

TEST(AtomicFile, WritesAndOverwrites) {
  TempDir d;
  const std::string p = d.file("a.txt");
  write_file_atomic(p, std::string("first"));
  EXPECT_EQ(read_file(p), "first");
  std::string big(3 << 20, 'x');  // several MB, more than one write() may take at once
  for (size_t i = 0; i < big.size(); i += 4097) big[i] = static_cast<char>('a' + i % 26);
  write_file_atomic(p, big.data(), big.size());
  EXPECT_EQ(read_file(p), big);
  write_file_atomic(p, std::string());
  EXPECT_EQ(read_file(p), "");
  EXPECT_EQ(d.entries(), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, BinaryContentWithZeros) {
  TempDir d;
  const std::string p = d.file("b.bin");
  std::string bytes("\0\1\2\0\xff", 5);
  write_file_atomic(p, bytes);
  EXPECT_EQ(read_file(p), bytes);
}

TEST(AtomicFile, RelativePathInCurrentDirectory) {
  TempDir d;
  const auto old = std::filesystem::current_path();
  std::filesystem::current_path(d.path());
  write_file_atomic("rel.txt", std::string("r"));
  std::filesystem::current_path(old);
  EXPECT_EQ(read_file(d.file("rel.txt")), "r");
}

TEST(AtomicFile, ReadMissingFileNamesPath) {
  TempDir d;
  const std::string p = d.file("missing.txt");
  try {
    read_file(p);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, MissingDirectoryIsAnError) {
  TempDir d;
  const std::string p = d.file("no/such/dir/x.txt");
  try {
    write_file_atomic(p, std::string("x"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
  EXPECT_TRUE(d.entries().empty());
}

TEST(AtomicFile, RenameFailureKeepsTargetAndRemovesTemp) {
  TempDir d;
  const std::string p = d.file("target");
  std::filesystem::create_directory(p);  // rename(file, non-empty dir) fails even for root
  write_file_atomic(p + "/inside", std::string("keep"));
  EXPECT_THROW(write_file_atomic(p, std::string("new")), Error);
  EXPECT_EQ(read_file(p + "/inside"), "keep");
  EXPECT_EQ(d.entries(), std::vector<std::string>{"target"});
}

TEST(AtomicFile, ReadOnlyDirectoryKeepsOldFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: permissions are not enforced";
  TempDir d;
  const std::string p = d.file("a.txt");
  write_file_atomic(p, std::string("old"));
  ::chmod(d.path().c_str(), 0555);
  try {
    write_file_atomic(p, std::string("new content"));
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
  ::chmod(d.path().c_str(), 0755);
  EXPECT_EQ(read_file(p), "old");
  EXPECT_EQ(d.entries(), std::vector<std::string>{"a.txt"});
}

// In a child: limit file size to 4 KiB and write 1 MiB. SIGXFSZ is explicitly reset to its default
// (kill) first, so this also checks that write_file_atomic itself prevents the kill.
// Exit codes: 0 = got a senet::Error naming the path, 1 = no error, 2 = error without the path.
TEST(AtomicFile, FileSizeLimitGivesErrorAndKeepsOldFile) {
  TempDir d;
  const std::string p = d.file("big.bin");
  write_file_atomic(p, std::string("old"));
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_DFL);
    struct rlimit lim {
      4096, 4096
    };
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(3);
    std::string big(1 << 20, 'z');
    try {
      write_file_atomic(p, big);
    } catch (const Error& e) {
      const std::string msg = e.what();
      ::_exit(msg.find(p) != std::string::npos && msg.find("File too large") != std::string::npos
                  ? 0
                  : 2);
    }
    ::_exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(read_file(p), "old");
  EXPECT_EQ(d.entries(), std::vector<std::string>{"big.bin"});
}

}  // namespace
}  // namespace senet::io

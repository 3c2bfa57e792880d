// engine/io/atomic_file.h — whole-file writes that either fully happen or leave the old file alone.
// Rule: never write a file in place. Write `path.tmp.<pid>.<n>` in the same directory, check every
// write, fsync it, rename it over `path` (atomic on POSIX), then fsync the directory so the rename
// itself survives a crash. On any failure the temp file is removed, the previous `path` is untouched
// and a senet::Error names the path and the system's reason (strerror).
// A file-size limit (RLIMIT_FSIZE) gives an error, not a kill: SIGXFSZ is set to "ignore" when it
// still has its default action (which is to kill the process), so write() returns EFBIG instead.
#pragma once
#include <cstddef>
#include <string>

namespace senet::io {

void write_file_atomic(const std::string& path, const void* data, size_t bytes);
void write_file_atomic(const std::string& path, const std::string& text);

// The whole file as bytes in a string; a missing or unreadable file is an error naming the path.
std::string read_file(const std::string& path);

}  // namespace senet::io

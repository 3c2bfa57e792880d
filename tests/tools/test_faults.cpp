// tests/tools/test_faults.cpp — faults injected into the `senet` binary (issue 8, item 3):
//   * kill -9 at several seeded random moments of `senet pipeline` and of `senet train`, resuming
//     each time: the final weights, masks and report are bit-identical to an uninterrupted run with
//     the same seed and thread count, and a stage that had finished is never redone (its result
//     file keeps its inode and mtime, and its banner is not printed again);
//   * bit flips at seeded positions of a checkpoint (header and data): always a clear error naming
//     the file, never a silently loaded model — through the library and through the binary;
//   * allocations that cannot be satisfied (a huge batch; ulimit -v at several levels, set with
//     setrlimit(RLIMIT_AS) in the forked child): exit 1 with a message saying how many bytes were
//     wanted — never a signal (SIGABRT, SIGSEGV), a core or a hang.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "senet/checkpoint.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string temp_dir(const std::string& name) {
  std::string d =
      (fs::temp_directory_path() / ("senet_faults_" + name + "_" + std::to_string(getpid())))
          .string();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_args(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The binary, started with fork + execv (no shell, so the pid is senet's own), stdout and stderr
// into `log`, no core files, and an address-space limit when as_bytes > 0.
pid_t spawn(const std::vector<std::string>& args, const std::string& log, rlim_t as_bytes = 0) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    rlimit core{0, 0};
    setrlimit(RLIMIT_CORE, &core);
    if (as_bytes > 0) {
      rlimit as{as_bytes, as_bytes};
      if (setrlimit(RLIMIT_AS, &as) != 0) _exit(125);
    }
    std::vector<char*> argv{const_cast<char*>(SENET_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(SENET_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

struct Exit {
  bool exited = false;  // false: ended by a signal (or still running at the deadline, then killed)
  int code = -1, signal = 0;
  bool timed_out = false;
  std::string output;
};

// Waits for pid (killing it with SIGKILL after `limit`), then reads its log.
Exit wait_exit(pid_t pid, const std::string& log,
               std::chrono::seconds limit = std::chrono::seconds(120)) {
  Exit e;
  int status = 0;
  auto t0 = Clock::now();
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() - t0 > limit) {
      e.timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  e.exited = WIFEXITED(status) && !e.timed_out;
  e.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  e.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  e.output = slurp(log);
  return e;
}

Exit run(const std::vector<std::string>& args, const std::string& log, rlim_t as_bytes = 0) {
  return wait_exit(spawn(args, log, as_bytes), log);
}

const char* kTiny =
    "--set model.width=0.0625 --set model.in_channels=1 --set model.image_size=16 "
    "--set model.num_classes=4 --set data.dataset=synthetic --set data.val_size=32 "
    "--set train.batch_size=16 --set progress=false --threads 2";

// tests/support/tiny_run.h's tiny_pipeline_config, as flags.
std::vector<std::string> pipeline_args(const std::string& out) {
  auto a =
      split_args(std::string("pipeline ") + kTiny +
                 " --set data.synthetic_size=160 --epochs 2 --budget 300 --set senet.prune_every=2"
                 " --set senet.mask_search.epochs=2 --set senet.finetune.epochs=1 --out " +
                 out);
  return a;
}

std::vector<std::string> train_args(const std::string& out, int epochs) {
  return split_args(std::string("train ") + kTiny + " --set data.synthetic_size=128 --epochs " +
                    std::to_string(epochs) + " --resume --out " + out);
}

std::vector<std::pair<std::string, std::vector<uint8_t>>> tensors_of(const std::string& path) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  for (auto& t : senet::read_checkpoint(path).tensors) out.emplace_back(t.name, t.bytes);
  return out;
}

void expect_same_tensors(const std::string& a, const std::string& b) {
  auto ta = tensors_of(a), tb = tensors_of(b);
  ASSERT_EQ(ta.size(), tb.size()) << a << " vs " << b;
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].first, tb[i].first);
    EXPECT_TRUE(ta[i].second == tb[i].second)
        << ta[i].first << " differs between " << a << " and " << b;
  }
}

// The report without what may differ between two correct runs: wall times and output paths.
json comparable(json j) {
  if (j.is_object()) {
    json out = json::object();
    for (auto& [k, v] : j.items())
      if (k != "seconds" && k != "checkpoint") out[k] = comparable(v);
    return out;
  }
  if (j.is_array())
    for (auto& v : j) v = comparable(v);
  return j;
}

// A finished stage: the file whose existence means "done", and the banner its run prints.
struct Stage {
  const char* marker;
  const char* banner;
  std::vector<const char*> files;  // results that must never be rewritten once the stage is done
};
const std::vector<Stage> kStages = {
    {"teacher/done.json", "== stage 0:", {"teacher/done.json", "teacher/best.safetensors"}},
    {"sensitivity.json", "== stage 1:", {"sensitivity.json"}},
    {"stage2/result.safetensors", "== stage 2:", {"stage2/result.safetensors"}},
    {"stage3/result.safetensors", "== stage 3:", {"stage3/result.safetensors"}},
};

struct FileId {
  ino_t ino;
  int64_t mtime_ns;
  off_t size;
  bool operator==(const FileId&) const = default;
};
FileId file_id(const std::string& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return {0, -1, -1};
  return {st.st_ino, int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, st.st_size};
}

// Identity of every result file of every finished stage in `out`.
std::map<std::string, FileId> finished(const std::string& out) {
  std::map<std::string, FileId> ids;
  for (const Stage& s : kStages)
    if (fs::exists(out + "/" + s.marker))
      for (const char* f : s.files) ids[f] = file_id(out + "/" + f);
  return ids;
}

void expect_untouched(const std::string& out, const std::map<std::string, FileId>& before,
                      const std::string& when) {
  for (const auto& [f, id] : before)
    EXPECT_TRUE(file_id(out + "/" + f) == id) << f << " of a finished stage was rewritten " << when;
}

// Identity of every result file (not the lock, not temp files) under `out`, recursively.
std::map<std::string, FileId> results(const std::string& out) {
  std::map<std::string, FileId> ids;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(out, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string(), ext = it->path().extension().string();
    if (name.find(".tmp.") != std::string::npos) continue;
    if (ext == ".safetensors" || ext == ".json" || ext == ".jsonl" || ext == ".txt")
      ids[it->path().string()] = file_id(it->path().string());
  }
  return ids;
}

// How many files of `now` are new or rewritten since `start`.
int changed(const std::map<std::string, FileId>& start, const std::map<std::string, FileId>& now) {
  int n = 0;
  for (const auto& [p, id] : now) {
    auto it = start.find(p);
    n += it == start.end() || !(it->second == id);
  }
  return n;
}

// Starts the binary on `out`, waits for its `writes`-th result-file write, waits `extra_ms` more
// and kills it with SIGKILL. Returns false when it had already exited by itself.
bool kill_after_writes(const std::vector<std::string>& args, const std::string& out, int writes,
                       int extra_ms) {
  const auto start = results(out);
  pid_t pid = spawn(args, out + ".log");
  int status = 0;
  auto t0 = Clock::now();
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (changed(start, results(out)) >= writes || Clock::now() - t0 > std::chrono::seconds(60)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms));
      const bool running = waitpid(pid, &status, WNOHANG) == 0;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return running;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return false;
}

}  // namespace

TEST(FaultKill, PipelineKilledAtRandomMomentsResumesBitIdentical) {
  std::string ref = temp_dir("pipe_ref"), out = temp_dir("pipe_killed");
  auto t0 = Clock::now();
  Exit r = run(pipeline_args(ref), ref + ".log");
  const double full_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  ASSERT_TRUE(r.exited && r.code == 0) << r.output;
  for (const Stage& s : kStages) ASSERT_NE(r.output.find(s.banner), std::string::npos) << s.banner;

  // Kill -9 at seeded random moments of each (re)started run (each run resumes the one before).
  // A moment is an event, not a time, so that the test means the same on a fast or a loaded
  // machine: run i is killed a seeded 0–40 ms after its k-th result-file write (k seeded in 1..2;
  // a write is a new inode or mtime of any *.safetensors / *.json / *.jsonl / *.txt in the run),
  // i.e. right after a checkpoint or part-way through the next epoch. Every run thus makes some
  // progress and the kills spread over all stages. A run that finishes first ends the loop.
  std::mt19937 rng(20261124);
  const int kMaxKills = 16;
  int killed_mid_run = 0, attempts = 0;
  std::string trace;
  while (attempts++ < kMaxKills) {
    auto before = finished(out);
    const int writes = 1 + int(rng() % 2);
    const int extra_ms = int(rng() % 41);
    const bool still_running = kill_after_writes(pipeline_args(out), out, writes, extra_ms);
    expect_untouched(out, before, "by run " + std::to_string(attempts));
    if (!still_running) {
      trace += "\n  run " + std::to_string(attempts) + ": finished before its kill";
      break;  // the pipeline is complete: nothing left to interrupt
    }
    ++killed_mid_run;
    // Where it was: the last stage banner it printed (none: start-up, or the end after stage 3).
    std::string log = slurp(out + ".log");
    auto at = log.rfind("== ");
    std::string where = at == std::string::npos
                            ? "no banner yet (start-up, skipped stages, outputs)"
                            : log.substr(at + 3, 8);
    trace += "\n  run " + std::to_string(attempts) + ": kill -9 " + std::to_string(extra_ms) +
             " ms after write " + std::to_string(writes) + ", in '" + where + "', " +
             std::to_string(finished(out).size()) + " finished-stage files";
  }
  auto before = finished(out);
  r = run(pipeline_args(out), out + ".log");
  ASSERT_TRUE(r.exited && r.code == 0) << r.output;
  expect_untouched(out, before, "by the final resume");
  for (const Stage& s : kStages) {
    if (before.count(s.marker)) {
      EXPECT_EQ(r.output.find(s.banner), std::string::npos)
          << "finished stage redone: " << s.banner;
    }
  }
  std::printf("uninterrupted run %.0f ms; %d kill -9 hit a running pipeline:%s\n", full_ms,
              killed_mid_run, trace.c_str());
  RecordProperty("kills_mid_run", killed_mid_run);
  EXPECT_GE(killed_mid_run, 6) << "the kills should land while the pipeline runs";

  expect_same_tensors(ref + "/student.safetensors", out + "/student.safetensors");
  EXPECT_EQ(slurp(ref + "/masks.json"), slurp(out + "/masks.json"));
  json ja = json::parse(slurp(ref + "/report.json")), jb = json::parse(slurp(out + "/report.json"));
  EXPECT_EQ(comparable(ja), comparable(jb));
  EXPECT_EQ(ja["student"]["val_accuracy"], jb["student"]["val_accuracy"]);
  EXPECT_EQ(ja["student"]["test_accuracy"], jb["student"]["test_accuracy"]);
  fs::remove_all(ref);
  fs::remove_all(out);
}

TEST(FaultKill, TrainKilledAtRandomMomentsResumesBitIdentical) {
  std::string ref = temp_dir("train_ref"), out = temp_dir("train_killed");
  const int epochs = 8;
  auto t0 = Clock::now();
  Exit r = run(train_args(ref, epochs), ref + ".log");
  const double full_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  ASSERT_TRUE(r.exited && r.code == 0) << r.output;

  // As for the pipeline: killed 0–40 ms after its first or second result-file write.
  std::mt19937 rng(8);
  const int kKills = 6;
  int killed_mid_run = 0;
  for (int k = 0; k < kKills; ++k) {
    const int writes = 1 + int(rng() % 2), extra_ms = int(rng() % 41);
    killed_mid_run += kill_after_writes(train_args(out, epochs), out, writes, extra_ms);
  }
  r = run(train_args(out, epochs), out + ".log");
  ASSERT_TRUE(r.exited && r.code == 0) << r.output;
  std::printf("uninterrupted run %.0f ms; %d of %d kills hit a running train\n", full_ms,
              killed_mid_run, kKills);
  EXPECT_GE(killed_mid_run, 4);
  expect_same_tensors(ref + "/last.safetensors", out + "/last.safetensors");
  expect_same_tensors(ref + "/best.safetensors", out + "/best.safetensors");
  fs::remove_all(ref);
  fs::remove_all(out);
}

// Seeded single-bit flips over the whole checkpoint (header and data, optimizer state included):
// each one must be a senet::Error naming the file. The binary says the same and exits 1.
TEST(FaultCorrupt, BitFlippedCheckpointIsAlwaysAClearError) {
  std::string d = temp_dir("flip");
  Exit r = run(split_args(std::string("train ") + kTiny +
                          " --set data.synthetic_size=64 --epochs 1 --out " + d),
               d + ".log");
  ASSERT_TRUE(r.exited && r.code == 0) << r.output;
  const std::string good = slurp(d + "/last.safetensors");
  ASSERT_NO_THROW(senet::read_checkpoint(d + "/last.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(good[size_t(i)]);
  ASSERT_LT(8 + n, good.size());

  std::mt19937_64 rng(3);
  const std::string bad = d + "/flipped.safetensors";
  int header_flips = 0, data_flips = 0;
  for (int trial = 0; trial < 400; ++trial) {
    // Half the flips in the length field + JSON header, half in the tensor data.
    const bool in_header = trial % 2 == 0;
    const size_t pos =
        in_header ? size_t(rng() % (8 + n)) : size_t(8 + n + rng() % (good.size() - 8 - n));
    const int bit = int(rng() % 8);
    std::string b = good;
    b[pos] = char(uint8_t(b[pos]) ^ (1u << bit));
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << b;
    try {
      senet::read_checkpoint(bad);
      ADD_FAILURE() << "flip at byte " << pos << " bit " << bit << " ("
                    << (in_header ? "header" : "data") << ") loaded silently";
    } catch (const senet::Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
    (in_header ? header_flips : data_flips)++;
  }
  std::printf("%d header flips and %d data flips: all rejected\n", header_flips, data_flips);

  // Through the binary: eval of a flipped checkpoint, and --resume from a flipped last checkpoint.
  std::string b = good;
  b[good.size() - 5] = char(uint8_t(b[good.size() - 5]) ^ 0x04);
  std::ofstream(bad, std::ios::binary | std::ios::trunc) << b;
  r = run({"eval", "--checkpoint", bad}, d + ".log");
  EXPECT_TRUE(r.exited && r.code == 1) << r.output;
  EXPECT_NE(r.output.find("senet: error: " + bad), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("checksum mismatch"), std::string::npos) << r.output;
  std::ofstream(d + "/last.safetensors", std::ios::binary | std::ios::trunc) << b;
  r = run(split_args(std::string("train ") + kTiny +
                     " --set data.synthetic_size=64 --epochs 2 --resume --out " + d),
          d + ".log");
  EXPECT_TRUE(r.exited && r.code == 1) << r.output;
  EXPECT_NE(r.output.find(d + "/last.safetensors"), std::string::npos) << r.output;
  std::printf("eval of a flipped checkpoint: %s",
              r.output.substr(r.output.find("senet: error")).c_str());
  fs::remove_all(d);
}

// The address space the binary holds before it does anything (`senet info` prints its VmSize): an
// nvcc build links cuBLAS and cudart, which reserve hundreds of MiB more than a CPU-only build, so
// every limit below is that much plus the amount the test is about. Under a limit below this the
// dynamic loader, not the program, fails (exit 127).
rlim_t baseline_bytes() {
  static rlim_t cached = 0;
  if (cached) return cached;
  std::string log = temp_dir("baseline") + ".log";
  Exit r = run({"info"}, log);
  const std::string key = "address space at start: ";
  auto at = r.output.find(key);
  EXPECT_TRUE(r.exited && r.code == 0 && at != std::string::npos) << r.output;
  long long mib = at == std::string::npos ? 0 : std::atoll(r.output.c_str() + at + key.size());
  std::printf("senet info: address space at start %lld MiB\n", mib);
  cached = rlim_t(std::max(mib, 1LL)) << 20;
  return cached;
}

// What the user sees when memory runs out: exit 1, "senet: error: out of host memory ..." with the
// number of bytes, never a signal or a hang.
void expect_clean_oom(const Exit& r, const std::string& what) {
  EXPECT_FALSE(r.timed_out) << what << ": hung\n" << r.output;
  EXPECT_TRUE(r.exited) << what << ": killed by signal " << r.signal << " (" << strsignal(r.signal)
                        << ")\n"
                        << r.output;
  EXPECT_EQ(r.code, 1) << what << "\n" << r.output;
  EXPECT_NE(r.output.find("senet: error: "), std::string::npos) << what << "\n" << r.output;
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << what << "\n" << r.output;
}

TEST(FaultMemory, HugeBatchIsAClearError) {
  std::string d = temp_dir("hugebatch");
  // 200000 images of 16×16 in one batch of the tiny ResNet: its first activation alone is
  // 200000·4·16·16·4 B ≈ 820 MB. A cap 2 GiB above the start keeps the machine safe if it did not
  // fail.
  Exit r =
      run(split_args(std::string("train ") + kTiny +
                     " --set data.synthetic_size=200032 --batch-size 200000 --epochs 1 --out " + d),
          d + ".log", baseline_bytes() + (rlim_t(2) << 30));
  expect_clean_oom(r, "huge batch");
  EXPECT_NE(r.output.find("out of host memory"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" bytes"), std::string::npos) << r.output;
  std::printf("huge batch: %s", r.output.substr(r.output.find("senet: error")).c_str());
  fs::remove_all(d);
}

// A std::vector (not a tensor) too large for the limit: the synthetic set of 20M images (5.12 GB).
// The binary's replacement operator new records the size, so the message still has it.
TEST(FaultMemory, HugeDatasetIsAClearErrorWithItsSize) {
  std::string d = temp_dir("hugedata");
  Exit r = run(split_args(std::string("train ") + kTiny +
                          " --set data.synthetic_size=20000000 --epochs 1 --out " + d),
               d + ".log", baseline_bytes() + (rlim_t(2) << 30));
  expect_clean_oom(r, "huge dataset");
  EXPECT_NE(r.output.find("out of host memory: an allocation of 5120000000 bytes"),
            std::string::npos)
      << r.output;
  std::printf("huge dataset: %s", r.output.substr(r.output.find("senet: error")).c_str());
  fs::remove_all(d);
}

// ulimit -v from just above what the dynamic loader needs to plenty: at each level the run either
// finishes or fails with a clear message; a too-small level must not hang inside OpenBLAS.
TEST(FaultMemory, AddressSpaceLimitsGiveAClearErrorOrSucceed) {
  std::string d = temp_dir("ulimit");
  int failed = 0, succeeded = 0;
  for (rlim_t mib : {16, 24, 40, 64, 96, 128, 160, 200, 300, 400, 1024}) {
    fs::remove_all(d);
    // (appended: `std::string("train ") + kTiny + …` draws GCC 12's false -Warray-bounds at -O3)
    std::string args = "train ";
    args += kTiny;
    args += " --set data.synthetic_size=64 --epochs 1 --out " + d;
    Exit r = run(split_args(args), d + ".log", baseline_bytes() + (mib << 20));
    const std::string what = "ulimit -v (start + " + std::to_string(mib) + " MiB)";
    EXPECT_FALSE(r.timed_out) << what << ": hung\n" << r.output;
    EXPECT_TRUE(r.exited) << what << ": killed by signal " << r.signal << "\n" << r.output;
    if (r.exited && r.code == 0) {
      ++succeeded;
      continue;
    }
    expect_clean_oom(r, what);
    ++failed;
    auto at = r.output.find("senet: error");
    std::printf("%s: %s", what.c_str(),
                at == std::string::npos ? r.output.c_str() : r.output.substr(at).c_str());
  }
  EXPECT_GT(failed, 0);
  EXPECT_GT(succeeded, 0);
  fs::remove_all(d);
}

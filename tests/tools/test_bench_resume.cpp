// tests/tools/test_bench_resume.cpp — bench_kernels survives a kernel that kills its process or
// hangs (tools/bench/bench_resume.h): the GPU day's one benchmark run must not lose the rows after
// a bad kernel. On bench_kernels_emu (checks only, the small shapes; faults injected with
// SENET_BENCH_FAULT): a row killed by SIGKILL, or hung until --row-timeout's SIGALRM, leaves the
// CSV of every row before it and a marker naming it; --resume keeps those rows verbatim, records
// the marked row as FAIL without running it again, and runs the rest — the same rows as an
// uninterrupted run, each once. Also: a kill on the very first row; two fatal rows in one layer;
// a version that dies on two layers is given up on the rest, and so are all wgmma versions after
// two wgmma deaths.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tools/bench/bench_resume.h"

namespace fs = std::filesystem;

namespace {

struct Exit {
  bool signaled = false;
  int code = -1;  // the exit status, or the signal
};

Exit bench(const std::string& env, const std::string& args,
           const std::string& filter = "conv2d_fprop v5") {
  const std::string cmd = env + " " + BENCH_BINARY + " --check-only --small --filter '" + filter +
                          "' " + args + " > /dev/null 2>&1";
  // A signal shows as the shell's 128 + signal, or as the status itself where sh execs the binary.
  const int status = std::system(cmd.c_str());
  Exit e;
  if (WIFSIGNALED(status)) e.signaled = true, e.code = WTERMSIG(status);
  if (WIFEXITED(status)) e.code = WEXITSTATUS(status);
  if (WIFEXITED(status) && e.code > 128) e.signaled = true, e.code -= 128;
  return e;
}

// id → (status, the whole line) of a CSV's rows.
std::map<std::string, std::pair<std::string, std::string>> rows_of(const std::string& csv) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const std::vector<std::string> f = senet::bench::csv_fields(line);
    EXPECT_GE(f.size(), 6u) << line;
    if (f.size() < 6) continue;
    const std::string id = senet::bench::RowKey{f[0], f[2], f[3], f[4]}.id();
    EXPECT_FALSE(out.count(id)) << "a row twice: " << id;
    out[id] = {f[5], line};
  }
  return out;
}

class BenchResume : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("senet_bench_resume_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    full_ = (dir_ / "full.csv").string();
    ASSERT_EQ(bench("", "--csv " + full_).code, 0);
    ASSERT_GE(rows_of(full_).size(), 10u);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A run stopped on the layer3.conv row, resumed: every row of the full run once, the stopped
  // one FAIL with the reason, the others PASS; the kept rows byte for byte as the first run wrote
  // them; no marker left.
  void expect_resumed(const std::string& csv) {
    const std::string marker = senet::bench::running_path(csv);
    ASSERT_TRUE(fs::exists(marker)) << "the stopped run names its row";
    const auto before = rows_of(csv);
    const Exit resumed = bench("", "--csv " + csv + " --resume");
    EXPECT_FALSE(resumed.signaled);
    EXPECT_EQ(resumed.code, 1) << "the stopped row is a FAIL of this run";
    EXPECT_FALSE(fs::exists(marker));
    const auto full = rows_of(full_), after = rows_of(csv);
    ASSERT_EQ(after.size(), full.size());
    int failed = 0;
    for (const auto& [id, row] : full) {
      ASSERT_TRUE(after.count(id)) << id;
      const auto& [status, line] = after.at(id);
      if (id.find("layer3.conv") != std::string::npos) {
        ++failed;
        EXPECT_EQ(status, "FAIL");
        EXPECT_NE(line.find("the last run stopped on this row"), std::string::npos) << line;
      } else {
        EXPECT_EQ(status, "PASS") << id;
      }
      if (before.count(id)) {
        EXPECT_EQ(line, before.at(id).second) << "kept verbatim";
      }
    }
    EXPECT_EQ(failed, 1);
    EXPECT_GT(before.size(), 0u) << "the layers before the stop were written";
    // Resuming a finished run runs nothing more.
    EXPECT_EQ(bench("", "--csv " + csv + " --resume").code, 0);
    EXPECT_EQ(rows_of(csv).size(), full.size());
  }

  fs::path dir_;
  std::string full_;
};

}  // namespace

TEST_F(BenchResume, AKilledRowIsRecordedAndTheRestRunOnResume) {
  const std::string csv = (dir_ / "killed.csv").string();
  const Exit e = bench("SENET_BENCH_FAULT='kill:resnet18 layer3.conv'", "--csv " + csv);
  EXPECT_TRUE(e.signaled);
  EXPECT_EQ(e.code, SIGKILL);
  expect_resumed(csv);
}

TEST_F(BenchResume, AHungRowEndsAtTheRowTimeoutAndTheRestRunOnResume) {
  const std::string csv = (dir_ / "hung.csv").string();
  const Exit e =
      bench("SENET_BENCH_FAULT='hang:resnet18 layer3.conv'", "--csv " + csv + " --row-timeout 1");
  EXPECT_TRUE(e.signaled);
  EXPECT_EQ(e.code, SIGALRM);
  expect_resumed(csv);
}

TEST_F(BenchResume, AFreshRunIgnoresAnOldMarkerAndCsv) {
  const std::string csv = (dir_ / "fresh.csv").string();
  ASSERT_TRUE(bench("SENET_BENCH_FAULT='kill:resnet18 layer3.conv'", "--csv " + csv).signaled);
  ASSERT_EQ(bench("", "--csv " + csv).code, 0);  // no --resume: starts over
  EXPECT_FALSE(fs::exists(senet::bench::running_path(csv)));
  const auto rows = rows_of(csv);
  EXPECT_EQ(rows.size(), rows_of(full_).size());
  for (const auto& [id, row] : rows) EXPECT_EQ(row.first, "PASS") << id;
}

// Runs with the faults, then resumes (the faults still there) until a run ends by itself, as
// tools/gpu/gpu_day.sh does; the number of processes it took.
int run_to_the_end(const std::string& faults, const std::string& csv, const std::string& filter) {
  const std::string env = "SENET_BENCH_FAULT='" + faults + "'";
  int runs = 1;
  for (Exit e = bench(env, "--csv " + csv, filter); e.signaled && runs < 20; ++runs)
    e = bench(env, "--csv " + csv + " --resume", filter);
  return runs;
}

TEST_F(BenchResume, KillsOnTheFirstRowAndTwiceInOneLayer) {
  const std::string filter = "conv2d_fprop v";  // every fprop version: 9 rows a layer
  const std::string full = (dir_ / "all.csv").string();
  ASSERT_EQ(bench("", "--csv " + full, filter).code, 0);
  const auto expected = rows_of(full);
  const std::string csv = (dir_ / "twice.csv").string();
  // The first row of the run, and two rows of one later layer.
  const int runs = run_to_the_end(
      "kill:v1_direct resnet18 stem|kill:v5_simt_128x128 resnet18 layer1.conv|"
      "kill:v6_simt_split_k resnet18 layer1.conv",
      csv, filter);
  EXPECT_EQ(runs, 4);  // each fatal row costs one process, once
  const auto got = rows_of(csv);
  ASSERT_EQ(got.size(), expected.size());
  int failed = 0;
  for (const auto& [id, row] : got) {
    ASSERT_TRUE(expected.count(id)) << id;
    const auto has = [&](const char* part) { return id.find(part) != std::string::npos; };
    const bool fatal = (has("resnet18 stem") && has("v1_direct")) ||
                       (has("resnet18 layer1.conv") && (has("v5_simt") || has("v6_simt")));
    EXPECT_EQ(row.first, fatal ? "FAIL" : "PASS") << id;
    failed += fatal;
  }
  EXPECT_EQ(failed, 3);
}

TEST_F(BenchResume, AVersionThatDiesTwiceIsGivenUpAndSoAreAllWgmmaVersions) {
  const std::string filter = "conv2d_fprop v";
  const std::string csv = (dir_ / "given_up.csv").string();
  // v5 dies on every layer; v7 and v9 (wgmma) each on every layer too.
  const int runs =
      run_to_the_end("kill:v5_simt_128x128|kill:v7_tf32_wgmma|kill:v9_tf32_wgmma", csv, filter);
  EXPECT_EQ(runs, 1 + 2 + 2);  // two deaths of v5; v7's and v9's first (two wgmma versions: all)
  int v5_dead = 0, v5_given_up = 0, wgmma_dead = 0, wgmma_given_up = 0, passed = 0;
  for (const auto& [id, row] : rows_of(csv)) {
    const std::string& line = row.second;
    const bool v5 = id.find("v5_simt") != std::string::npos;
    const bool wgmma = id.find("wgmma") != std::string::npos;
    if (row.first == "PASS") {
      EXPECT_FALSE(v5 || wgmma) << id;
      ++passed;
      continue;
    }
    const bool dead = line.find("the last run stopped on this row") != std::string::npos;
    const bool given_up = line.find("not run: ") != std::string::npos;
    EXPECT_TRUE(dead != given_up) << line;
    (v5 ? (dead ? v5_dead : v5_given_up) : (dead ? wgmma_dead : wgmma_given_up))++;
    if (given_up) {
      EXPECT_NE(line.find(v5 ? "not run: this version" : "not run: a wgmma version"),
                std::string::npos)
          << line;
    }
  }
  const int layers = int(rows_of(full_).size());  // fprop v5's rows: one a layer
  EXPECT_EQ(v5_dead, 2);
  EXPECT_EQ(v5_given_up, layers - 2);
  EXPECT_EQ(wgmma_dead, 2);
  EXPECT_EQ(wgmma_given_up, 2 * layers - 2);
  EXPECT_EQ(passed, 6 * layers);  // v1–v4, v6, v8
}

TEST_F(BenchResume, OneWgmmaVersionDyingGivesUpItselfNotTheOthers) {
  const std::string filter = "conv2d_fprop v";
  const std::string csv = (dir_ / "one_wgmma.csv").string();
  EXPECT_EQ(run_to_the_end("kill:v7_tf32_wgmma", csv, filter), 1 + 2);
  for (const auto& [id, row] : rows_of(csv))
    EXPECT_EQ(row.first, id.find("v7_tf32_wgmma") != std::string::npos ? "FAIL" : "PASS") << id;
}

TEST_F(BenchResume, ResumeOnAnEmptyCsvWritesTheHeader) {
  const std::string csv = (dir_ / "empty.csv").string();
  std::ofstream(csv).close();  // killed between creating the file and its header
  EXPECT_EQ(bench("", "--csv " + csv + " --resume").code, 0);
  std::ifstream in(csv);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first.rfind("layer,N,family,kernel,version,check", 0), 0u) << first;
  EXPECT_EQ(rows_of(csv).size(), rows_of(full_).size());
}

TEST(BenchResumeArgs, ResumeNeedsACsv) { EXPECT_EQ(bench("", "--resume").code, 2); }

TEST(BenchResumeCsv, FieldsFollowTheQuotingRules) {
  using senet::bench::csv_fields;
  EXPECT_EQ(csv_fields("a,\"b,c\",\"say \"\"hi\"\"\",,d"),
            (std::vector<std::string>{"a", "b,c", "say \"hi\"", "", "d"}));
  EXPECT_EQ(csv_fields(""), (std::vector<std::string>{""}));
}

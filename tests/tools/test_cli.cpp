// tests/tools/test_cli.cpp — the binary as a user meets it: bad input gives a clear message and a
// non-zero exit; `kill -9` mid-run followed by --resume ends with the same weights as a run that
// was never interrupted.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "senet/checkpoint.h"

namespace fs = std::filesystem;

struct RunOut {
  int code;
  std::string output;
};

static RunOut run(const std::string& args) {
  std::string out = (fs::temp_directory_path() / ("senet_cli_" + std::to_string(getpid()) + ".txt")).string();
  std::string cmd = std::string(SENET_BINARY) + " " + args + " > " + out + " 2>&1";
  int status = std::system(cmd.c_str());
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ss.str()};
}

static std::string temp_dir(const std::string& name) {
  std::string d = (fs::temp_directory_path() / ("senet_cli_" + name + "_" + std::to_string(getpid()))).string();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

static const char* kTiny =
    "--set model.width=0.0625 --set model.in_channels=1 --set model.image_size=16 "
    "--set model.num_classes=4 --set data.dataset=synthetic --set data.synthetic_size=128 "
    "--set data.val_size=32 --set train.batch_size=16 --set progress=false --threads 2";

TEST(Cli, HelpAndUnknownCommand) {
  EXPECT_EQ(run("--help").code, 0);
  EXPECT_EQ(run("train --help").code, 0);
  auto r = run("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("unknown command"), std::string::npos);
}

TEST(Cli, BadConfigsNameTheKeyAndExitNonZero) {
  auto r = run("train --set train.optim.lr=-3");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("train.optim.lr"), std::string::npos) << r.output;
  r = run("train --set train.bogus=1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("train.bogus"), std::string::npos) << r.output;
  r = run("train --frobnicate 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("--frobnicate"), std::string::npos) << r.output;
  std::string d = temp_dir("badjson");
  std::ofstream(d + "/c.json") << "{ not json";
  r = run("train --config " + d + "/c.json");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("c.json"), std::string::npos) << r.output;
}

TEST(Cli, MissingDataNamesTheFile) {
  std::string d = temp_dir("nodata");
  auto r = run("train --set data.root=" + d + "/nowhere --out " + d + "/run --set progress=false");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("nowhere"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d + "/run"));  // no empty run folder with a 0-byte .lock left behind
  r = run("pipeline --set data.root=" + d + "/nowhere --out " + d + "/pipe --set progress=false");
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(fs::exists(d + "/pipe")) << r.output;
}

TEST(Cli, SummaryPrintsTheSiteTable) {
  auto r = run("summary resnet18");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("557056"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("layer4.1.relu2"), std::string::npos);
  r = run("summary wrn-22-8 --set model.final_site=false");
  EXPECT_NE(r.output.find("1359872 counted"), std::string::npos) << r.output;
}

static std::vector<std::pair<std::string, std::vector<uint8_t>>> tensors_of(const std::string& path) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  for (auto& t : senet::read_checkpoint(path).tensors) out.emplace_back(t.name, t.bytes);
  return out;
}

TEST(Cli, KilledRunResumesToTheSameWeights) {
  std::string a = temp_dir("uninterrupted"), b = temp_dir("killed");
  std::string common = std::string(kTiny) + " --epochs 4";
  auto r = run("train " + common + " --out " + a);
  ASSERT_EQ(r.code, 0) << r.output;

  // Start the same run, kill -9 it once its first checkpoint exists, then resume it.
  pid_t pid = fork();
  if (pid == 0) {
    std::string cmd = std::string(SENET_BINARY) + " train " + common + " --out " + b + " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), (char*)nullptr);
    _exit(127);
  }
  auto t0 = std::chrono::steady_clock::now();
  while (!fs::exists(b + "/last.safetensors") &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(fs::exists(b + "/last.safetensors"));
  r = run("train " + common + " --out " + b + " --resume");
  ASSERT_EQ(r.code, 0) << r.output;
  auto ta = tensors_of(a + "/last.safetensors"), tb = tensors_of(b + "/last.safetensors");
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].first, tb[i].first);
    EXPECT_TRUE(ta[i].second == tb[i].second) << ta[i].first << " differs after kill + resume";
  }
}

TEST(Cli, EvalDumpsLogitsOfTheFirstImages) {
  std::string d = temp_dir("dumplogits");
  auto r = run("train " + std::string(kTiny) + " --epochs 1 --out " + d + "/run");
  ASSERT_EQ(r.code, 0) << r.output;
  r = run("eval --checkpoint " + d + "/run/last.safetensors --limit 5 --dump-logits " + d +
          "/l.jsonl");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test: 5 images"), std::string::npos) << r.output;
  std::ifstream in(d + "/l.jsonl");
  std::string line;
  int rows = 0, correct = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["index"].get<int>(), rows);
    auto logits = j["logits"].get<std::vector<double>>();
    ASSERT_EQ(logits.size(), 4u);  // model.num_classes=4
    size_t best = 0;
    for (size_t c = 1; c < logits.size(); ++c)
      if (logits[c] > logits[best]) best = c;
    correct += int(best) == j["label"].get<int>();
    ++rows;
  }
  EXPECT_EQ(rows, 5);
  char expect[64];
  std::snprintf(expect, sizeof expect, "accuracy %.2f%%", 100.0 * correct / 5);
  EXPECT_NE(r.output.find(expect), std::string::npos)
      << "expected '" << expect << "' in " << r.output;
  r = run("eval --checkpoint " + d + "/run/last.safetensors --limit 0");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("--limit"), std::string::npos) << r.output;
}

TEST(Cli, PiMeasureWithoutItsVenvSaysHowToInstallIt) {
  setenv("SENET_PI_VENV", "/nonexistent/senet-pi-venv", 1);
  auto r = run("pi-measure --run runs/x");
  unsetenv("SENET_PI_VENV");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("/nonexistent/senet-pi-venv/bin/python"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tools/pi/setup_pi.sh"), std::string::npos) << r.output;
}

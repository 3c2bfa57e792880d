// tests/tools/test_cli.cpp — the binary as a user meets it: every subcommand has a generated
// --help listing its options; bad input gives a clear message and a non-zero exit (2 for usage
// errors, 1 for run errors); eval's config is the checkpoint's, then --config, then --set; eval of
// a plain state_dict (another tool's file) needs --config; --dump-logits names each image's
// position in its data file; `kill -9` mid-run followed by --resume ends with the same weights as a
// run that was never interrupted.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "senet/checkpoint.h"

namespace fs = std::filesystem;

struct RunOut {
  int code;
  std::string output;
};

static RunOut run(const std::string& args) {
  std::string out =
      (fs::temp_directory_path() / ("senet_cli_" + std::to_string(getpid()) + ".txt")).string();
  std::string cmd = std::string(SENET_BINARY) + " " + args + " > " + out + " 2>&1";
  int status = std::system(cmd.c_str());
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ss.str()};
}

static std::string temp_dir(const std::string& name) {
  std::string d =
      (fs::temp_directory_path() / ("senet_cli_" + name + "_" + std::to_string(getpid()))).string();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

static const char* kTiny =
    "--set model.width=0.0625 --set model.in_channels=1 --set model.image_size=16 "
    "--set model.num_classes=4 --set data.dataset=synthetic --set data.synthetic_size=128 "
    "--set data.val_size=32 --set train.batch_size=16 --set progress=false --threads 2";

TEST(Cli, HelpAndUnknownCommand) {
  auto r = run("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* cmd :
       {"train", "pipeline", "cost", "eval", "pi-measure", "summary", "info", "config", "plot"})
    EXPECT_NE(r.output.find(cmd), std::string::npos) << cmd << " missing from\n" << r.output;
  EXPECT_EQ(run("").code, 2);  // no command: the help on stderr
  r = run("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("unknown command"), std::string::npos);
}

// `senet <command> --help` is generated (CLI11) and lists every option the command accepts.
TEST(Cli, EverySubcommandHelpListsItsOptions) {
  const std::vector<std::string> run_options = {
      "--config",     "--set", "--epochs", "--out",   "--threads", "--device",   "--seed",
      "--batch-size", "--lr",  "--arch",   "--width", "--dataset", "--data-root"};
  std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
      {"train", {"--resume", "--print-config"}},
      {"pipeline", {"--budget", "--teacher", "--method", "--print-config", "--no-plots"}},
      {"eval",
       {"--checkpoint", "--split", "--limit", "--dump-logits", "--config", "--set", "--threads",
        "--device", "--data-root"}},
      {"cost",
       {"CHECKPOINT", "--protocol", "--json", "--bytes-per-relu", "--us-per-relu",
        "--offline-bytes-per-relu", "--config", "--set"}},
      {"summary", {"MODEL", "--checkpoint", "--config", "--set"}},
      {"info", {"--help"}},
      {"config", {"--list", "--markdown", "--config", "--set"}},
      {"plot", {"RUN_DIR"}},
      {"pi-measure", {"--help", "python -m senet_pi"}}};
  for (const char* c : {"train", "pipeline"})
    for (auto& [cmd, opts] : commands)
      if (cmd == c) opts.insert(opts.end(), run_options.begin(), run_options.end());
  setenv("SENET_PI_VENV", "/nonexistent/senet-pi-venv", 1);  // pi-measure: our help only
  for (const auto& [cmd, opts] : commands) {
    auto r = run(cmd + " --help");
    EXPECT_EQ(r.code, 0) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("senet " + cmd), std::string::npos) << r.output;  // its usage line
    for (const auto& o : opts)
      EXPECT_NE(r.output.find(o), std::string::npos) << cmd << " --help lacks " << o;
  }
  unsetenv("SENET_PI_VENV");
  EXPECT_EQ(run("eval --help").output.find("--epochs"), std::string::npos);
}

// Options are scoped per subcommand and typed: a usage error names the option, exits 2.
TEST(Cli, UsageErrorsNameTheOptionAndExit2) {
  std::string d = temp_dir("usage");
  std::ofstream(d + "/c.safetensors") << "x";  // exists; never read, the parse fails first
  struct Case {
    std::string args, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"eval --epochs 5", "senet eval does not accept: --epochs 5"},
           {"eval --checkpoint " + d + "/c.safetensors --epochs 5", "--epochs"},
           {"summary resnet18 --epochs 5", "--epochs"},
           {"info --threads 2", "--threads"},
           {"train --threads x", "--threads: expected an integer ≥ 0, got 'x'"},
           {"train --epochs 2.5", "--epochs"},
           {"train --lr -0.1", "--lr: expected a number > 0"},
           {"train --device gpu", "--device"},
           {"train --set noequals", "--set: expected KEY=VALUE"},
           {"train --config " + d + "/missing.json", "missing.json"},
           {"pipeline --budget many", "--budget"},
           {"pipeline --method best", "--method"},
           {"eval", "--checkpoint"},
           {"eval --checkpoint " + d + "/c.safetensors --split train", "--split"},
           {"cost " + d + "/c.safetensors --protocol custom --bytes-per-relu 1", "--us-per-relu"},
           {"cost " + d + "/c.safetensors --us-per-relu 1", "--protocol custom"},
           {"summary resnet50", "resnet50"},
           {"summary resnet18 --checkpoint " + d + "/c.safetensors", "--checkpoint"}}) {
    auto r = run(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find("senet: error: "), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.args << "\n" << r.output;
  }
}

// --set and the shortcuts apply in command-line order (a later one wins); values keep their type.
TEST(Cli, ShortcutsApplyInCommandLineOrder) {
  auto config = [](const std::string& args) {
    auto r = run("train " + args + " --print-config");
    EXPECT_EQ(r.code, 0) << args << "\n" << r.output;
    return nlohmann::json::parse(r.output, nullptr, false);
  };
  EXPECT_EQ(config("--epochs 3 --set train.epochs=5")["train"]["epochs"], 5);
  EXPECT_EQ(config("--set train.epochs=5 --epochs 3")["train"]["epochs"], 3);
  auto j = config("--out 123 --seed 010 --lr .5");
  EXPECT_EQ(j["out_dir"], "123");  // a string, though it reads as a number
  EXPECT_EQ(j["seed"], 10);        // decimal (CLI11 alone reads "010" as octal 8)
  EXPECT_EQ(j["train"]["optim"]["lr"], 0.5);
}

TEST(Cli, BadConfigsNameTheKeyAndExitNonZero) {
  auto r = run("train --set train.optim.lr=-3");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("train.optim.lr"), std::string::npos) << r.output;
  r = run("train --set train.bogus=1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("train.bogus"), std::string::npos) << r.output;
  r = run("train --frobnicate 1");
  EXPECT_EQ(r.code, 2);  // a usage error
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

static std::vector<std::pair<std::string, std::vector<uint8_t>>> tensors_of(
    const std::string& path) {
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
    std::string cmd =
        std::string(SENET_BINARY) + " train " + common + " --out " + b + " > /dev/null 2>&1";
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
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--limit: expected an integer ≥ 1, got '0'"), std::string::npos)
      << r.output;
}

// A tiny trained run; returns its last checkpoint.
static std::string tiny_checkpoint(const std::string& d) {
  auto r = run("train " + std::string(kTiny) + " --epochs 1 --out " + d + "/run");
  EXPECT_EQ(r.code, 0) << r.output;
  return d + "/run/last.safetensors";
}

// eval and summary use --config X: the checkpoint's stored config, then X's keys, then --set.
TEST(Cli, EvalAndSummaryHonourConfig) {
  std::string d = temp_dir("evalconfig");
  std::string ckpt = tiny_checkpoint(d);
  auto r = run("eval --checkpoint " + ckpt);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test: 32 images"), std::string::npos) << r.output;  // synthetic: 128 / 4
  std::ofstream(d + "/limit.json") << R"({"data": {"test_limit": 3}})";
  r = run("eval --checkpoint " + ckpt + " --config " + d + "/limit.json");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test: 3 images"), std::string::npos) << r.output;
  r = run("eval --checkpoint " + ckpt + " --config " + d + "/limit.json --set data.test_limit=5");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test: 5 images"), std::string::npos) << r.output;  // --set wins
  std::ofstream(d + "/bad.json") << R"({"data": {"bogus": 1}})";
  for (const char* cmd : {"eval", "summary"}) {
    r = run(std::string(cmd) + " --checkpoint " + ckpt + " --config " + d + "/bad.json");
    EXPECT_EQ(r.code, 1) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("bad.json"), std::string::npos) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("data.bogus"), std::string::npos) << cmd << "\n" << r.output;
  }
  r = run("summary --checkpoint " + ckpt + " --config " + d + "/limit.json");
  EXPECT_EQ(r.code, 0) << r.output;
}

static std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// --split val --dump-logits: "index" is each image's position in the training data, of which the
// validation split is a seeded subset. Synthetic image i has label i mod K
// (engine/data/synthetic.h), so every line's label is its index mod 4; the indices are distinct and
// not the first rows.
TEST(Cli, EvalValDumpIndexIsThePositionInTheTrainingData) {
  std::string d = temp_dir("dumpval");
  std::string ckpt = tiny_checkpoint(d);
  auto r = run("eval --checkpoint " + ckpt + " --split val --dump-logits " + d + "/val.jsonl");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("val: 32 images"), std::string::npos) << r.output;
  std::ifstream in(d + "/val.jsonl");
  std::set<int64_t> seen;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    const int64_t index = j["index"].get<int64_t>();
    EXPECT_TRUE(index >= 0 && index < 128) << line;  // data.synthetic_size=128
    EXPECT_EQ(j["label"].get<int64_t>(), index % 4) << line;
    EXPECT_TRUE(seen.insert(index).second) << "index " << index << " twice";
  }
  EXPECT_EQ(seen.size(), 32u);
  EXPECT_GE(*seen.rbegin(), 32) << "the first 32 rows: the split's rows, not the training data's";
}

// --width-factor: one factor of a width-switchable model (here a plain checkpoint loaded into
// model.width_factors [0.5, 1], its half-width BN sets started from the full ones), for the numbers
// and the dumped logits; a factor the model lacks is a run error naming the model's factors.
TEST(Cli, EvalWidthFactorEvaluatesAndDumpsThatWidthOnly) {
  std::string d = temp_dir("evalwidth");
  std::string ckpt = tiny_checkpoint(d);
  const std::string sw = " --set model.width_factors=[0.5,1] --limit 8";
  auto r = run("eval --checkpoint " + ckpt + sw);  // every factor, full width first
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test: 8 images"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("test at width 0.50: 8 images"), std::string::npos) << r.output;
  r = run("eval --checkpoint " + ckpt + sw + " --width-factor 0.5 --dump-logits " + d +
          "/half.jsonl");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test at width 0.50: 8 images"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("test: 8 images"), std::string::npos) << r.output;
  r = run("eval --checkpoint " + ckpt + sw + " --width-factor 1 --dump-logits " + d +
          "/full.jsonl");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test at width 1.00: 8 images"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("at width 0.50"), std::string::npos) << r.output;
  r = run("eval --checkpoint " + ckpt + " --limit 8 --dump-logits " + d + "/plain.jsonl");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(file_text(d + "/full.jsonl"), file_text(d + "/plain.jsonl"));  // factor 1 = the model
  EXPECT_NE(file_text(d + "/half.jsonl"), file_text(d + "/full.jsonl"));
  for (const std::string& bad : {sw + " --width-factor 0.3", std::string(" --width-factor 0.5")}) {
    r = run("eval --checkpoint " + ckpt + bad);
    EXPECT_EQ(r.code, 1) << bad << "\n" << r.output;
    EXPECT_NE(r.output.find("--width-factor"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("the model's width factors are ["), std::string::npos) << r.output;
  }
  r = run("eval --checkpoint " + ckpt + " --width-factor -1");
  EXPECT_EQ(r.code, 2) << r.output;  // a usage error
}

// A plain state_dict (no metadata, as PyTorch's save_file writes it; optimizer state and masks
// dropped) needs its model from the command line, and then gives the checkpoint's logits exactly;
// cost and summary read it the same way.
TEST(Cli, EvalPlainStateDictWithConfigGivesTheCheckpointsLogits) {
  std::string d = temp_dir("plainsd");
  std::string ckpt = tiny_checkpoint(d);
  auto r = run("eval --checkpoint " + ckpt + " --limit 8 --dump-logits " + d + "/ckpt.jsonl");
  ASSERT_EQ(r.code, 0) << r.output;
  senet::io::StFile f = senet::read_checkpoint(ckpt), plain;
  for (const auto& t : f.tensors)
    if (t.name.rfind("optim.", 0) != 0 && t.name.find(".mask") == std::string::npos)
      plain.tensors.push_back(t);
  senet::io::save_safetensors(d + "/plain.safetensors", plain);
  std::ofstream(d + "/config.json") << senet::metadata_at(f, "config");

  for (const char* cmd : {"eval --checkpoint ", "cost ", "summary --checkpoint "}) {
    r = run(cmd + d + "/plain.safetensors");
    EXPECT_EQ(r.code, 1) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find(d + "/plain.safetensors' has no stored config"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("pass --config FILE"), std::string::npos) << r.output;
    r = run(cmd + d + "/plain.safetensors --config " + d + "/config.json");
    EXPECT_EQ(r.code, 0) << cmd << "\n" << r.output;
  }
  r = run("eval --checkpoint " + d + "/plain.safetensors --config " + d +
          "/config.json --limit 8 --dump-logits " + d + "/plain.jsonl");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(file_text(d + "/plain.jsonl"), file_text(d + "/ckpt.jsonl"));
  // --set alone is enough (the same keys the run was trained with).
  r = run("eval --checkpoint " + d + "/plain.safetensors " + kTiny + " --limit 8 --dump-logits " +
          d + "/plain_set.jsonl");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(file_text(d + "/plain_set.jsonl"), file_text(d + "/ckpt.jsonl"));
  // A model that does not fit the file: the tensor and both shapes are named.
  r = run("eval --checkpoint " + d + "/plain.safetensors --config " + d +
          "/config.json --set model.width=0.125");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("'conv1.weight' is F32 [4, 1, 3, 3], the model expects F32 [8, 1, 3, 3]"),
            std::string::npos)
      << r.output;
}

// A checkpoint whose stored config holds only "model" (the defaults fill the rest): the overrides
// apply after the defaults, so data and run keys can be set.
TEST(Cli, EvalOverridesApplyOverAModelOnlyStoredConfig) {
  std::string d = temp_dir("modelonly");
  senet::io::StFile f = senet::read_checkpoint(tiny_checkpoint(d));
  auto cfg = nlohmann::json::parse(f.metadata.at("config"));
  f.metadata["config"] = nlohmann::json{{"model", cfg["model"]}}.dump();
  senet::io::save_safetensors(d + "/model_only.safetensors", f);
  auto r = run("eval --checkpoint " + d +
               "/model_only.safetensors --threads 2 --device cpu --data-root " + d +
               " --set data.dataset=synthetic --set data.synthetic_size=128 --set data.val_size=32"
               " --set data.test_limit=8");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test: 8 images"), std::string::npos) << r.output;
}

TEST(Cli, PiMeasureWithoutItsVenvSaysHowToInstallIt) {
  setenv("SENET_PI_VENV", "/nonexistent/senet-pi-venv", 1);
  auto r = run("pi-measure --run runs/x");
  unsetenv("SENET_PI_VENV");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("/nonexistent/senet-pi-venv/bin/python"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tools/pi/setup_pi.sh"), std::string::npos) << r.output;
}

// `senet config --list` shows every key of the schema with its type and default; `senet config`
// prints the merged config with floats as written; a bad value names the key and lists the choices.
TEST(Cli, ConfigListAndMergedConfig) {
  auto r = run("config --list");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* key :
       {"model.arch", "train.optim.lr", "senet.snl.binarize", "senet.finetune.pram", "progress"})
    EXPECT_NE(r.output.find(key), std::string::npos) << key << " missing from\n" << r.output;
  EXPECT_NE(r.output.find("one of: senet | snl | uniform | random_masks | no_pram"),
            std::string::npos);
  r = run("config --set train.optim.lr=0.1 --set model.width=0.3");
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["train"]["optim"]["lr"].dump(), "0.1");  // not 0.10000000149011612
  EXPECT_EQ(j["model"]["width"].dump(), "0.3");
  r = run("config --set senet.granularity=voxel");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("senet.granularity: expected pixel or channel, got \"voxel\""),
            std::string::npos)
      << r.output;
  EXPECT_EQ(run("config --markdown").code, 2);  // --markdown needs --list
}

// `senet pipeline` ends by drawing the run's pictures (tools/plots, matplotlib) and `senet plot`
// draws them again; without matplotlib the run still succeeds and says how to get them.
TEST(Cli, PipelineDrawsItsPictures) {
  std::string d = temp_dir("plots");
  auto r = run(
      "pipeline --set data.dataset=synthetic --set data.synthetic_size=128 --set data.val_size=32 "
      "--set model.num_classes=4 --set model.width=0.125 --epochs 1 --budget 300 --batch-size 32 "
      "--set progress=false --out " +
      d + "/run");
  ASSERT_EQ(r.code, 0) << r.output;
  const bool have_matplotlib =
      std::system("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null") == 0;
  if (!have_matplotlib) {
    EXPECT_NE(r.output.find("pictures not drawn: they need python3-matplotlib"), std::string::npos)
        << r.output;
    GTEST_SKIP() << "no matplotlib for /usr/bin/python3: the drawing itself is not checked";
  }
  for (const char* png : {"allocation.png", "training.png"}) {
    std::string path = d + "/run/" + png;
    ASSERT_TRUE(fs::exists(path)) << png << "\n" << r.output;
    EXPECT_EQ(file_text(path).substr(1, 3), "PNG") << png;
    fs::remove(path);
  }
  r = run("plot " + d + "/run");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(d + "/run/allocation.png") && fs::exists(d + "/run/training.png"));
  fs::remove(d + "/run/report.json");
  r = run("plot " + d + "/run");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("report.json"), std::string::npos) << r.output;
  fs::remove_all(d);
}

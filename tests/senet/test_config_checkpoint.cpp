// tests/senet/test_config_checkpoint.cpp — strict configs, checkpoint round trip and rejection,
// and resume: a run split in two gives the same weights as one uninterrupted run; a checkpoint
// write that fails (file-size limit: a full disk) names the file and leaves the old one loadable.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include <csignal>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/core/random.h"
#include "engine/io/run_lock.h"
#include "senet/checkpoint.h"
#include "senet/config.h"
#include "senet/trainer.h"
#include "tests/support/error_of.h"
#include "tests/support/tiny_run.h"

using namespace senet;
namespace fs = std::filesystem;

static std::string temp_dir(const std::string& name) {
  std::string d =
      (fs::temp_directory_path() / ("senet_test_" + name + "_" + std::to_string(getpid())))
          .string();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

using senet::test::error_of;

TEST(Config, DefaultsRoundTripAndOverrides) {
  auto j = load_config_json("", {"train.optim.lr=0.2", "model.arch=wrn", "data.hflip=true"});
  RunConfig c = from_json(j);
  EXPECT_FLOAT_EQ(c.train.optim.lr, 0.2f);
  EXPECT_EQ(c.model.arch, models::Arch::WRN);
  EXPECT_TRUE(c.data.hflip);
  EXPECT_EQ(to_json(from_json(to_json(c))), to_json(c));
}

TEST(Config, UnknownKeysAndBadValuesNameTheKey) {
  EXPECT_NE(error_of([] { load_config_json("", {"train.optim.lrr=0.1"}); }).find("train.optim.lrr"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_config_json("", {"train.optim.lr=-1"}); }).find("train.optim.lr"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_config_json("", {"train.epochs=\"ten\""}); }).find("train.epochs"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_config_json("", {"model.arch=vgg"}); }).find("model.arch"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_config_json("", {"noequals"}); }).find("key=value"),
            std::string::npos);
  std::string d = temp_dir("cfg");
  std::ofstream(d + "/bad.json") << "{\"train\": {\"epochs\": 3,}";
  EXPECT_NE(error_of([&] { load_config_json(d + "/bad.json", {}); }).find("bad.json"),
            std::string::npos);
  std::ofstream(d + "/unknown.json") << "{\"trian\": {}}";
  std::string e = error_of([&] { load_config_json(d + "/unknown.json", {}); });
  EXPECT_NE(e.find("unknown.json"), std::string::npos) << e;
  EXPECT_NE(e.find("trian"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { load_config_json(d + "/missing.json", {}); }).find("missing.json"),
            std::string::npos);
}

static RunConfig tiny_run(const std::string& out) {
  RunConfig c = test::tiny_run_config(out);
  c.train.epochs = 2;
  c.train.optim.lr = 0.05f;
  return c;
}

TEST(Checkpoint, RoundTripAndRejection) {
  std::string d = temp_dir("ckpt");
  RunConfig cfg = tiny_run(d);
  auto m = models::make_model(cfg.model);
  auto* site = m->sites()[2];
  std::vector<uint8_t> mask(size_t(site->size()), 0);
  mask[3] = 1;
  site->set_mask(Tensor::from_vector_u8(mask, {site->C, site->H, site->W}));
  save_checkpoint(d + "/a.safetensors", *m, nullptr, {{"config", to_json(cfg).dump()}});

  RunConfig other = cfg;
  other.model.seed = 99;  // different initial weights
  auto m2 = models::make_model(other.model);
  io::StFile f = read_checkpoint(d + "/a.safetensors");
  load_model_state(f, *m2);
  auto p1 = m->named_tensors(), p2 = m2->named_tensors();
  ASSERT_EQ(p1.size(), p2.size());
  for (size_t i = 0; i < p1.size(); ++i) {
    EXPECT_EQ(p1[i].first, p2[i].first);
    EXPECT_EQ(p1[i].second->nbytes(), p2[i].second->nbytes());
    EXPECT_EQ(0, std::memcmp(p1[i].second->raw(), p2[i].second->raw(), p1[i].second->nbytes()))
        << p1[i].first;
  }
  EXPECT_EQ(m2->relu_count(), m->relu_count());

  // A different width: the error names the file and the tensor.
  RunConfig wide = cfg;
  wide.model.width = 0.125f;
  auto m3 = models::make_model(wide.model);
  std::string e = error_of([&] { load_model_state(f, *m3); });
  EXPECT_NE(e.find("a.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("conv1.weight"), std::string::npos) << e;
  // Truncated file and a file that is not a senet checkpoint.
  std::string bytes;
  {
    std::ifstream in(d + "/a.safetensors", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(d + "/t.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_THROW(read_checkpoint(d + "/t.safetensors"), Error);
  io::StFile plain;
  io::save_safetensors(d + "/plain.safetensors", plain);
  EXPECT_NE(
      error_of([&] { read_checkpoint(d + "/plain.safetensors"); }).find("not a senet checkpoint"),
      std::string::npos);
}

TEST(Trainer, ResumedRunEqualsUninterruptedRun) {
  std::string a = temp_dir("full"), b = temp_dir("split");
  RunConfig full = tiny_run(a);
  auto m1 = models::make_model(full.model);
  train_supervised(full, *m1, false);

  RunConfig split = tiny_run(b);
  auto m2 = models::make_model(split.model);
  TrainResult r1 = train_supervised(split, *m2, false, /*stop_after_epochs=*/1);  // "killed"
  EXPECT_EQ(r1.epochs_run, 1);
  auto m3 = models::make_model(split.model);  // a fresh process: new model, resume from disk
  TrainResult r2 = train_supervised(split, *m3, true);
  EXPECT_EQ(r2.epochs_run, 1);
  auto t1 = m1->named_tensors(), t3 = m3->named_tensors();
  ASSERT_EQ(t1.size(), t3.size());
  for (size_t i = 0; i < t1.size(); ++i)
    EXPECT_EQ(0, std::memcmp(t1[i].second->raw(), t3[i].second->raw(), t1[i].second->nbytes()))
        << t1[i].first << " differs after resume";
  // Resuming a finished run does nothing.
  auto m4 = models::make_model(split.model);
  EXPECT_EQ(train_supervised(split, *m4, true).epochs_run, 0);
}

TEST(Trainer, LearnsTheSyntheticTask) {
  std::string d = temp_dir("learn");
  RunConfig c = tiny_run(d);
  c.train.epochs = 4;
  c.data.synthetic_size = 256;
  auto m = models::make_model(c.model);
  TrainResult r = train_supervised(c, *m, false);
  EXPECT_GT(r.test.accuracy, 0.6) << "4 classes: chance is 0.25";
  EXPECT_TRUE(fs::exists(d + "/last.safetensors"));
  EXPECT_TRUE(fs::exists(d + "/best.safetensors"));
  EXPECT_TRUE(fs::exists(d + "/metrics.jsonl"));
}

TEST(Trainer, SecondRunOnTheSameDirectoryIsRefused) {
  std::string d = temp_dir("lock");
  io::RunLock hold(d);
  RunConfig c = tiny_run(d);
  auto m = models::make_model(c.model);
  EXPECT_NE(error_of([&] { train_supervised(c, *m, false); }).find("in use"), std::string::npos);
}

TEST(Trainer, NonFiniteLossStopsAtTheStepAndKeepsTheLastCheckpoint) {
  std::string d = temp_dir("nan");
  RunConfig c = tiny_run(d);
  c.train.epochs = 1;
  auto m = models::make_model(c.model);
  train_supervised(c, *m, false);
  std::string before;
  {
    std::ifstream in(d + "/last.safetensors", std::ios::binary);
    before.assign(std::istreambuf_iterator<char>(in), {});
  }
  RunConfig blow = c;
  blow.train.epochs = 2;
  blow.train.optim.lr = 1e30f;  // diverges within a few steps
  auto m2 = models::make_model(blow.model);
  std::string e = error_of([&] { train_supervised(blow, *m2, true); });
  EXPECT_NE(e.find("epoch 2 step"), std::string::npos) << e;
  EXPECT_TRUE(e.find("loss") != std::string::npos || e.find("gradient of") != std::string::npos)
      << e;
  std::string after;
  {
    std::ifstream in(d + "/last.safetensors", std::ios::binary);
    after.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_EQ(before, after) << "the last good checkpoint must stay as it was";
  auto m3 = models::make_model(c.model);
  EXPECT_NO_THROW(load_model_state(read_checkpoint(d + "/last.safetensors"), *m3));
}

// Disk full while a checkpoint is written: a child process under RLIMIT_FSIZE (smaller than the
// checkpoint) saves over a good checkpoint. It must get an Error naming the file (exit 0), and the
// parent must still load the old checkpoint, bit for bit the same weights.
TEST(Checkpoint, WriteFailureNamesTheFileAndKeepsThePreviousCheckpointLoadable) {
  std::string d = temp_dir("fsize");
  RunConfig c = tiny_run(d);
  auto m = models::make_model(c.model);
  const std::string path = d + "/last.safetensors";
  save_checkpoint(path, *m, nullptr, {{"epoch", "1"}});
  std::string before;
  {
    std::ifstream in(path, std::ios::binary);
    before.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(before.size(), 4096u);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_DFL);  // the write itself must not let the signal kill the process
    struct rlimit lim {
      4096, 4096
    };
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(3);
    auto changed = models::make_model(c.model);
    changed->parameters()[0].data<float>()[0] += 1.f;
    try {
      save_checkpoint(path, *changed, nullptr, {{"epoch", "2"}});
    } catch (const Error& e) {
      ::_exit(std::string(e.what()).find(path) != std::string::npos ? 0 : 2);
    }
    ::_exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: no error, 2: an error that does not name the file";
  std::string after;
  {
    std::ifstream in(path, std::ios::binary);
    after.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_EQ(before, after);
  auto reloaded = models::make_model(c.model);
  io::StFile f = read_checkpoint(path);
  EXPECT_EQ(metadata_at(f, "epoch"), "1");
  EXPECT_NO_THROW(load_model_state(f, *reloaded));
  fs::remove_all(d);
}

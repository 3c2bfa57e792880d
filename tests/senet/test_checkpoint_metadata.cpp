// tests/senet/test_checkpoint_metadata.cpp — the resume metadata readers (metadata_int,
// metadata_number): they read what the trainers write (std::to_string, %.17g) and refuse anything
// else with the file and key named; std::stoi, used before, threw "stoi" and ignored trailing junk.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/core/error.h"
#include "senet/checkpoint.h"

namespace senet {
namespace {

io::StFile with_meta(const std::string& key, const std::string& value) {
  io::StFile f;
  f.path = "run/teacher/last.safetensors";
  f.metadata[key] = value;
  return f;
}

void expect_refused(const std::string& value, bool integer) {
  const io::StFile f = with_meta("epoch", value);
  try {
    if (integer)
      metadata_int(f, "epoch");
    else
      metadata_number(f, "epoch");
    ADD_FAILURE() << "'" << value << "' was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("run/teacher/last.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'epoch' = '" + value + "'"), std::string::npos) << msg;
  }
}

TEST(CheckpointMetadata, ReadsWhatTheTrainersWrite) {
  EXPECT_EQ(metadata_int(with_meta("epoch", std::to_string(12)), "epoch"), 12);
  EXPECT_EQ(metadata_int(with_meta("epoch", "-1"), "epoch"), -1);
  EXPECT_DOUBLE_EQ(metadata_number(with_meta("v", std::to_string(0.8712)), "v"), 0.8712);
  EXPECT_DOUBLE_EQ(metadata_number(with_meta("v", "1.0000000000000001e-05"), "v"), 1e-5);
  EXPECT_TRUE(std::isnan(metadata_number(with_meta("v", "nan"), "v")));
}

TEST(CheckpointMetadata, RefusesAnythingElseNamingFileAndKey) {
  for (const char* v : {"", "abc", "12abc", " 12", "+3", "1.5", "99999999999"})
    expect_refused(v, true);
  for (const char* v : {"", "x", "0.5junk", " 0.5", "1e99999"}) expect_refused(v, false);
  EXPECT_THROW(metadata_int(with_meta("other", "1"), "epoch"), Error);  // missing key
}

}  // namespace
}  // namespace senet

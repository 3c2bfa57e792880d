// tests/senet/test_config_schema.cpp — the config schema (senet/config.cpp config_schema()) is the
// one declaration of every key: to_json writes exactly its keys, each key's type and check reject a
// wrong value naming the key, floats print as written, choices are enums whose errors list the
// names, docs/config.md is the schema's own markdown; and the typed JSON reader
// (senet/json_reader.h) that config, sensitivity.json and masks.json share names document and path.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "senet/config.h"
#include "senet/json_reader.h"
#include "tests/support/error_of.h"

using namespace senet;
using json = nlohmann::json;
using senet::test::error_of;

namespace {

// Every leaf of a JSON object as a dotted key.
void leaves(const json& j, const std::string& prefix, std::set<std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object())
      leaves(*it, key, out);
    else
      out.insert(key);
  }
}

// A value of the wrong type for a key of this type.
std::string wrong_value(const std::string& type) {
  if (type == "bool") return "3";
  if (type == "string") return "3";
  if (type.rfind("one of", 0) == 0) return "not_a_choice";
  if (type.rfind("list", 0) == 0) return "\"x\"";
  if (type.rfind("integer", 0) == 0) return "1.5";
  return "\"x\"";  // number
}

}  // namespace

TEST(ConfigSchema, ToJsonWritesExactlyTheSchemaKeys) {
  std::set<std::string> written, declared;
  leaves(to_json(RunConfig{}), "", written);
  for (const ConfigKey& k : config_schema()) {
    EXPECT_TRUE(declared.insert(k.key).second) << k.key << " declared twice";
    EXPECT_FALSE(k.doc.empty()) << k.key << " has no doc";
    EXPECT_FALSE(k.type.empty()) << k.key;
  }
  EXPECT_EQ(written, declared);
  EXPECT_EQ(to_json(from_json(to_json(RunConfig{}))), to_json(RunConfig{}));
}

// Each key, set to a value of the wrong type, is rejected with its dotted name.
TEST(ConfigSchema, EveryKeyChecksItsType) {
  for (const ConfigKey& k : config_schema()) {
    std::string e = error_of([&] { load_config_json("", {k.key + "=" + wrong_value(k.type)}); });
    EXPECT_NE(e.find(k.key + ": expected"), std::string::npos)
        << k.key << " (" << k.type << "): " << e;
  }
}

// Each key with a numeric range rejects a value just outside it.
TEST(ConfigSchema, RangesAreChecked) {
  const std::vector<std::pair<std::string, std::string>> outside = {
      {"model.num_classes=1", "integer ≥ 2"},
      {"model.image_size=36", "a multiple of 8"},
      {"model.width=16.5", "in (0, 16]"},
      {"data.crop_pad=17", "in [0, 16]"},
      {"train.optim.momentum=1", "in [0, 1)"},
      {"train.optim.lr=0", "> 0"},
      {"senet.density=0", "in (0, 1]"},
      {"senet.snl.lambda_growth=0.5", "≥ 1"},
      {"train.optim.milestones=[3,-1]", "≥ 0"},
      {"model.width_factors=[0.5,1.5]", "in (0, 1]"},
      {"threads=-1", "≥ 0"},
      {"train.epochs=3000000000", "fits in 32 bits"},
      {"seed=-1", "integer ≥ 0"},
      {"senet.mask_search.temperature=0", "> 0"}};
  for (const auto& [set, words] : outside) {
    std::string e = error_of([&] { load_config_json("", {set}); });
    std::string key = set.substr(0, set.find('='));
    EXPECT_EQ(e.rfind("config: " + key, 0), 0u) << set << ": " << e;  // list items: key[i]
    EXPECT_NE(e.find(": expected"), std::string::npos) << set << ": " << e;
    EXPECT_NE(e.find(words), std::string::npos) << set << ": " << e;
  }
}

TEST(ConfigSchema, CrossKeyChecksNameTheKey) {
  std::string e = error_of([] {
    load_config_json("", {"senet.method=snl", "senet.granularity=channel"});
  });
  EXPECT_NE(e.find("senet.method: expected not snl when senet.granularity is channel"),
            std::string::npos)
      << e;
  e = error_of([] { load_config_json("", {"model.arch=wrn", "model.width_factors=[0.5,1]"}); });
  EXPECT_NE(e.find("model.width_factors"), std::string::npos) << e;
  e = error_of([] { load_config_json("", {"model.width_factors=[0.5]"}); });
  EXPECT_NE(e.find("must include 1"), std::string::npos) << e;
}

// A float member prints as the decimal it was given, not as its double expansion.
TEST(ConfigSchema, FloatsPrintAsWritten) {
  json j = load_config_json(
      "", {"train.optim.lr=0.1", "senet.snl.lambda=1e-5", "model.width_factors=[0.3,1]",
           "senet.finetune.pram=1000", "train.optim.weight_decay=0.0005"});
  RunConfig c = from_json(j);
  json out = to_json(c);
  EXPECT_EQ(out["train"]["optim"]["lr"].dump(), "0.1");
  EXPECT_EQ(out["senet"]["snl"]["lambda"].dump(), "1e-05");
  EXPECT_EQ(out["model"]["width_factors"].dump(), "[0.3,1.0]");
  EXPECT_EQ(out["senet"]["finetune"]["pram"].dump(), "1000.0");
  EXPECT_EQ(out["train"]["optim"]["weight_decay"].dump(), "0.0005");
  EXPECT_EQ(c.train.optim.lr, 0.1f);  // and the member is the float nearest 0.1
}

TEST(ConfigSchema, ChoicesAreEnumsWithTheirNames) {
  RunConfig c =
      from_json(load_config_json("", {"senet.method=random_masks", "data.dataset=tiny-imagenet",
                                      "device=cpu", "senet.pram_sites=all"}));
  EXPECT_EQ(c.senet.method, Method::RandomMasks);
  EXPECT_EQ(c.data.dataset, DatasetKind::TinyImagenet);
  EXPECT_EQ(c.senet.pram_sites, PramSites::All);
  EXPECT_EQ(to_json(c)["senet"]["method"], "random_masks");
  std::string e = error_of([] { load_config_json("", {"data.dataset=mnist"}); });
  EXPECT_NE(
      e.find("data.dataset: expected fashion-mnist, cifar10, cifar100, tiny-imagenet or synthetic, "
             "got \"mnist\""),
      std::string::npos)
      << e;
  EXPECT_EQ(enum_choices<Granularity>(), "pixel or channel");
  for (const auto& [value, name] : EnumNames<Method>::table)
    EXPECT_EQ(enum_from_name<Method>(name), value);
}

TEST(ConfigSchema, ReferenceListsEveryKeyWithItsDefault) {
  std::string text = config_reference(ReferenceFormat::Text);
  for (const ConfigKey& k : config_schema())
    EXPECT_NE(text.find(k.key + "  (" + k.type + ", default " + k.get(RunConfig{}).dump() + ")"),
              std::string::npos)
        << k.key;
}

// docs/config.md is `senet config --list --markdown`: regenerate it when a key changes.
TEST(ConfigSchema, DocsConfigMdIsTheSchema) {
  const char* data = std::getenv("SENET_TEST_DATA");  // <source>/tests/data
  ASSERT_NE(data, nullptr);
  std::ifstream f(std::string(data) + "/../../docs/config.md");
  ASSERT_TRUE(f.good()) << "docs/config.md is missing";
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), config_reference(ReferenceFormat::Markdown))
      << "docs/config.md is out of date: senet config --list --markdown > docs/config.md";
}

TEST(JsonReader, ErrorsNameTheDocumentAndThePath) {
  json doc =
      json::parse(R"({"sites": [{"eta": 1.5, "n": -2, "name": 7}], "big": 18446744073709551615})");
  JsonReader r(doc, "sens.json");
  EXPECT_EQ(r.at("sites")[0].at("eta").where(), "sens.json: sites[0].eta");
  EXPECT_EQ(error_of([&] { r.at("sites")[0].at("eta").number(in_range(0, 1, "in [0, 1]")); }),
            "sens.json: sites[0].eta: expected a number in [0, 1], got 1.5");
  EXPECT_EQ(error_of([&] { r.at("sites")[0].at("n").integer(at_least(0)); }),
            "sens.json: sites[0].n: expected an integer ≥ 0, got -2");
  EXPECT_EQ(error_of([&] { r.at("sites")[0].at("name").text(); }),
            "sens.json: sites[0].name: expected a string, got 7");
  EXPECT_EQ(error_of([&] { r.at("sites")[1]; }),
            "sens.json: sites: index 1 out of range (1 entries)");
  EXPECT_EQ(error_of([&] { r.at("layers"); }), "sens.json: layers: missing");
  EXPECT_EQ(r.at("big").unsigned_integer(), 18446744073709551615ull);
  EXPECT_NE(error_of([&] { r.at("big").integer(); }).find("expected an integer"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { r.at("sites")[0].at("name").choice<Granularity>(); }),
            "sens.json: sites[0].name: expected pixel or channel, got 7");
}

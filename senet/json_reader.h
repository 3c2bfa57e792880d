// senet/json_reader.h — typed, checked reads from a JSON document, each error naming the document
// and the path inside it: "sens.json: sites[3].eta: expected a number in [0, 1], got 1.5".
// One reader for the run config (senet/config.cpp), sensitivity.json (senet/sensitivity.cpp) and
// masks.json (senet/masks.cpp), so every file the tool reads fails the same way.
//
//   JsonReader r(doc, "sens.json");
//   double g = r.at("global_density").number(in_range(0, 1, "in [0, 1]"));
//   for (size_t i = 0; i < r.at("sites").size(); ++i) r.at("sites")[i].at("site").text();
//
// A JsonReader is a view: it holds a pointer into the document, which must outlive it.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/enum_names.h"
#include "engine/core/error.h"

namespace senet {

// A check on a number: the predicate and the words after "expected an integer" / "expected a
// number" in the error ("≥ 0" → "expected an integer ≥ 0, got -3"). The default accepts anything.
struct NumberRule {
  std::function<bool(double)> ok;
  std::string words;
};
NumberRule any_number();
NumberRule at_least(double lo);                                       // "≥ lo"
NumberRule positive();                                                // "> 0"
NumberRule in_range(double lo, double hi, const std::string& words);  // lo ≤ x ≤ hi
NumberRule in_range_open_high(double lo, double hi);                  // "in [lo, hi)"
NumberRule in_range_open_low(double lo, double hi);                   // "in (lo, hi]"

class JsonReader {
 public:
  JsonReader(const nlohmann::json& doc, std::string document)
      : j_(&doc), doc_(std::move(document)) {}

  // "doc: a.b[2].c" (just "doc" at the root).
  std::string where() const { return path_.empty() ? doc_ : doc_ + ": " + path_; }
  const std::string& path() const { return path_; }
  const nlohmann::json& json() const { return *j_; }
  [[noreturn]] void fail_expected(
      const std::string& expected) const;  // "<where>: expected X, got V"

  bool is_object() const { return j_->is_object(); }
  bool has(const std::string& key) const { return j_->is_object() && j_->contains(key); }
  JsonReader at(const std::string& key) const;  // object member; missing → error naming it
  JsonReader at_dotted(const std::string& dotted) const;  // at("a").at("b") for "a.b"
  JsonReader operator[](size_t i) const;                  // array element (range-checked)
  size_t size() const;                                    // must be an array

  bool boolean() const;
  std::string text() const;  // any string
  std::string nonempty_text() const;
  int64_t integer(const NumberRule& rule = any_number()) const;
  uint64_t unsigned_integer() const;  // 0 … 2⁶⁴−1 (seeds)
  double number(const NumberRule& rule = any_number()) const;
  template <NamedEnum E>
  E choice() const {
    if (j_->is_string())
      if (auto e = enum_from_name<E>(j_->get<std::string>())) return *e;
    fail_expected(enum_choices<E>());
  }

 private:
  JsonReader(const nlohmann::json* j, std::string doc, std::string path)
      : j_(j), doc_(std::move(doc)), path_(std::move(path)) {}
  const nlohmann::json* j_;
  std::string doc_, path_;
};

}  // namespace senet

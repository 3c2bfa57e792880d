// senet/json_reader.cpp — the checked reads of json_reader.h.
#include "senet/json_reader.h"

#include <cmath>
#include <sstream>

namespace senet {

namespace {
std::string num(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}
}  // namespace

NumberRule any_number() {
  return {[](double) { return true; }, ""};
}
NumberRule at_least(double lo) {
  return {[lo](double x) { return x >= lo; }, "≥ " + num(lo)};
}
NumberRule positive() {
  return {[](double x) { return x > 0; }, "> 0"};
}
NumberRule in_range(double lo, double hi, const std::string& words) {
  return {[lo, hi](double x) { return x >= lo && x <= hi; }, words};
}
NumberRule in_range_open_high(double lo, double hi) {
  return {[lo, hi](double x) { return x >= lo && x < hi; },
          "in [" + num(lo) + ", " + num(hi) + ")"};
}
NumberRule in_range_open_low(double lo, double hi) {
  return {[lo, hi](double x) { return x > lo && x <= hi; },
          "in (" + num(lo) + ", " + num(hi) + "]"};
}

void JsonReader::fail_expected(const std::string& expected) const {
  fail(where(), ": expected ", expected, ", got ", j_->dump());
}

JsonReader JsonReader::at(const std::string& key) const {
  std::string p = path_.empty() ? key : path_ + "." + key;
  if (!j_->is_object()) fail_expected("an object with the key '" + key + "'");
  SENET_CHECK(j_->contains(key), doc_, ": ", p, ": missing");
  return JsonReader(&(*j_)[key], doc_, p);
}

JsonReader JsonReader::at_dotted(const std::string& dotted) const {
  JsonReader r = *this;
  size_t begin = 0;
  while (true) {
    size_t dot = dotted.find('.', begin);
    r = r.at(dotted.substr(begin, dot - begin));
    if (dot == std::string::npos) return r;
    begin = dot + 1;
  }
}

JsonReader JsonReader::operator[](size_t i) const {
  SENET_CHECK(i < size(), where(), ": index ", i, " out of range (", size(), " entries)");
  return JsonReader(&(*j_)[i], doc_, path_ + "[" + std::to_string(i) + "]");
}

size_t JsonReader::size() const {
  if (!j_->is_array()) fail_expected("a list");
  return j_->size();
}

bool JsonReader::boolean() const {
  if (!j_->is_boolean()) fail_expected("true or false");
  return j_->get<bool>();
}

std::string JsonReader::text() const {
  if (!j_->is_string()) fail_expected("a string");
  return j_->get<std::string>();
}

std::string JsonReader::nonempty_text() const {
  if (!j_->is_string() || j_->get<std::string>().empty()) fail_expected("a non-empty string");
  return j_->get<std::string>();
}

int64_t JsonReader::integer(const NumberRule& rule) const {
  const std::string words = rule.words.empty() ? "an integer" : "an integer " + rule.words;
  // A uint64 above INT64_MAX is not an int64 (get<int64_t> would wrap it to a negative number).
  if (!j_->is_number_integer() ||
      (j_->is_number_unsigned() && j_->get<uint64_t>() > uint64_t(INT64_MAX)))
    fail_expected(words);
  int64_t v = j_->get<int64_t>();
  if (!rule.ok(double(v))) fail_expected(words);
  return v;
}

uint64_t JsonReader::unsigned_integer() const {
  if (!j_->is_number_integer() || (!j_->is_number_unsigned() && j_->get<int64_t>() < 0))
    fail_expected("an integer ≥ 0");
  return j_->get<uint64_t>();
}

double JsonReader::number(const NumberRule& rule) const {
  const std::string words = rule.words.empty() ? "a number" : "a number " + rule.words;
  if (!j_->is_number()) fail_expected(words);
  double v = j_->get<double>();
  if (!std::isfinite(v) || !rule.ok(v)) fail_expected(words);
  return v;
}

}  // namespace senet

// tools/bench/bench_resume.h — how bench_kernels survives a kernel that kills its process, hangs,
// or loses the CUDA context: the GPU day (tools/gpu/gpu_day.sh) runs never-run kernels on a real
// GPU once, in a few minutes, and one bad kernel must not cost the rows after it.
//
//   --csv PATH      the rows done, each appended as one write(2) of its whole line when it is done;
//   PATH.running    the row in flight — "layer \t family \t kernel \t version", written before each
//                   row, removed when the process ends normally;
//   --resume        appends to PATH and skips its rows; the row PATH.running names (the one the
//                   last process died on: a crash, a hang cut by a time box or --row-timeout, a
//                   lost context) becomes a FAIL row at once and is not run again; the rest run.
// A sticky CUDA error (illegal address or instruction, misaligned access: every later call of the
// process fails) ends the run at once with exit status 3 after writing its row as FAIL: a second
// process with --resume goes on after it (tools/gpu/gpu_day.sh loops so). A version that has
// killed its process or context on kMaxDeaths layers is not run on the others (FAIL rows naming
// why), and neither is any wgmma version once kMaxDeaths different wgmma versions have died: they
// share the descriptors and shared-memory layout no hardware has checked yet, so a fault there is
// all of theirs — it costs a few process starts (and row timeouts), not one per version and layer.
#pragma once
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace senet::bench {

// A row's identity in the CSV and the marker.
struct RowKey {
  std::string layer, family, kernel, version;
  std::string id() const { return layer + "\t" + kernel + "\t" + version; }
  std::string version_id() const { return kernel + "\t" + version; }
  // The fault domain beyond the version: "wgmma" for every wgmma version, else none.
  std::string domain() const {
    return version.find("wgmma") != std::string::npos ? "wgmma" : std::string();
  }
};

// The details of the FAIL rows that count as a death (tools/bench/bench_kernels.cu writes them).
inline constexpr const char* kStoppedHere = "the last run stopped on this row";
inline constexpr const char* kContextLost = "the CUDA context is lost";
inline constexpr int kMaxDeaths = 2;

// The CSV's fields of one line (RFC 4180: quoted fields, "" inside quotes is one quote).
inline std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"')
      out.back() += '"', ++i;
    else if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

inline std::string running_path(const std::string& csv) { return csv + ".running"; }

// What an earlier run left: its CSV rows' ids, the row it died on (none when it ended normally or
// that row is already in the CSV), and the deaths so far.
struct Resume {
  std::set<std::string> done;
  RowKey died_on;
  bool died = false;
  std::map<std::string, int> deaths;  // version_id → rows on which it died or lost the context
  std::map<std::string, std::set<std::string>> kind_deaths;  // domain → its versions that died
  void count_death(const RowKey& k) {
    ++deaths[k.version_id()];
    if (!k.domain().empty()) kind_deaths[k.domain()].insert(k.version_id());
  }
  bool given_up_version(const RowKey& k) const {
    const auto it = deaths.find(k.version_id());
    return it != deaths.end() && it->second >= kMaxDeaths;
  }
  bool given_up_kind(const RowKey& k) const {
    const auto it = kind_deaths.find(k.domain());
    return !k.domain().empty() && it != kind_deaths.end() && int(it->second.size()) >= kMaxDeaths;
  }
  bool given_up(const RowKey& k) const { return given_up_version(k) || given_up_kind(k); }
};

inline Resume read_resume(const std::string& csv) {
  Resume r;
  std::ifstream in(csv);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    const std::vector<std::string> f = csv_fields(line);
    if (f.size() < 5) continue;  // not a row (the lines are whole: one write(2) each)
    const RowKey k{f[0], f[2], f[3], f[4]};
    r.done.insert(k.id());
    if (f.size() > 7 && f[5] == "FAIL" &&
        (f[7].find(kStoppedHere) != std::string::npos ||
         f[7].find(kContextLost) != std::string::npos))
      r.count_death(k);
  }
  std::ifstream m(running_path(csv));
  RowKey k;
  if (std::getline(m, k.layer, '\t') && std::getline(m, k.family, '\t') &&
      std::getline(m, k.kernel, '\t') && std::getline(m, k.version) && !r.done.count(k.id())) {
    r.died_on = k, r.died = true;
    r.count_death(k);
  }
  return r;
}

// Before each row: name it in PATH.running (flushed and closed, so a crash leaves it behind).
inline void mark_running(const std::string& csv, const RowKey& k) {
  if (csv.empty()) return;
  if (FILE* f = std::fopen(running_path(csv).c_str(), "w")) {
    std::fprintf(f, "%s\t%s\t%s\t%s\n", k.layer.c_str(), k.family.c_str(), k.kernel.c_str(),
                 k.version.c_str());
    std::fclose(f);
  }
}

inline void clear_running(const std::string& csv) {
  if (!csv.empty()) std::remove(running_path(csv).c_str());
}

}  // namespace senet::bench

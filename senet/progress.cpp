// senet/progress.cpp — see progress.h.
#include "senet/progress.h"

#include <unistd.h>

#include <cstdio>

namespace senet {

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      tty_(isatty(2)),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t step, double loss, double acc, int64_t images) {
  if (!enabled_ || total_ <= 0) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? images / secs : 0;
  double eta = step > 0 ? secs * double(total_ - step) / double(step) : 0;
  int decile = int(10 * step / total_);
  if (!tty_ && decile == last_decile_ && step != total_) return;
  last_decile_ = decile;
  int width = 24, filled = int(width * step / total_);
  std::string bar(size_t(filled), '#');
  bar.resize(size_t(width), '.');
  std::fprintf(stderr, "%s%s [%s] %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %.0fs%s",
               tty_ ? "\r" : "", label_.c_str(), bar.c_str(), (long long)step, (long long)total_,
               loss, 100 * acc, rate, eta, tty_ ? "   " : "\n");
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_ && tty_) std::fprintf(stderr, "\n");
}

}  // namespace senet

// senet/progress.h — a one-line progress bar on stderr: loss, accuracy, images/s and ETA.
// On a terminal it redraws in place (\r); otherwise (logs, CI) it prints a line every ~10 %.
#pragma once
#include <chrono>
#include <string>

namespace senet {

class Progress {
 public:
  Progress(std::string label, int64_t total_steps, bool enabled = true);
  void update(int64_t step, double loss, double accuracy, int64_t images);  // step is 1-based
  void finish();

 private:
  std::string label_;
  int64_t total_;
  bool enabled_, tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace senet

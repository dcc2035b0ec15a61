// A fixed-bucket histogram that many threads observe into without a lock, read whole for
// exposition (Prometheus: cumulative buckets, sum and count).
//
// Thread-safety: Observe and Read may run concurrently from any threads; a Read taken while
// an observation lands may count it in its bucket before its value is in `sum`.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace custos::core {

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, ascending; a last +Inf bucket is implied.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound: observations <= it
    uint64_t count = 0;                // all observations (+Inf)
    double sum = 0;
  };
  [[nodiscard]] Snapshot Read() const;

  // 1, 2, 4, … 2^(n-1): for sizes.
  [[nodiscard]] static std::vector<double> Powers(int n);

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (the +Inf one)
  std::atomic<double> sum_{0};
};

}  // namespace custos::core

#include "core/histogram.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace custos::core {
namespace {

// Prometheus buckets count observations less than or equal to their bound, cumulatively.
TEST(HistogramTest, BucketsAreCumulativeAndInclusive) {
  Histogram h({1, 2, 4});
  for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 9.0}) h.Observe(v);
  const Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 5}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 17.0);
}

TEST(HistogramTest, ConcurrentObservationsAreAllCounted) {
  Histogram h(Histogram::Powers(4));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 10'000; ++i) h.Observe(3);
    });
  }
  for (std::thread& t : threads) t.join();
  const Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.bounds, (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, 0, 40'000, 40'000}));
  EXPECT_EQ(s.count, 40'000u);
  EXPECT_DOUBLE_EQ(s.sum, 120'000.0);
}

}  // namespace
}  // namespace custos::core

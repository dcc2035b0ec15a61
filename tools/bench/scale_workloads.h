// The `rebuild` and `memory` bench workloads over a bulk-loaded data set (1M users, 100k
// groups, 10k roles, 10M events; --quick: a hundredth).
#pragma once

#include "core/result.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

[[nodiscard]] core::Result<BenchResult> RunRebuildWorkload(const BenchOptions& options);
[[nodiscard]] core::Result<BenchResult> RunMemoryWorkload(const BenchOptions& options);

}  // namespace custos::tools::bench

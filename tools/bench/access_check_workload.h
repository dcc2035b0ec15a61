// The `access-check` workload: a subject in 50 groups × 10 roles, a tree 6 deep, checks
// evaluated in-process against the tenant's state (../shared/BENCHMARKS.md: p99 ≤ 20 µs).
#pragma once

#include "core/result.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

[[nodiscard]] core::Result<BenchResult> RunAccessCheckWorkload(const BenchOptions& options);

}  // namespace custos::tools::bench

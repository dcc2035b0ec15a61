// The `access-check` workload: a subject in 50 groups × 10 roles, a tree 6 deep, checks
// evaluated in-process against the tenant's state (../shared/BENCHMARKS.md: p99 ≤ 20 µs).
#pragma once

#include "core/result.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

[[nodiscard]] core::Result<BenchResult> RunAccessCheckWorkload(const BenchOptions& options);

// The `read-scale` workload (../shared/spec/REPLICATION.md): the access-check tree on a leader
// (embedded Kafka) and two followers in this process; access checks and audit queries over
// HTTP against the leader alone, then round robin over all three.
[[nodiscard]] core::Result<BenchResult> RunReadScaleWorkload(const BenchOptions& options);

}  // namespace custos::tools::bench

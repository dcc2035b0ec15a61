// The `ingest-sustained` workload: application events at the highest rate the node sustains
// (64 writers, batches of 100, over HTTP) for 5 minutes (1 with --quick), while one client
// queries the trail every 100 ms; reports the rate against db_bench, how far the audit index
// lags the log (sampled every 10 ms) and the queries' p99.
#pragma once

#include "core/result.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

[[nodiscard]] core::Result<BenchResult> RunIngestSustainedWorkload(const BenchOptions& options);

}  // namespace custos::tools::bench

// The `append` workload: N threads appending single ~400-byte events straight to the log
// (no HTTP), each returning after its group's fsync; peer: db_bench fillseq with sync and
// batches of 100.
#pragma once

#include "core/result.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

[[nodiscard]] core::Result<BenchResult> RunAppendWorkload(const BenchOptions& options);

}  // namespace custos::tools::bench

// The `admin-http` workload: 64 keep-alive connections on loopback sending identity commands
// (tag set, binding create and delete, group member add and remove, user update), each
// acknowledged after its fsync; peer: PostgreSQL inserting one event per transaction at the
// same concurrency.
#pragma once

#include "core/result.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

[[nodiscard]] core::Result<BenchResult> RunAdminHttpWorkload(const BenchOptions& options);

}  // namespace custos::tools::bench

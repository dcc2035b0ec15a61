// The `kafka` bench workload: relay throughput, delivery lag at 20k events/s, and the drain
// of a 10 s outage's backlog, into librdkafka's mock cluster; the peer is `kcat -P`.
#pragma once

#include "core/result.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

[[nodiscard]] core::Result<BenchResult> RunKafkaWorkload(const BenchOptions& options);

}  // namespace custos::tools::bench

// The `kafka` bench workload: relay throughput, delivery lag at 20k events/s, and the drain
// of a 10 s outage's backlog, into librdkafka's mock cluster; the peer is `kcat -P`.
#pragma once

#include "core/result.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

[[nodiscard]] core::Result<BenchResult> RunKafkaWorkload(const BenchOptions& options);
// The `follow` workload: a follower catching up from a backlog through the mock cluster, and
// its replication lag at 20k events/s on the leader; the peer is the leader's own rebuild of
// the same events (state and audit index).
[[nodiscard]] core::Result<BenchResult> RunFollowWorkload(const BenchOptions& options);

}  // namespace custos::tools::bench

// The audit trail's workloads (../shared/BENCHMARKS.md): ingest-http, ingest-batch, query, export,
// purge — each against a whole node served over HTTP on loopback, with its peer measured in
// the same run on the same data.
#pragma once

#include "core/result.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

[[nodiscard]] core::Result<BenchResult> RunIngestHttpWorkload(const BenchOptions& options);
[[nodiscard]] core::Result<BenchResult> RunIngestBatchWorkload(const BenchOptions& options);
[[nodiscard]] core::Result<BenchResult> RunQueryWorkload(const BenchOptions& options);
[[nodiscard]] core::Result<BenchResult> RunExportWorkload(const BenchOptions& options);
[[nodiscard]] core::Result<BenchResult> RunPurgeWorkload(const BenchOptions& options);

}  // namespace custos::tools::bench

// Shared pieces of the bench workloads: latency statistics, scratch directories on the disk
// under test, running a peer program, and the one JSON line each workload prints
// (../shared/BENCHMARKS.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace custos::tools::bench {

struct BenchOptions {
  bool quick = false;
  std::string dir;  // parent of the scratch directories (ours and the peer's)
  uint64_t threads = 64;
  bool no_peer = false;  // skip the peer (profiling); ratio is then null
};

struct Latencies {
  std::vector<uint32_t> micros;               // one per operation
  [[nodiscard]] double Percentile(double p);  // sorts on first use
 private:
  bool sorted_ = false;
};

struct BenchResult {
  std::string workload;
  uint64_t ops = 0;
  double seconds = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::string peer;
  double peer_ops_per_s = 0;
  std::string params_json = "{}";  // canonical JSON object
  std::string extra_json;          // extra members ("name":value,...) or empty
};

// One line: {"workload","ops","seconds","ops_per_s","p50_us","p99_us","peer",
// "peer_ops_per_s","ratio","params",…}.
[[nodiscard]] std::string FormatResult(const BenchResult& r);

// A Markdown table of the runs, one row each (workload, ops/s, p50, p99, peer ops/s, ratio):
// what `custos bench all` prints at the end, on stderr, after the JSON lines.
[[nodiscard]] std::string FormatSummary(const std::vector<BenchResult>& results);

// Resident memory (VmRSS) of process `pid` (0: this one), bytes.
[[nodiscard]] uint64_t RssBytes(int pid = 0);

// A fresh directory under `parent`, removed by the destructor (kept, and named on stderr,
// with CUSTOS_BENCH_KEEP=1).
class ScratchDir {
 public:
  [[nodiscard]] static core::Result<ScratchDir> Create(const std::string& parent,
                                                       const std::string& name);
  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir();
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Runs `argv` (no shell), returns its standard output and error together; an error if it
// cannot start or exits non-zero.
[[nodiscard]] core::Result<std::string> RunAndCapture(const std::vector<std::string>& argv);

// The db_bench peer: fillseq, sync, batches of 100 values of 400 bytes, no compression.
// Returns its ops/s.
[[nodiscard]] core::Result<double> RunDbBenchFillseq(const std::string& scratch_parent,
                                                     uint64_t num);

// The peer of the ingest workloads: db_bench fillseq of the run's size (unless --no-peer),
// after saying our rate on stderr; sets `peer` and `peer_ops_per_s`.
[[nodiscard]] core::Status AddDbBenchPeer(const BenchOptions& options, BenchResult& result);

}  // namespace custos::tools::bench

// custos bench WORKLOAD… [--quick]: runs benchmark workloads, each against its peer in the
// same run, and prints one JSON line per workload on stdout (progress on stderr).
#include <cstdio>
#include <filesystem>

#include "tools/bench/access_check_workload.h"
#include "tools/bench/admin_http_workload.h"
#include "tools/bench/append_workload.h"
#include "tools/bench/audit_workloads.h"
#include "tools/bench/kafka_workload.h"
#include "tools/bench/scale_workloads.h"
#include "tools/bench/sustained_workload.h"
#include "tools/commands.h"

namespace custos::tools {
namespace {

struct Workload {
  const char* name;
  core::Result<bench::BenchResult> (*run)(const bench::BenchOptions&);
};

constexpr Workload kWorkloads[] = {
    {"append", &bench::RunAppendWorkload},
    {"access-check", &bench::RunAccessCheckWorkload},
    {"admin-http", &bench::RunAdminHttpWorkload},
    {"ingest-http", &bench::RunIngestHttpWorkload},
    {"ingest-batch", &bench::RunIngestBatchWorkload},
    {"ingest-sustained", &bench::RunIngestSustainedWorkload},
    {"query", &bench::RunQueryWorkload},
    {"export", &bench::RunExportWorkload},
    {"purge", &bench::RunPurgeWorkload},
    {"kafka", &bench::RunKafkaWorkload},
    {"follow", &bench::RunFollowWorkload},
    {"read-scale", &bench::RunReadScaleWorkload},
    {"rebuild", &bench::RunRebuildWorkload},
    {"memory", &bench::RunMemoryWorkload},
};

}  // namespace

int RunBench(const Args& args) {
  Flags flags;
  std::string names;
  for (const Workload& w : kWorkloads) names += std::string(names.empty() ? "" : "|") + w.name;
  if (auto exit = ParseCommandFlags(
          "bench", "(" + names + "|all)… [--quick] [--threads N] [--dir DIR]", args,
          {{"quick", false, "", "small sizes: each workload finishes in seconds"},
           {"threads", true, "64", "concurrent clients (ours and the peer's)"},
           {"dir", true, "", "where scratch data goes (default: the system temp dir)"},
           {"no-peer", false, "", "skip the peer (for profiling; ratio is null)"}},
          flags, {.positional = true})) {
    return *exit;
  }
  if (flags.positional().empty()) {
    return ReportError("bench", core::InvalidArgument("name a workload: " + names + " or all"));
  }
  bench::BenchOptions options;
  options.quick = flags.IsSet("quick");
  options.no_peer = flags.IsSet("no-peer");
  core::Result<uint64_t> threads = flags.GetUInt("threads", 1, 4096);
  if (!threads.ok()) return ReportError("bench", threads.error());
  options.threads = *threads;
  options.dir = flags.Get("dir").value_or(std::filesystem::temp_directory_path().string());

  std::vector<const Workload*> selected;
  for (const std::string& name : flags.positional()) {
    bool found = false;
    for (const Workload& w : kWorkloads) {
      if (name == "all" || name == w.name) {
        selected.push_back(&w);
        found = true;
      }
    }
    if (!found) {
      return ReportError("bench", core::InvalidArgument("unknown workload '" + name +
                                                        "'; known: " + names + ", all"));
    }
  }
  int exit = kExitOk;
  std::vector<bench::BenchResult> results;
  for (const Workload* w : selected) {
    core::Result<bench::BenchResult> r = w->run(options);
    if (!r.ok()) {
      exit = ReportError("bench", r.error());
      continue;
    }
    std::printf("%s\n", bench::FormatResult(*r).c_str());
    std::fflush(stdout);
    results.push_back(std::move(r).value());
  }
  // Several workloads (`all`): a table of them at the end, on stderr (stdout stays JSON lines).
  if (selected.size() > 1) std::fprintf(stderr, "\n%s", bench::FormatSummary(results).c_str());
  return exit;
}

}  // namespace custos::tools

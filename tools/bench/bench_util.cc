#include "tools/bench/bench_util.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/json_writer.h"

namespace custos::tools::bench {

double Latencies::Percentile(double p) {
  if (micros.empty()) return 0;
  if (!sorted_) {
    std::sort(micros.begin(), micros.end());
    sorted_ = true;
  }
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(micros.size())));
  return micros[std::min(micros.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string FormatResult(const BenchResult& r) {
  auto round2 = [](double v) { return std::round(v * 100) / 100; };
  auto number = [&](core::JsonWriter& w, const char* key, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", round2(v));
    w.Key(key).Raw(buf);
  };
  const double ops_per_s = r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0;
  core::JsonWriter w;
  w.BeginObject().Key("workload").String(r.workload).Key("ops").UInt(r.ops);
  number(w, "seconds", r.seconds);
  number(w, "ops_per_s", ops_per_s);
  number(w, "p50_us", r.p50_us);
  number(w, "p99_us", r.p99_us);
  w.Key("peer").String(r.peer);
  number(w, "peer_ops_per_s", r.peer_ops_per_s);
  if (r.peer_ops_per_s > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", ops_per_s / r.peer_ops_per_s);
    w.Key("ratio").Raw(buf);
  } else {
    w.Key("ratio").Null();
  }
  w.Key("params").Raw(r.params_json);
  std::string out = w.Take();
  if (!r.extra_json.empty()) {
    out += ',';
    out += r.extra_json;
  }
  out += '}';
  return out;
}

core::Status AddDbBenchPeer(const BenchOptions& options, BenchResult& result) {
  result.peer = "db_bench fillseq --sync=1 --batch_size=100 --value_size=400";
  if (options.no_peer) return core::OkStatus();
  std::fprintf(stderr, "%s: ours %.0f events/s; running db_bench\n", result.workload.c_str(),
               static_cast<double>(result.ops) / result.seconds);
  CUSTOS_ASSIGN_OR_RETURN(result.peer_ops_per_s,
                          RunDbBenchFillseq(options.dir, options.quick ? 200'000 : 2'000'000));
  return core::OkStatus();
}

std::string FormatSummary(const std::vector<BenchResult>& results) {
  std::string out =
      "| workload | ops/s | p50 µs | p99 µs | peer ops/s | ratio |\n"
      "|---|---:|---:|---:|---:|---:|\n";
  for (const BenchResult& r : results) {
    const double ops_per_s = r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0;
    const std::string peer = r.peer_ops_per_s > 0 ? fmt::format("{:.0f}", r.peer_ops_per_s) : "—";
    const std::string ratio =
        r.peer_ops_per_s > 0 ? fmt::format("{:.3f}", ops_per_s / r.peer_ops_per_s) : "—";
    out += fmt::format("| {} | {:.0f} | {:.0f} | {:.0f} | {} | {} |\n", r.workload, ops_per_s,
                       r.p50_us, r.p99_us, peer, ratio);
  }
  return out;
}

core::Result<ScratchDir> ScratchDir::Create(const std::string& parent, const std::string& name) {
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  std::string pattern = parent + "/custos-bench-" + name + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    return core::Unavailable("cannot create a scratch directory under " + parent + ": " +
                             std::strerror(errno));
  }
  return ScratchDir(std::string(buf.data()));
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) {
  other.path_.clear();
}

ScratchDir::~ScratchDir() {
  if (path_.empty()) return;
  if (const char* keep = std::getenv("CUSTOS_BENCH_KEEP"); keep != nullptr && *keep == '1') {
    std::fprintf(stderr, "bench: kept %s (CUSTOS_BENCH_KEEP=1)\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

core::Result<std::string> RunAndCapture(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return core::Internal("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) return core::Internal("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return core::Unavailable(argv[0] + " failed (" +
                             (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                : std::string("killed")) +
                             "): " + out.substr(0, 2000));
  }
  return out;
}

core::Result<double> RunDbBenchFillseq(const std::string& scratch_parent, uint64_t num) {
  CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(scratch_parent, "db_bench"));
  core::Result<std::string> out = RunAndCapture(
      {"db_bench", "--benchmarks=fillseq", "--sync=1", "--batch_size=100", "--value_size=400",
       "--compression_type=none", "--db=" + dir.path() + "/db", "--num=" + std::to_string(num)});
  if (!out.ok()) {
    return core::Unavailable("the db_bench peer (Debian package rocksdb-tools) did not run: " +
                             out.error().message);
  }
  // "fillseq      :       3.865 micros/op 258712 ops/sec 0.773 seconds …"
  const size_t line = out->find("fillseq ");
  const size_t unit = line == std::string::npos ? line : out->find(" ops/sec", line);
  if (unit == std::string::npos) {
    return core::Internal("cannot find fillseq's ops/sec in db_bench's output: " +
                          out->substr(0, 2000));
  }
  const size_t start = out->rfind(' ', unit - 1) + 1;
  return std::strtod(out->c_str() + start, nullptr);
}

uint64_t RssBytes(int pid) {
  std::ifstream status(pid == 0 ? std::string("/proc/self/status")
                                : "/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace custos::tools::bench

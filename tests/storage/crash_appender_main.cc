// crash_appender DB_PATH THREADS SEED: appends to the log forever from THREADS threads and
// reports every acknowledged event on stdout as "tenant tenant_seq seq hash", one write(2)
// per line, only after Append returned. The crash test kills it with SIGKILL.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "storage/rocks_store.h"

int main(int argc, char** argv) {
  using namespace custos;
  if (argc != 4) {
    std::fprintf(stderr, "usage: crash_appender DB_PATH THREADS SEED\n");
    return 2;
  }
  core::SystemClock clock;
  storage::StoreOptions options;
  options.path = argv[1];
  options.clock = &clock;
  auto store = storage::RocksStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
    return 1;
  }
  const int threads = std::atoi(argv[2]);
  const unsigned seed = static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng(seed * 131 + static_cast<unsigned>(t));
      for (uint64_t n = 0;; ++n) {
        core::AppendRequest request;
        request.tenant = core::TenantId("tenant-" + std::to_string(rng() % 5));
        const size_t count = 1 + rng() % 3;
        for (size_t i = 0; i < count; ++i) {
          core::EventDraft d;
          d.type = "crash.tested";
          d.actor = core::Actor{"system", "crash-appender", "", "", ""};
          d.data = "{\"thread\":" + std::to_string(t) + ",\"n\":" + std::to_string(n) + "}";
          request.events.push_back(core::RenderDraft(d).value());
        }
        auto appended = (*store)->Append(std::move(request));
        if (!appended.ok()) {
          std::fprintf(stderr, "append: %s\n", appended.error().message.c_str());
          std::_Exit(1);
        }
        for (const core::AppendedEvent& e : *appended) {
          core::Result<core::LineFields> f = core::ParseLineFields(e.line);
          std::string line = std::string(f->tenant) + " " + std::to_string(e.tenant_seq.value()) +
                             " " + std::to_string(e.seq.value()) + " " + e.hash + "\n";
          if (write(STDOUT_FILENO, line.data(), line.size()) < 0) std::_Exit(1);
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  return 0;
}

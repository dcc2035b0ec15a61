// The PostgreSQL peer (BENCHMARKS.md): a throw-away cluster under a temp dir (initdb and
// pg_ctl as the unprivileged `postgres` user, Unix socket only), the audit table with its
// four indexes, and pgbench at our concurrency running one ~400-byte INSERT per
// transaction with synchronous_commit=on. Stopped and removed afterwards.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace custos::tools::bench {

class PostgresPeer {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<PostgresPeer>> Start(
      const std::string& scratch_parent);
  ~PostgresPeer();

  // Transactions per second of `clients` pgbench clients inserting single events.
  [[nodiscard]] core::Result<double> InsertTps(int clients, int seconds);

 private:
  PostgresPeer(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  [[nodiscard]] core::Result<std::string> AsPostgres(const std::string& command) const;
  std::string dir_;
  int port_;
};

}  // namespace custos::tools::bench

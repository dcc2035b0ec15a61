// The PostgreSQL peer (../shared/BENCHMARKS.md): a throw-away cluster under a temp dir (initdb and
// pg_ctl as the unprivileged `postgres` user, Unix socket only), the audit table with its
// four indexes, and pgbench at our concurrency running one ~400-byte INSERT per
// transaction with synchronous_commit=on; for the query and export workloads, the same
// audit rows as ours (audit_data.h) loaded in one statement, queried by pgbench and copied
// out by psql. Stopped and removed afterwards.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "tools/bench/audit_data.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

class PostgresPeer {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<PostgresPeer>> Start(
      const std::string& scratch_parent);
  ~PostgresPeer();

  // Transactions per second of `clients` pgbench clients inserting single events.
  [[nodiscard]] core::Result<double> InsertTps(int clients, int seconds);

  // Replaces the audit table's rows with exactly the events of `spec` (audit_data.h; seq is
  // i + 1), then vacuums, analyzes and checkpoints, so that queries meet a settled table.
  [[nodiscard]] core::Status LoadAudit(const AuditDataSpec& spec);

  // The latency in microseconds of every transaction of `clients` pgbench clients running
  // `transactions_per_client` transactions each; each transaction is one of `sql_scripts`
  // (pgbench scripts: SQL, `\set k random(0, 4999)`, `:k`), picked at random.
  [[nodiscard]] core::Result<Latencies> QueryLatencies(const std::vector<std::string>& sql_scripts,
                                                       int clients,
                                                       uint64_t transactions_per_client);

  // Wall seconds of psql running `COPY (select_sql) TO STDOUT` into /dev/null: the server
  // producing every row and psql receiving and writing it, plus psql's start and connection
  // (about 13 ms). `select_sql` is one SELECT (a trailing `;` is fine, psql backslash
  // commands are not). *rows_out receives the number of rows copied.
  [[nodiscard]] core::Result<double> CopyOutSeconds(const std::string& select_sql,
                                                    uint64_t* rows_out);

 private:
  PostgresPeer(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  [[nodiscard]] core::Result<std::string> AsPostgres(const std::string& command) const;
  // Writes `content` to `name` in the peer's directory, readable by the postgres user.
  [[nodiscard]] core::Result<std::string> WriteFile(const std::string& name,
                                                    const std::string& content) const;
  // Runs the SQL file at `path` with psql, stopping at the first error.
  [[nodiscard]] core::Result<std::string> RunSqlFile(const std::string& path) const;
  // Host, port, user and database, for psql and pgbench.
  [[nodiscard]] std::string ConnectArgs() const;
  std::string dir_;
  int port_;
};

}  // namespace custos::tools::bench

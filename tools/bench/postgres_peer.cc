#include "tools/bench/postgres_peer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string_view>

#include <fmt/format.h>

namespace custos::tools::bench {
namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";

// The secondary indexes, named so that LoadAudit can drop and rebuild them.
struct AuditIndex {
  std::string_view name;
  std::string_view columns;
};
constexpr std::array<AuditIndex, 4> kAuditIndexes = {{
    {"audit_tenant_actor_ts", "tenant, actor, ts"},
    {"audit_tenant_action_ts", "tenant, action, ts"},
    {"audit_tenant_target_ts", "tenant, target, ts"},
    {"audit_tenant_ts", "tenant, ts"},
}};

std::string CreateIndexesSql() {
  std::string sql;
  for (const AuditIndex& index : kAuditIndexes) {
    sql += fmt::format("CREATE INDEX {} ON audit({});\n", index.name, index.columns);
  }
  return sql;
}

std::string DropIndexesSql() {
  std::string sql;
  for (const AuditIndex& index : kAuditIndexes) sql += fmt::format("DROP INDEX {};\n", index.name);
  return sql;
}

// audit_data.h's formulas in SQL. i is a bigint (generate_series over bigints), as the
// products overflow an integer: i * 7919 does past 271,000 events.
core::Result<std::string> AuditInsertSql(const AuditDataSpec& spec) {
  if (spec.tenants > 10000) {
    // Tenant names have 4 digits ("t" + lpad(…, 4)): t9999 is the last one.
    return core::InvalidArgument(
        fmt::format("the audit data has at most 10000 tenants, not {}", spec.tenants));
  }
  if (spec.events > static_cast<uint64_t>(INT64_MAX)) {
    return core::InvalidArgument(fmt::format("too many audit events: {}", spec.events));
  }
  std::string tenant = "'t0000'";
  if (spec.tenants > 1) {
    tenant = fmt::format(
        "CASE WHEN i % 10 < 3 THEN 't0000' "
        "ELSE 't' || lpad((1 + (i * 7919) % {})::text, 4, '0') END",
        spec.tenants - 1);
  }
  std::string types;
  for (std::string_view type : kAuditTypes) {
    types += fmt::format("{}'{}'", types.empty() ? "" : ", ", type);
  }
  // to_timestamp rounds to the microsecond, so whole milliseconds come out exact.
  return fmt::format(
      "INSERT INTO audit(tenant, ts, actor, action, target, data)\n"
      "SELECT {},\n"
      "       to_timestamp(({} + (i / {}) * {}) / 1000.0),\n"
      "       'user-' || (i * 2654435761 / 128) % 5000,\n"
      "       (ARRAY[{}])[1 + (i * 13) % {}],\n"
      "       'wf-' || (i * 40503 / 8) % 20000,\n"
      "       jsonb_build_object('n', i, 'note', repeat('x', 200))\n"
      "FROM generate_series(0::bigint, {}) AS i;\n",
      tenant, spec.start_ms, kAuditBlock, spec.step_ms, types, kAuditTypes.size(),
      static_cast<int64_t>(spec.events) - 1);
}

// The same error with what we were doing in front.
core::Error InContext(const std::string& context, core::Error error) {
  error.message = context + ": " + error.message;
  return error;
}

}  // namespace

core::Result<std::string> PostgresPeer::AsPostgres(const std::string& command) const {
  return RunAndCapture({"runuser", "-u", "postgres", "--", "sh", "-c", command});
}

std::string PostgresPeer::ConnectArgs() const {
  // Positional database name last: pgbench's -d is --debug.
  return "-h " + dir_ + " -p " + std::to_string(port_) + " -U postgres postgres";
}

core::Result<std::string> PostgresPeer::WriteFile(const std::string& name,
                                                  const std::string& content) const {
  const std::string path = dir_ + "/" + name;
  {
    std::ofstream out(path, std::ios::trunc);
    out << content;
    out.close();
    if (!out) return core::Unavailable("cannot write " + path);
  }
  CUSTOS_RETURN_IF_ERROR(RunAndCapture({"chown", "postgres:postgres", path}));
  return path;
}

core::Result<std::string> PostgresPeer::RunSqlFile(const std::string& path) const {
  return AsPostgres(kBin + "psql -X -v ON_ERROR_STOP=1 -f " + path + " " + ConnectArgs());
}

core::Result<std::unique_ptr<PostgresPeer>> PostgresPeer::Start(const std::string& parent) {
  if (!std::filesystem::exists(kBin + "initdb")) {
    return core::Unavailable("PostgreSQL 15 is not installed (Debian package postgresql)");
  }
  std::string pattern = parent + "/custos-bench-pg-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return core::Unavailable("cannot make a temp dir");
  std::random_device rd;
  const int port = 20000 + static_cast<int>(rd() % 20000);
  // Owned from here, so that the directory goes whatever fails below.
  std::unique_ptr<PostgresPeer> peer(new PostgresPeer(buf.data(), port));
  const std::string& dir = peer->dir_;
  CUSTOS_RETURN_IF_ERROR(RunAndCapture({"chown", "postgres:postgres", dir}));
  // The C collation compares bytes, as we do, and whatever the machine's LANG: under
  // C.UTF-8 the four index builds of LoadAudit take about 20% longer.
  CUSTOS_RETURN_IF_ERROR(peer->AsPostgres(kBin + "initdb -D " + dir +
                                          "/data -A trust -U postgres --locale=C -E UTF8"));
  // shared_buffers of 1GB holds the 100k-event data set and the hot part of the large ones;
  // max_wal_size of 8GB spares the bulk loads a checkpoint (with its full-page writes) per
  // gigabyte of WAL. Durability is untouched: fsync and synchronous_commit stay on.
  CUSTOS_RETURN_IF_ERROR(peer->AsPostgres(
      kBin + "pg_ctl -D " + dir + "/data -w -l " + dir + "/log start -o \"-p " +
      std::to_string(port) + " -k " + dir +
      " -c listen_addresses='' -c synchronous_commit=on -c fsync=on -c max_connections=200 "
      "-c shared_buffers=1GB -c max_wal_size=8GB\""));
  CUSTOS_ASSIGN_OR_RETURN(
      std::string schema,
      peer->WriteFile("schema.sql",
                      "CREATE TABLE audit(seq bigserial primary key, tenant text, ts timestamptz, "
                      "actor text, action text, target text, data jsonb);\n" +
                          CreateIndexesSql()));
  CUSTOS_RETURN_IF_ERROR(peer->RunSqlFile(schema));
  return peer;
}

PostgresPeer::~PostgresPeer() {
  (void)AsPostgres(kBin + "pg_ctl -D " + dir_ + "/data -m fast -w stop");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

core::Result<double> PostgresPeer::InsertTps(int clients, int seconds) {
  // About 400 bytes per event, like ours.
  CUSTOS_ASSIGN_OR_RETURN(
      std::string script,
      WriteFile("insert.sql",
                "\\set t random(1, 100)\n"
                "\\set a random(1, 1000)\n"
                "INSERT INTO audit(tenant, ts, actor, action, target, data) VALUES ('tenant-' || "
                ":t, now(), 'usr_' || :a, 'workflow.executed', 'res_' || :a, "
                "'{\"result\":\"ok\",\"note\":\"" +
                    std::string(250, 'x') + "\"}');\n"));
  CUSTOS_ASSIGN_OR_RETURN(
      std::string out, AsPostgres(kBin + "pgbench -n -c " + std::to_string(clients) + " -j 2 -T " +
                                  std::to_string(seconds) + " -f " + script + " " + ConnectArgs()));
  const size_t at = out.find("tps = ");
  if (at == std::string::npos) return core::Internal("no tps in pgbench's output: " + out);
  return std::strtod(out.c_str() + at + 6, nullptr);
}

core::Status PostgresPeer::LoadAudit(const AuditDataSpec& spec) {
  CUSTOS_ASSIGN_OR_RETURN(std::string insert, AuditInsertSql(spec));
  // One transaction, so that a failure leaves the table as it was. The indexes are dropped
  // and rebuilt around the insert: sorting each once beats inserting every row into four
  // B-trees (1M events: 9 s against 20 s). The VACUUM sets the hint bits and the visibility
  // map now, and the CHECKPOINT writes the dirty pages now, rather than leaving them to the
  // first queries, to an autovacuum and to a checkpoint running during the measurement.
  const std::string sql =
      "SET maintenance_work_mem = '512MB';\n"
      "BEGIN;\n"
      "TRUNCATE audit RESTART IDENTITY;\n" +
      DropIndexesSql() + insert + CreateIndexesSql() +
      "COMMIT;\n"
      "VACUUM (ANALYZE) audit;\n"
      "CHECKPOINT;\n";
  const std::string context = fmt::format("loading {} audit events into PostgreSQL", spec.events);
  core::Result<std::string> path = WriteFile("load-audit.sql", sql);
  if (!path.ok()) return InContext(context, std::move(path).error());
  core::Result<std::string> out = RunSqlFile(*path);
  if (!out.ok()) return InContext(context, std::move(out).error());
  return core::OkStatus();
}

core::Result<Latencies> PostgresPeer::QueryLatencies(const std::vector<std::string>& sql_scripts,
                                                     int clients,
                                                     uint64_t transactions_per_client) {
  if (sql_scripts.empty() || clients < 1 || transactions_per_client < 1) {
    return core::InvalidArgument(
        fmt::format("QueryLatencies needs scripts, clients and transactions (got {}, {}, {})",
                    sql_scripts.size(), clients, transactions_per_client));
  }
  std::string files;
  for (size_t k = 0; k < sql_scripts.size(); ++k) {
    CUSTOS_ASSIGN_OR_RETURN(std::string path,
                            WriteFile(fmt::format("query-{}.sql", k), sql_scripts[k]));
    files += " -f " + path;
  }
  // pgbench -l writes one line per transaction into <prefix>.<pid>[.<thread>]; any from an
  // earlier call would be counted again.
  const std::string prefix = "pglog.";
  auto remove_logs = [&] {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      if (entry.path().filename().string().starts_with(prefix)) {
        std::filesystem::remove(entry.path(), ec);
      }
    }
  };
  remove_logs();
  core::Result<std::string> run = AsPostgres(
      fmt::format("{}pgbench -n -c {} -j {} -t {}{} -l --log-prefix={}/pglog {}", kBin, clients,
                  std::min(clients, 2), transactions_per_client, files, dir_, ConnectArgs()));
  if (!run.ok()) {
    remove_logs();
    return InContext("pgbench queries", std::move(run).error());
  }
  // Each line: client_id transaction_no time script_no time_epoch time_us, where time is the
  // transaction's latency in microseconds ("skipped" or "failed" when it did not run).
  Latencies latencies;
  latencies.micros.reserve(static_cast<size_t>(clients) * transactions_per_client);
  std::string bad;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (!entry.path().filename().string().starts_with(prefix)) continue;
    std::ifstream in(entry.path());
    std::string line;
    while (bad.empty() && std::getline(in, line)) {
      unsigned long long client = 0;
      unsigned long long transaction = 0;
      char field[32] = {};
      if (std::sscanf(line.c_str(), "%llu %llu %31s", &client, &transaction, field) != 3) {
        bad = line;
        break;
      }
      char* end = nullptr;
      const unsigned long long micros = std::strtoull(field, &end, 10);
      if (*end != '\0' || micros > UINT32_MAX) {
        bad = line;
        break;
      }
      latencies.micros.push_back(static_cast<uint32_t>(micros));
    }
  }
  remove_logs();
  if (ec) return core::Internal("cannot list " + dir_ + ": " + ec.message());
  if (!bad.empty()) return core::Internal("unexpected line in pgbench's log: " + bad);
  if (latencies.micros.size() != static_cast<size_t>(clients) * transactions_per_client) {
    return core::Internal(fmt::format("pgbench logged {} transactions, not {}",
                                      latencies.micros.size(),
                                      static_cast<uint64_t>(clients) * transactions_per_client));
  }
  return latencies;
}

core::Result<double> PostgresPeer::CopyOutSeconds(const std::string& select_sql,
                                                  uint64_t* rows_out) {
  std::string select = select_sql;
  while (!select.empty() &&
         (std::isspace(static_cast<unsigned char>(select.back())) != 0 || select.back() == ';')) {
    select.pop_back();
  }
  // `\g /dev/null` sends COPY's rows to psql's file and its "COPY n" to its standard output.
  // The rows still cross the socket and go through psql, as an export's client's would.
  CUSTOS_ASSIGN_OR_RETURN(
      std::string path,
      WriteFile("copy-out.sql", "COPY (\n" + select + "\n) TO STDOUT \\g /dev/null\n"));
  const auto start = std::chrono::steady_clock::now();
  core::Result<std::string> out = RunSqlFile(path);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!out.ok()) return InContext("COPY out of PostgreSQL", std::move(out).error());
  const size_t at = out->rfind("COPY ");
  if (at == std::string::npos) return core::Internal("no COPY count in psql's output: " + *out);
  *rows_out = std::strtoull(out->c_str() + at + 5, nullptr, 10);
  return seconds;
}

}  // namespace custos::tools::bench

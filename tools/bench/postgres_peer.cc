#include "tools/bench/postgres_peer.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "tools/bench/bench_util.h"

namespace custos::tools::bench {
namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";

}  // namespace

core::Result<std::string> PostgresPeer::AsPostgres(const std::string& command) const {
  return RunAndCapture({"runuser", "-u", "postgres", "--", "sh", "-c", command});
}

core::Result<std::unique_ptr<PostgresPeer>> PostgresPeer::Start(const std::string& parent) {
  if (!std::filesystem::exists(kBin + "initdb")) {
    return core::Unavailable("PostgreSQL 15 is not installed (Debian package postgresql)");
  }
  std::string pattern = parent + "/custos-bench-pg-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return core::Unavailable("cannot make a temp dir");
  const std::string dir = buf.data();
  CUSTOS_RETURN_IF_ERROR(RunAndCapture({"chown", "postgres:postgres", dir}));
  std::random_device rd;
  const int port = 20000 + static_cast<int>(rd() % 20000);
  std::unique_ptr<PostgresPeer> peer(new PostgresPeer(dir, port));
  CUSTOS_RETURN_IF_ERROR(
      peer->AsPostgres(kBin + "initdb -D " + dir + "/data -A trust -U postgres"));
  CUSTOS_RETURN_IF_ERROR(peer->AsPostgres(
      kBin + "pg_ctl -D " + dir + "/data -w -l " + dir + "/log start -o \"-p " +
      std::to_string(port) + " -k " + dir +
      " -c listen_addresses='' -c synchronous_commit=on -c fsync=on -c max_connections=200 "
      "-c shared_buffers=256MB\""));
  CUSTOS_RETURN_IF_ERROR(peer->AsPostgres(
      kBin + "psql -q -h " + dir + " -p " + std::to_string(port) +
      " -U postgres -d postgres -c \"CREATE TABLE audit(seq bigserial primary key, tenant text, "
      "ts timestamptz, actor text, action text, target text, data jsonb); "
      "CREATE INDEX ON audit(tenant, actor, ts); CREATE INDEX ON audit(tenant, action, ts); "
      "CREATE INDEX ON audit(tenant, target, ts); CREATE INDEX ON audit(tenant, ts);\""));
  return peer;
}

PostgresPeer::~PostgresPeer() {
  (void)AsPostgres(kBin + "pg_ctl -D " + dir_ + "/data -m fast -w stop");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

core::Result<double> PostgresPeer::InsertTps(int clients, int seconds) {
  const std::string script = dir_ + "/insert.sql";
  {
    std::ofstream out(script);
    // About 400 bytes per event, like ours.
    out << "\\set t random(1, 100)\n"
           "\\set a random(1, 1000)\n"
           "INSERT INTO audit(tenant, ts, actor, action, target, data) VALUES ('tenant-' || :t, "
           "now(), 'usr_' || :a, 'workflow.executed', 'res_' || :a, "
           "'{\"result\":\"ok\",\"note\":\"" +
               std::string(250, 'x') + "\"}');\n";
  }
  CUSTOS_RETURN_IF_ERROR(RunAndCapture({"chown", "postgres:postgres", script}));
  CUSTOS_ASSIGN_OR_RETURN(
      std::string out, AsPostgres(kBin + "pgbench -n -c " + std::to_string(clients) + " -j 2 -T " +
                                  std::to_string(seconds) + " -f " + script + " -h " + dir_ +
                                  " -p " + std::to_string(port_) + " -U postgres postgres"));
  const size_t at = out.find("tps = ");
  if (at == std::string::npos) return core::Internal("no tps in pgbench's output: " + out);
  return std::strtod(out.c_str() + at + 6, nullptr);
}

}  // namespace custos::tools::bench

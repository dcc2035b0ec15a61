// custos dev-kafka: a Kafka-protocol dev cluster on 127.0.0.1 (librdkafka's mock cluster).
// Prints the bootstrap servers as the first line of stdout and runs until SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>

#include "storage/kafka_dev_cluster.h"
#include "tools/commands.h"

namespace custos::tools {

int RunDevKafka(const Args& args) {
  Flags flags;
  if (auto exit = ParseCommandFlags(
          "dev-kafka", "[--brokers N] [--partitions N]", args,
          {{"brokers", true, "1", "number of brokers"},
           {"partitions", true, "4", "partitions of each pre-created custos topic"}},
          flags)) {
    return *exit;
  }
  core::Result<uint64_t> brokers = flags.GetUInt("brokers", 1, 16);
  if (!brokers.ok()) return ReportError("dev-kafka", brokers.error());
  core::Result<uint64_t> partitions = flags.GetUInt("partitions", 1, 1024);
  if (!partitions.ok()) return ReportError("dev-kafka", partitions.error());

  // Block the signals before librdkafka starts its threads, so that only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  storage::KafkaDevClusterOptions options;
  options.brokers = static_cast<int>(*brokers);
  options.partitions = static_cast<int>(*partitions);
  auto cluster = storage::KafkaDevCluster::Start(options);
  if (!cluster.ok()) return ReportError("dev-kafka", cluster.error());
  std::printf("%s\n", (*cluster)->bootstrap_servers().c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "custos dev-kafka: %d broker(s) at %s; topics custos.audit.v1, "
               "custos.audit.ocsf.v1, custos.notifications.v1 (%d partitions each).\n"
               "  list:  kcat -b %s -L\n"
               "  tail:  kcat -b %s -t custos.audit.v1 -C\n"
               "Stop with Ctrl-C (SIGINT) or SIGTERM.\n",
               options.brokers, (*cluster)->bootstrap_servers().c_str(), options.partitions,
               (*cluster)->bootstrap_servers().c_str(), (*cluster)->bootstrap_servers().c_str());
  int received = 0;
  sigwait(&signals, &received);
  std::fprintf(stderr, "custos dev-kafka: %s, stopping\n",
               received == SIGINT ? "SIGINT" : "SIGTERM");
  return kExitOk;
}

}  // namespace custos::tools

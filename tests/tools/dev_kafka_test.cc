// custos dev-kafka: prints its bootstrap servers first, a real Kafka client (kcat) lists its
// brokers and topics, and SIGTERM stops it cleanly.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace custos::testing {
namespace {

TEST(DevKafkaTest, KcatListsItsBrokersAndStopsOnSigterm) {
  Child cluster({CUSTOS_BINARY, "dev-kafka", "--brokers", "3"});
  std::optional<std::string> bootstrap = cluster.ReadLine(std::chrono::seconds(30));
  ASSERT_TRUE(bootstrap.has_value()) << "dev-kafka printed no bootstrap servers";
  EXPECT_EQ(bootstrap->rfind("127.0.0.1:", 0), 0u) << *bootstrap;

  CommandResult list = RunCommand({"kcat", "-b", *bootstrap, "-L", "-m", "20"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(" 3 brokers:"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("topic \"custos.audit.v1\" with 4 partitions"), std::string::npos)
      << list.out;
  EXPECT_NE(list.out.find("topic \"custos.notifications.v1\""), std::string::npos);

  cluster.Kill(SIGTERM);
  std::optional<int> status = cluster.Wait(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value()) << "dev-kafka did not stop on SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

TEST(DevKafkaTest, RejectsABadBrokerCount) {
  CommandResult r = RunCommand({CUSTOS_BINARY, "dev-kafka", "--brokers", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--brokers must be an integer from 1 to 16"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace custos::testing

// A leader and a follower in one process, each the tools::Node that `custos serve` and `custos
// serve --follow` run, over real HTTP on loopback and the embedded Kafka dev cluster: the
// follower fetches the leader's keys over HTTP, applies its topic, serves the reads as the
// leader does, and redirects the rest (../shared/spec/REPLICATION.md).
#include <gtest/gtest.h>

#include "api/follower_gate.h"
#include "tests/api/api_fixture.h"

namespace custos::testing {
namespace {

class FollowerNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tools::NodeOptions leader;
    leader.data_dir = leader_dir_.path();
    leader.clock = &clock_;
    leader.password_hasher = &hasher_;
    leader.kafka = "embedded";
    leader.api.auth_rate_per_second = 1000;
    leader.api.auth_burst = 1000;
    auto l = tools::Node::Open(leader);
    ASSERT_TRUE(l.ok()) << l.error().message;
    leader_ = std::move(l).value();
    ASSERT_TRUE(leader_->Serve().ok());
    leader_url_ = "http://127.0.0.1:" + std::to_string(leader_->port());
    to_leader_ = std::make_unique<HttpClient>(leader_->port());
    StartFollower();
  }

  void StartFollower() {
    tools::NodeOptions follower;
    follower.leader_keys_refresh = std::chrono::seconds(1);
    follower.data_dir = follower_dir_.path();
    follower.clock = &clock_;
    follower.password_hasher = &hasher_;
    follower.follow = leader_->kafka_brokers();
    follower.leader = leader_url_;
    auto f = tools::Node::Open(follower);
    ASSERT_TRUE(f.ok()) << f.error().message;
    follower_ = std::move(f).value();
    ASSERT_TRUE(follower_->Serve().ok());
    to_follower_ = std::make_unique<HttpClient>(follower_->port());
  }

  std::string RootToken() {
    const api::RootClient& root = leader_->root();
    HttpReply r = to_leader_->Send("POST", "/oauth/token",
                                   {{"Content-Type", "application/x-www-form-urlencoded"}},
                                   "grant_type=client_credentials&client_id=" + root.client_id +
                                       "&client_secret=" + root.client_secret);
    EXPECT_EQ(r.status, 200) << r.body;
    return J(r.body).S("access_token");
  }

  // A GET on the follower once it has applied `seq` (Custos-Min-Seq).
  HttpReply FollowerGet(const std::string& target, const std::string& token, uint64_t seq) {
    return to_follower_->Json("GET", target, token, "", {{"Custos-Min-Seq", std::to_string(seq)}});
  }

  TempDir leader_dir_;
  TempDir follower_dir_;
  core::FakeClock clock_{core::FromUnixMillis(1795521600000)};
  storage::SodiumPasswordHasher hasher_{storage::SodiumPasswordHasher::Minimal()};
  std::unique_ptr<tools::Node> leader_;
  std::unique_ptr<tools::Node> follower_;
  std::string leader_url_;
  std::unique_ptr<HttpClient> to_leader_;
  std::unique_ptr<HttpClient> to_follower_;
};

TEST_F(FollowerNodeTest, AFollowerAnswersTheLeadersReadsAndSendsEverythingElseToIt) {
  const std::string root = RootToken();
  HttpReply made = to_leader_->Json("POST", "/v1/tenants", root, R"({"id":"acme","name":"Acme"})");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_FALSE(made.Header("custos-seq").empty());
  HttpReply user =
      to_leader_->Json("POST", "/v1/tenants/acme/users", root,
                       R"({"email":"ada@acme.test","first_name":"A","last_name":"L"})");
  ASSERT_EQ(user.status, 201) << user.body;
  const uint64_t seq = std::stoull(user.Header("custos-seq"));
  ASSERT_GT(seq, std::stoull(made.Header("custos-seq")));
  const std::string user_path = "/v1/tenants/acme/users/" + J(user.body).S("id");

  // Read-your-writes: the leader's root token, verified with the leader's JWKS.
  HttpReply read = FollowerGet(user_path, root, seq);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body, to_leader_->Json("GET", user_path, root).body);
  EXPECT_EQ(read.Header("etag"), to_leader_->Json("GET", user_path, root).Header("etag"));
  const std::string check = R"({"subject":{"type":"user","id":")" + J(user.body).S("id") +
                            R"("},"action":"iam.users.view","resource_id":"acme"})";
  HttpReply checked = to_follower_->Json("POST", "/v1/tenants/acme/access/check", root, check);
  EXPECT_EQ(checked.status,
            to_leader_->Json("POST", "/v1/tenants/acme/access/check", root, check).status);
  EXPECT_EQ(checked.body,
            to_leader_->Json("POST", "/v1/tenants/acme/access/check", root, check).body);
  HttpReply digest = FollowerGet("/v1/tenants/acme/digest", root, seq);
  ASSERT_EQ(digest.status, 200) << digest.body;
  EXPECT_EQ(digest.body, to_leader_->Json("GET", "/v1/tenants/acme/digest", root).body);

  // Writes, tokens, logins and exports go to the leader, body unread.
  HttpReply write = to_follower_->Json("POST", "/v1/tenants/acme/users?x=1", root, "{}");
  EXPECT_EQ(write.status, 307);
  EXPECT_EQ(write.Header("location"), leader_url_ + "/v1/tenants/acme/users?x=1");
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/oauth/token"},
                                                        {"POST", "/v1/tenants/acme/auth/login"},
                                                        {"DELETE", user_path},
                                                        {"GET", "/v1/tenants/acme/audit/export"},
                                                        {"GET", "/v1/tenants/acme/users:export"}}) {
    HttpReply r = to_follower_->Json(method, target, root);
    EXPECT_EQ(r.status, 307) << method << " " << target;
    EXPECT_EQ(r.Header("location"), leader_url_ + target);
  }
  EXPECT_EQ(to_leader_->Json("GET", user_path, root).status, 200);  // the DELETE never ran

  // Custos-Min-Seq: not a seq, or one the follower does not reach in time.
  EXPECT_EQ(to_follower_->Json("GET", user_path, root, "", {{"Custos-Min-Seq", "x1"}}).status, 400);
  // A caller without a token never waits (nor holds a waiting thread): 401 at once.
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_EQ(to_follower_->Json("GET", user_path, "", "", {{"Custos-Min-Seq", "999999999"}}).status,
            401);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::milliseconds(1500));
  HttpReply later = FollowerGet(user_path, root, seq + 1000);
  EXPECT_EQ(later.status, 503) << later.body;
  EXPECT_EQ(later.Header("retry-after"), "1");

  HttpReply ready = to_follower_->Send("GET", "/readyz");
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(J(ready.body).S("role"), "follower");
  EXPECT_GE(std::stoull(J(ready.body).S("applied_seq")), seq);
  EXPECT_EQ(J(ready.body).Size("halted_tenants"), 0u);
  EXPECT_EQ(J(to_leader_->Send("GET", "/readyz").body).S("role"), "leader");
  const std::string metrics = to_follower_->Send("GET", "/metrics").body;
  EXPECT_NE(metrics.find("custos_follower 1\n"), std::string::npos);
  // What the gate answered itself: the six redirects above, the one wait that ran out.
  EXPECT_NE(metrics.find("custos_follower_redirects_total 6\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("custos_follower_min_seq_timeouts_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("custos_follower_min_seq_refused_total 0\n"), std::string::npos);

  // A token revoked on the leader is refused here once the revocation is applied.
  HttpReply revoked = to_leader_->Send(
      "POST", "/oauth/revoke",
      {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", "Bearer " + root}},
      "token=" + root);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_TRUE(WaitUntil([&] { return to_follower_->Json("GET", user_path, root).status == 401; },
                        std::chrono::seconds(10)));
}

TEST_F(FollowerNodeTest, AFollowerRestartedWhileItsLeaderIsAwayKeepsVerifyingItsTokens) {
  const std::string root = RootToken();
  HttpReply made = to_leader_->Json("POST", "/v1/tenants", root, R"({"id":"acme","name":"Acme"})");
  ASSERT_EQ(made.status, 201) << made.body;
  const uint64_t seq = std::stoull(made.Header("custos-seq"));
  ASSERT_EQ(FollowerGet("/v1/tenants/acme", root, seq).status, 200);

  // The leader's HTTP goes away (its Kafka stays): the keys kept in the data dir serve.
  follower_.reset();
  leader_->server().Stop();
  StartFollower();
  HttpReply read = FollowerGet("/v1/tenants/acme", root, seq);
  EXPECT_EQ(read.status, 200) << read.body;
  // The data dir is a follower's: served as a leader it is refused (it would fork the chains).
  tools::NodeOptions as_leader;
  as_leader.data_dir = follower_dir_.path();
  as_leader.clock = &clock_;
  as_leader.password_hasher = &hasher_;
  follower_.reset();
  auto refused = tools::Node::Open(as_leader);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::Errc::kConflict);
  StartFollower();
  // An altered token is refused.
  std::string forged = root;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(to_follower_->Json("GET", "/v1/tenants/acme", forged).status, 401);
}

TEST_F(FollowerNodeTest, AKeyTheLeaderRevokesStopsVerifyingOnTheFollowerAndItsNewKeyStarts) {
  const std::string old_token = RootToken();
  HttpReply made =
      to_leader_->Json("POST", "/v1/tenants", old_token, R"({"id":"acme","name":"Acme"})");
  ASSERT_EQ(made.status, 201) << made.body;
  const uint64_t seq = std::stoull(made.Header("custos-seq"));
  ASSERT_EQ(FollowerGet("/v1/tenants/acme", old_token, seq).status, 200);  // verified, cached
  HttpReply rotated =
      to_leader_->Json("POST", "/v1/keys/rotate", old_token, R"({"kind":"jwt","revoke":true})");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_token = RootToken();
  EXPECT_TRUE(WaitUntil(
      [&] { return to_follower_->Json("GET", "/v1/tenants/acme", old_token).status == 401; },
      std::chrono::seconds(20)));
  EXPECT_TRUE(WaitUntil(
      [&] { return to_follower_->Json("GET", "/v1/tenants/acme", new_token).status == 200; },
      std::chrono::seconds(20)));
  // A target that is not a path is refused, never put after the leader's URL.
  const std::string raw = to_follower_->Raw(
      "POST @evil.example/x HTTP/1.1\r\nHost: f\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(raw.find("evil.example"), std::string::npos) << raw;
  EXPECT_NE(raw.rfind("HTTP/1.1 400", 0), std::string::npos) << raw;
}

TEST(FollowerGateTest, WritesTokensLoginsAndExportsGoToTheLeaderAndReadsStay) {
  auto req = [](std::string method, std::string path) {
    api::HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    return r;
  };
  using api::FollowerGate;
  EXPECT_FALSE(FollowerGate::GoesToLeader(req("GET", "/v1/tenants/acme/users")));
  EXPECT_FALSE(FollowerGate::GoesToLeader(req("GET", "/v1/tenants/acme/audit/events")));
  EXPECT_FALSE(FollowerGate::GoesToLeader(req("POST", "/v1/tenants/acme/access/check")));
  EXPECT_FALSE(FollowerGate::GoesToLeader(req("POST", "/v1/tenants/acme/access/check:batch")));
  EXPECT_FALSE(FollowerGate::GoesToLeader(req("GET", "/.well-known/jwks.json")));
  EXPECT_TRUE(FollowerGate::GoesToLeader(req("POST", "/v1/tenants/acme/users")));
  EXPECT_TRUE(FollowerGate::GoesToLeader(req("PATCH", "/v1/tenants/acme/users/u1")));
  EXPECT_TRUE(FollowerGate::GoesToLeader(req("POST", "/v1/tenants/access/check")));
  EXPECT_TRUE(FollowerGate::GoesToLeader(req("GET", "/oauth/anything")));
  EXPECT_TRUE(FollowerGate::GoesToLeader(req("GET", "/v1/tenants/acme/auth/me")));
  EXPECT_TRUE(FollowerGate::GoesToLeader(req("GET", "/v1/tenants/acme/audit/export")));
  EXPECT_TRUE(FollowerGate::GoesToLeader(req("GET", "/v1/tenants/acme/users:export")));
  EXPECT_TRUE(FollowerGate::GoesToLeader(req("OPTIONS", "/v1/tenants/acme/users")));
}

}  // namespace
}  // namespace custos::testing

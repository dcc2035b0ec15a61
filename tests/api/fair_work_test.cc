// No request's work runs on the threads that serve sockets (api/server.h, ../shared/spec/API.md):
// with one I/O thread, chain verifications, an export whose reader never reads, idempotent writes
// and logins run while other connections keep being answered; a full pool answers 503 with
// Retry-After instead of queueing without end.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "api/internal/call.h"
#include "tests/api/api_fixture.h"

namespace custos::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A connection that sends a request and never reads the answer.
class DeafReader {
 public:
  DeafReader(uint16_t port, const std::string& request) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      (void)::send(fd_, request.data(), request.size(), MSG_NOSIGNAL);
    }
  }
  ~DeafReader() { ::close(fd_); }

 private:
  int fd_ = -1;
};

class FairWorkTest : public ApiTest {
 protected:
  void SetUp() override {
    server_threads_ = 1;  // a handler that blocked would hold every connection
    ApiTest::SetUp();
  }

  // A trail long enough that verifying and exporting it take a while: `batches` × 200 events
  // (the fixture's body limit is 64 KiB).
  void Ingest(const std::string& token, int batches) {
    std::string batch = "{\"events\":[";
    for (int i = 0; i < 200; ++i) {
      batch += std::string(i ? "," : "") + "{\"type\":\"workflow.executed\",\"data\":{\"pad\":\"" +
               std::string(200, 'x') + "\"}}";
    }
    batch += "]}";
    for (int i = 0; i < batches; ++i) {
      ASSERT_EQ(client_->Json("POST", "/v1/tenants/acme/audit/events:batch", token, batch).status,
                201);
    }
  }

  // The slowest answer to cheap requests on another connection, asked until `running` is
  // false (and at least `n` times); `count` says how many.
  Clock::duration SlowestCheapAnswer(const std::string& token, int n,
                                     const std::function<bool()>& running, int* count) {
    Clock::duration slowest{};
    for (int i = 0; i < n || running(); ++i, ++*count) {
      const auto start = Clock::now();
      EXPECT_EQ(client_->Send("GET", "/healthz").status, 200);
      EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users?limit=5", token).status, 200);
      slowest = std::max(slowest, Clock::now() - start);
    }
    return slowest;
  }
};

TEST_F(FairWorkTest, HeavyWorkRunsOffTheConnectionThreads) {
  CreateTenant("acme");
  const std::string root = RootToken();
  Ingest(root, 300);
  // A reader that asks for the whole trail and takes nothing of it.
  DeafReader deaf(server_->port(),
                  "GET /v1/tenants/acme/audit/export HTTP/1.1\r\nHost: x\r\n"
                  "Authorization: Bearer " +
                      root + "\r\n\r\n");
  // Verifications, idempotent writes and logins, many at once.
  std::atomic<int> busy{0};
  std::atomic<int> done{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 6; ++t) {
    load.emplace_back([&, t] {
      HttpClient c(server_->port());
      // Heavy work may wait its turn for long on a slow build (ASan): its answer is what is
      // checked here, not how soon it comes.
      c.set_timeout(std::chrono::seconds(60));
      for (int i = 0; i < 4; ++i) {
        const int v = c.Json("GET", "/v1/tenants/acme/audit/verify", root).status;
        busy += v == 503;
        EXPECT_TRUE(v == 200 || v == 503) << v;
        const int w =
            c.Json("POST", "/v1/tenants/acme/audit/events", root, "{\"type\":\"workflow.started\"}",
                   {{"Idempotency-Key", "k" + std::to_string(t) + "-" + std::to_string(i)}})
                .status;
        EXPECT_TRUE(w == 201 || w == 503) << w;
        const int l = c.Json("POST", "/v1/tenants/acme/auth/login", "",
                             "{\"email\":\"nobody@example.com\",\"password\":\"guess\"}")
                          .status;
        EXPECT_TRUE(l == 401 || l == 503) << l;
      }
      ++done;
    });
  }
  int cheap = 0;
  const Clock::duration slowest = SlowestCheapAnswer(
      root, 20, [&] { return done.load() < 6; }, &cheap);
  for (std::thread& t : load) t.join();
  EXPECT_EQ(done.load(), 6);
  // A bound against a blocked I/O thread, not a speed test: each pair of cheap requests
  // answers within a second while the heavy work runs (a verify alone takes longer).
  EXPECT_LT(slowest, std::chrono::seconds(1));
  std::printf("slowest of %d cheap answers under heavy work: %lld ms; %d verifies refused 503\n",
              cheap,
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()),
              busy.load());
}

TEST_F(FairWorkTest, AFullPoolAnswers503WithRetryAfter) {
  Stop();
  api_options_.heavy_threads = 1;
  api_options_.heavy_queue = 1;
  Start();
  CreateTenant("acme");
  const std::string root = RootToken();
  Ingest(root, 150);
  // Many verifications at once on a pool of one thread and one queued job: the rest are 503.
  std::atomic<int> refused{0};
  std::atomic<int> with_retry_after{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 8; ++t) {
    load.emplace_back([&] {
      HttpClient c(server_->port());
      for (int i = 0; i < 5; ++i) {
        HttpReply r = c.Json("GET", "/v1/tenants/acme/audit/verify", root);
        if (r.status == 503) {
          ++refused;
          with_retry_after += !r.Header("retry-after").empty();
        }
      }
    });
  }
  for (std::thread& t : load) t.join();
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(with_retry_after.load(), refused.load());
}

// A one-thread pool held by a first job until Release, so that the order in which the jobs
// queued behind it run can be read.
class HeldPool {
 public:
  HeldPool(size_t max_queued, size_t per_owner) : pool_("test", 1, max_queued, per_owner) {
    EXPECT_TRUE(pool_.TrySubmit(
        [this] {
          std::unique_lock lock(mu_);
          started_ = true;
          cv_.notify_all();
          cv_.wait(lock, [&] { return released_; });
        },
        "ip:holder"));
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] { return started_; }));
  }
  ~HeldPool() { Release(0); }

  // Queues a job that records `what` when it runs.
  bool Submit(std::string what, const std::string& owner, bool back = false,
              api::internal::Lane lane = api::internal::Lane::kFront) {
    return pool_.TrySubmit(
        [this, what] {
          std::lock_guard lock(mu_);
          order_.push_back(what);
          cv_.notify_all();
        },
        owner, back ? api::internal::Lane::kBack : lane);
  }
  // Lets the jobs run; the order of the first n.
  std::vector<std::string> Release(size_t n) {
    std::unique_lock lock(mu_);
    released_ = true;
    cv_.notify_all();
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] { return order_.size() >= n; }));
    return order_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool released_ = false;
  std::vector<std::string> order_;
  api::internal::WorkPool pool_;  // last: its thread stops before the members it uses go
};

TEST(WorkPoolTest, TheBackLaneGoesOnlyWhenNobodyInFrontWaits) {
  HeldPool pool(16, 4);
  // The guesser queues first, in the back lane; the users after it, in front.
  ASSERT_TRUE(pool.Submit("guess 1", "ip:guesser", /*back=*/true));
  ASSERT_TRUE(pool.Submit("guess 2", "ip:guesser", /*back=*/true));
  ASSERT_TRUE(pool.Submit("user", "ip:user"));
  ASSERT_TRUE(pool.Submit("other user", "ip:other"));
  EXPECT_EQ(pool.Release(4),
            (std::vector<std::string>{"user", "other user", "guess 1", "guess 2"}));
}

TEST(WorkPoolTest, TheBackLaneIsSlowedNotStarvedAndHoldsAtMostHalfTheQueue) {
  HeldPool pool(8, 8);
  // A guesser with a job already waiting in front is still sent back for its next ones.
  ASSERT_TRUE(pool.Submit("guess in front", "ip:guesser"));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(pool.Submit("guess", "ip:guesser", /*back=*/true));
  EXPECT_FALSE(pool.Submit("guess", "ip:other-guesser", /*back=*/true))
      << "the back lane holds at most half the queue";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.Submit("user", "ip:user"));
  // Round robin in front; the back lane's turn comes at every fourth pick, and whenever
  // nobody in front waits.
  EXPECT_EQ(pool.Release(8), (std::vector<std::string>{"guess in front", "user", "user", "guess",
                                                       "user", "guess", "guess", "guess"}));
}

TEST(WorkPoolTest, NewSourcesWaitBehindKnownOnesAndAheadOfSpentOnes) {
  using api::internal::Lane;
  HeldPool pool(16, 4);
  ASSERT_TRUE(pool.Submit("spent", "ip:guesser", /*back=*/true));
  ASSERT_TRUE(pool.Submit("new", "ip:new", false, Lane::kNew));
  ASSERT_TRUE(pool.Submit("known", "ip:known"));
  EXPECT_EQ(pool.Release(3), (std::vector<std::string>{"known", "new", "spent"}));
}

TEST(WorkPoolTest, EveryFourthPickGoesALaneDownSoNoLaneStarves) {
  using api::internal::Lane;
  HeldPool pool(32, 4);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pool.Submit("known", "ip:known-" + std::to_string(i)));
    ASSERT_TRUE(pool.Submit("new", "ip:new-" + std::to_string(i), false, Lane::kNew));
  }
  ASSERT_TRUE(pool.Submit("spent", "ip:guesser", /*back=*/true));
  // Three in front, then the new lane's turn; below it, the spent one's turn comes at the
  // new lane's fourth pick (the one that took the front's turn counts).
  EXPECT_EQ(pool.Release(11),
            (std::vector<std::string>{"known", "known", "known", "new", "known", "known", "new",
                                      "new", "spent", "new", "new"}));
}

TEST(WorkPoolTest, AnOwnersShareCountsAcrossTheLanes) {
  using api::internal::Lane;
  HeldPool pool(32, 2);
  ASSERT_TRUE(pool.Submit("a", "ip:1"));
  ASSERT_TRUE(pool.Submit("b", "ip:1", false, Lane::kNew));
  EXPECT_FALSE(pool.Submit("c", "ip:1", /*back=*/true));
  EXPECT_TRUE(pool.Submit("d", "ip:2", /*back=*/true));
}

TEST(FrontLoginsTest, OneJobInFlightPerSource) {
  api::internal::FrontLogins gate;
  EXPECT_TRUE(gate.TryEnter("10.0.0.1"));
  EXPECT_FALSE(gate.TryEnter("10.0.0.1"));
  EXPECT_TRUE(gate.TryEnter("10.0.0.2"));
  gate.Leave("10.0.0.1");
  EXPECT_TRUE(gate.TryEnter("10.0.0.1"));
}

TEST(FrontLoginsTest, AKnownSourceHasAFewJobsInFlightAndNoMore) {
  api::internal::FrontLogins gate;
  const int limit = api::internal::FrontLogins::kKnownInFlight;
  for (int i = 0; i < limit; ++i) EXPECT_TRUE(gate.TryEnter("10.0.0.1", limit)) << i;
  EXPECT_FALSE(gate.TryEnter("10.0.0.1", limit));
  EXPECT_FALSE(gate.TryEnter("10.0.0.1")) << "nor one more as an unknown source";
  gate.Leave("10.0.0.1");
  EXPECT_TRUE(gate.TryEnter("10.0.0.1", limit));
  for (int i = 0; i < limit; ++i) gate.Leave("10.0.0.1");
  EXPECT_TRUE(gate.TryEnter("10.0.0.1")) << "all left: the count is gone";
}

// A revocation empties the cache; a verification that began before it (with the old keys) is
// not cached after it.
TEST(TokenCacheTest, AVerificationThatRacedAClearIsNotCached) {
  api::internal::TokenCache cache;
  auto claims = std::make_shared<api::TokenClaims>();
  const core::Time now = core::SystemClock().Now();
  claims->exp = now + std::chrono::hours(1);
  cache.Put("a", claims, cache.generation());
  EXPECT_NE(cache.Find("a", now), nullptr);
  const uint64_t before = cache.generation();  // read, then verified with the old keys …
  cache.Clear();                               // … while a key was revoked
  EXPECT_EQ(cache.Find("a", now), nullptr);
  cache.Put("b", claims, before);
  EXPECT_EQ(cache.Find("b", now), nullptr);
  cache.Put("b", claims, cache.generation());
  EXPECT_NE(cache.Find("b", now), nullptr);
}

TEST(KnownSourcesTest, ASourceIsKnownOnceItSucceededAndTheKnownStayKnownWhenFull) {
  api::internal::KnownSources known(std::chrono::hours(1), /*capacity=*/2);
  EXPECT_FALSE(known.Known("10.0.0.1"));
  known.Mark("10.0.0.1");
  known.Mark("10.0.0.2");
  known.Mark("10.0.0.3");  // full, and nothing has expired: not remembered
  EXPECT_TRUE(known.Known("10.0.0.1"));
  EXPECT_TRUE(known.Known("10.0.0.2"));
  EXPECT_FALSE(known.Known("10.0.0.3"));
  api::internal::KnownSources brief(std::chrono::seconds(0));
  brief.Mark("10.0.0.1");
  EXPECT_FALSE(brief.Known("10.0.0.1")) << "past its time to live";
}

TEST(RateLimiterTest, SpentSaysWhetherTheNextTakeWouldBeRefusedWithoutTaking) {
  api::internal::RateLimiter limiter(0.001, 2);
  EXPECT_FALSE(limiter.Spent("10.0.0.1"));  // never seen
  EXPECT_EQ(limiter.Take("10.0.0.1"), 0);
  EXPECT_FALSE(limiter.Spent("10.0.0.1"));
  EXPECT_FALSE(limiter.Spent("10.0.0.1"));  // looking takes nothing
  EXPECT_EQ(limiter.Take("10.0.0.1"), 0);
  EXPECT_TRUE(limiter.Spent("10.0.0.1"));
  EXPECT_NE(limiter.Take("10.0.0.1"), 0);
  EXPECT_FALSE(limiter.Spent("10.0.0.2"));
}

}  // namespace
}  // namespace custos::testing

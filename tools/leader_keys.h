// LeaderKeys: a follower's copy of its leader's token keys (../shared/spec/REPLICATION.md). The
// follower verifies the leader's JWTs itself, with the public keys the leader publishes: its
// issuer from /.well-known/openid-configuration, its keys from /.well-known/jwks.json. They are
// fetched at Open, again every `refresh` (a revoked key stops verifying here within it) and
// when a token names a kid not known (a rotation on the leader), at most once every `min_gap`.
// Each good fetch is kept in the data dir, so a follower restarted while its leader is away
// still verifies the tokens it did.
//
// Thread-safety: Open, Start and Stop from one thread; Poke and verifier() from any.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/jwt.h"
#include "core/result.h"
#include "storage/curl_poster.h"

namespace custos::tools {

struct LeaderKeysOptions {
  std::string leader;                  // the leader's base URL, http(s)://HOST:PORT
  std::string cache_file;              // where the last good fetch is kept
  std::string ca_file;                 // the leader's CA (HTTPS); empty: the system's
  std::vector<std::string> audiences;  // the leader's --token-audience values
  std::chrono::seconds refresh{60};
  std::chrono::seconds min_gap{5};
  // The GET (storage::FetchUrl by default).
  std::function<core::Result<storage::Fetched>(const std::string& url)> fetch;
};

class LeaderKeys {
 public:
  // The leader's keys, fetched now or, when the leader does not answer, read from the cache.
  [[nodiscard]] static core::Result<std::unique_ptr<LeaderKeys>> Open(LeaderKeysOptions options);
  ~LeaderKeys();
  LeaderKeys(const LeaderKeys&) = delete;
  LeaderKeys& operator=(const LeaderKeys&) = delete;

  // `changed`: called after a refresh that changed the keys (the Api forgets the tokens it
  // verified, so that a key the leader revoked stops at once). Before Start.
  void Start(std::function<void()> changed = {});
  void Stop();
  // Asks for a fetch (an unknown kid); never blocks. True when one starts now, false when the
  // last was less than min_gap ago (it comes after the gap).
  bool Poke();
  [[nodiscard]] api::TokenSigner& verifier() { return *verifier_; }
  // Fetches now; the keys are replaced when the leader answered well.
  [[nodiscard]] core::Status Refresh();

 private:
  struct Fetch {
    std::string issuer;
    std::string jwks;
  };
  explicit LeaderKeys(LeaderKeysOptions options);
  [[nodiscard]] core::Result<Fetch> FetchNow() const;
  void Run();

  LeaderKeysOptions options_;
  std::string issuer_;
  std::string jwks_;  // the last taken; by the refresh thread
  std::function<void()> changed_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                   // under mu_
  bool poked_ = false;                                  // under mu_
  std::chrono::steady_clock::time_point last_fetch_{};  // under mu_
  // Last: its hook calls Poke, so it goes first.
  std::unique_ptr<api::TokenSigner> verifier_;
};

}  // namespace custos::tools

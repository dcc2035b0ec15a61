// FollowerGate: what a follower (`custos serve --follow`, ../shared/spec/REPLICATION.md) does
// with a request before its Api sees it.
// - Writes, `/oauth/*`, `…/auth/*`, and the reads that write (the exports, recorded as
//   `audit.exported` / `user.exported`): 307 Temporary Redirect to the same target on the
//   leader, answered on the headers (a body is never read). Access checks are POSTs that read:
//   served here.
// - A tenant the follower halted (a line that did not follow its chain): 503, naming why; the
//   follower never answers for a tenant past a bad line.
// - `Custos-Min-Seq: SEQ`: the request waits until the follower has applied the leader's seq
//   SEQ for the path's tenant (Follower::WaitApplied), at most `min_seq_wait`, then 503 with
//   Retry-After. The waits run on a small pool of their own, bounded; a full pool is a 503.
//
// Thread-safety: Handle and Admit from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/api.h"
#include "api/http.h"
#include "projections/follower.h"

namespace custos::api {

struct FollowerGateOptions {
  std::string leader;  // the leader's base URL: http(s)://HOST:PORT, no trailing slash
  std::chrono::milliseconds min_seq_wait{2000};
  int wait_threads = 8;
  size_t wait_queue = 512;
};

// What the gate answered itself, since start.
struct FollowerGateStats {
  uint64_t redirects = 0;         // 307s to the leader
  uint64_t halted = 0;            // 503s for a halted tenant
  uint64_t min_seq_waits = 0;     // requests that waited for Custos-Min-Seq
  uint64_t min_seq_timeouts = 0;  // of those, 503s after the wait
  uint64_t min_seq_refused = 0;   // 503s for want of a place to wait
};

class FollowerGate {
 public:
  FollowerGate(Api& api, const projections::Follower& follower, FollowerGateOptions options);
  ~FollowerGate();
  FollowerGate(const FollowerGate&) = delete;
  FollowerGate& operator=(const FollowerGate&) = delete;

  void Handle(HttpRequest request, Responder respond);
  [[nodiscard]] Admission Admit(HttpRequest& head);

  [[nodiscard]] FollowerGateStats stats() const;

  // Whether a request goes to the leader (exposed for tests).
  [[nodiscard]] static bool GoesToLeader(const HttpRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::api

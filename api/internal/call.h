// What the route files share: the call being answered, the principal, the services, the
// route table, and helpers to run commands and answer. Private to api/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "api/api.h"
#include "api/problem.h"
#include "core/iam/access.h"
#include "core/iam/authority.h"
#include "core/json_writer.h"

namespace custos::api::internal {

struct Principal {
  enum class Kind { kRoot, kApiClient, kUser };
  Kind kind = Kind::kRoot;
  std::string tenant;  // empty for root
  std::string id;
  std::string jti;
  core::Time exp;
  int64_t session_epoch = 0;
  // Signed and unexpired, but not yet checked against its tenant's state (not loaded yet).
  bool unchecked = false;

  // The IAM subject; none for root.
  [[nodiscard]] std::optional<core::iam::Subject> Subject() const;
};

// Where a job waits in a WorkPool. kFront: callers known to be good (a principal, or a
// source address whose login succeeded lately). kNew: an unauthenticated source not known
// yet, one job at a time (FrontLogins). kBack: a source whose failed logins are spent.
enum class Lane { kFront, kNew, kBack };

// A few named threads for one kind of blocking work, off the I/O threads, with a bounded
// queue shared fairly: TrySubmit refuses once `max_queued` jobs wait, or once the job's owner
// (a principal, or a source address) has `per_owner` jobs waiting — so one caller's
// flood fills its own share, not everyone's (the caller answers 503) — and the threads take
// the owners' jobs round robin, so a caller with one job waits behind at most one job of each
// other caller in its lane. The lanes go in order — kFront, then kNew, then kBack — except
// that every fourth pick goes to the next lane down when it has work, so each is slowed, never
// starved. kNew and kBack together run on all threads but one, so a job in front never waits
// for a thread behind their work, and hold at most half the queue. Submit always queues: for the
// continuation of work already admitted (an answer to render after a write), which must not be
// refused half-way.
class WorkPool {
 public:
  WorkPool(std::string name, int threads, size_t max_queued, size_t per_owner);
  ~WorkPool();
  [[nodiscard]] bool TrySubmit(std::function<void()> job, const std::string& owner,
                               Lane lane = Lane::kFront);
  void Submit(std::function<void()> job);
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] size_t queued() const;

 private:
  static constexpr int kLanes = 3;
  static constexpr int kTurn = 4;  // every kTurn-th pick goes a lane down
  std::string name_;
  size_t max_queued_;
  size_t per_owner_;
  int max_behind_;  // threads kNew and kBack may hold at once
  void Enqueue(const std::string& key, std::function<void()> job, Lane lane);  // mu_ held
  bool Runnable(Lane lane) const;                                              // mu_ held
  std::optional<Lane> Pick();                                                  // mu_ held

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Jobs by owner key (the owner, marked with its lane when not in front).
  std::unordered_map<std::string, std::deque<std::function<void()>>> waiting_;
  std::deque<std::string> rings_[kLanes];  // owner keys with jobs waiting, in turn, per lane
  int picks_[kLanes - 1] = {};             // picks of a lane since the one below had a turn
  int running_behind_ = 0;                 // kNew and kBack jobs running
  size_t behind_queued_ = 0;               // kNew and kBack jobs waiting
  size_t queued_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// Verified tokens by their text, until they expire: a signature is checked once.
class TokenCache {
 public:
  [[nodiscard]] std::shared_ptr<const TokenClaims> Find(const std::string& token, core::Time now);
  // What Put needs: read it before verifying, so that a verification that raced a Clear (a
  // revoked key) is not cached after it.
  [[nodiscard]] uint64_t generation() const { return generation_.load(); }
  void Put(const std::string& token, std::shared_ptr<const TokenClaims> claims,
           uint64_t generation);
  // Forgets every token (their keys changed: each is verified again on its next use).
  void Clear();

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxPerShard = 8192;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<const TokenClaims>> tokens;
  };
  Shard shards_[kShards];
  std::atomic<uint64_t> generation_{0};
};

// Token buckets per source address (429 when empty).
// Token buckets by key, in bounded memory that volume cannot reset: at `capacity` keys, the
// buckets that have filled up again (they remember nothing) are dropped, at most once a
// second; if that frees nothing, a new key shares one of a fixed set of overflow buckets (by
// hash) — stricter for the newcomers, never a reset for the keys already limited.
class RateLimiter {
 public:
  RateLimiter(double per_second, double burst, size_t capacity = 100'000)
      : rate_(per_second), burst_(burst), capacity_(capacity) {}
  // 0 if allowed, else the seconds to wait.
  [[nodiscard]] int Take(const std::string& key);
  // Whether the key's bucket is empty now (nothing would be allowed), without taking.
  [[nodiscard]] bool Spent(const std::string& key) const;
  // Keys tracked one by one (for tests).
  [[nodiscard]] size_t size() const;

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  int TakeFrom(Bucket& b, std::chrono::steady_clock::time_point now) const;
  static constexpr size_t kOverflow = 4096;
  double rate_;
  double burst_;
  size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::vector<Bucket> overflow_;  // made at the first overflow
  std::chrono::steady_clock::time_point last_sweep_{};
};

// Failed logins for unknown emails, counted per (tenant, source address) over a minute and
// recorded as one auth.login_failed event with data.count (../shared/spec/API.md Authentication): a
// flood of them grows a tenant's trail by at most one event a minute per address. Failed client
// authentications (a known client, a wrong secret or an inactive client) are tallied the
// same way per (tenant, address, client), and recorded with the client as the target. A
// tally not yet recorded is lost if the process stops (it acknowledged nothing).
class FailedLoginTally {
 public:
  static constexpr std::chrono::seconds kWindow{60};
  struct Window {
    std::string tenant;
    std::string ip;
    std::string email;       // the first one tried, capped ("" for a client)
    std::string client_id;   // the client that failed to authenticate ("" for a login)
    std::string reason;      // a client's: bad_secret or inactive_client; an SSO refusal's
    std::string sso_issuer;  // a refused single sign-on's provider ("" otherwise)
    std::string request_id;
    std::string user_agent;
    uint64_t count = 0;
    core::Time since;
  };
  void Count(const std::string& tenant, const std::string& ip, std::string_view email,
             const std::string& request_id, const std::string& user_agent, core::Time now);
  void CountClient(const std::string& tenant, const std::string& ip, const std::string& client_id,
                   std::string_view reason, const std::string& request_id,
                   const std::string& user_agent, core::Time now);
  // A single sign-on refused before any ID token (a made-up state, an unlisted redirect): true
  // when this opens the (tenant, address, reason) window, and the caller records this one at
  // once; the window's later ones are tallied into one event when it closes.
  [[nodiscard]] bool CountSso(const std::string& tenant, const std::string& ip,
                              const std::string& issuer, std::string_view reason,
                              const std::string& request_id, const std::string& user_agent,
                              core::Time now);
  // The windows opened at least kWindow before `now` (all with `all`), taken out.
  [[nodiscard]] std::vector<Window> TakeDue(core::Time now, bool all);

 private:
  static constexpr size_t kMaxWindows = 100'000;  // beyond: one window per tenant
  Window& Open(std::string tenant, std::string ip, std::string client_id, core::Time now,
               bool* opened);
  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, Window> windows_;
};

// The login pool's jobs in flight per source address. An address not known yet has at most
// one (kNew lane): its free failures (failing_sources) come one after another, never a burst
// of parallel hashes, and a guesser is sent back after exactly its budget of failures. A known
// address (an office behind one NAT) has up to kKnownInFlight in front: an account holder
// guessing others' passwords from it cannot fill the front lane before its failures count.
// An unknown source's jobs past its one wait in kBack; a known source's in kNew. Bounded by the
// jobs the pool holds (every count is one admitted job).
class FrontLogins {
 public:
  static constexpr int kKnownInFlight = 4;
  // Whether `source` had fewer than `limit` jobs in flight; if so it has one more, until Leave.
  [[nodiscard]] bool TryEnter(const std::string& source, int limit = 1);
  void Leave(const std::string& source);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, int> in_flight_;
};

// Source addresses from which a login or a client's token request succeeded within `ttl`:
// their unauthenticated jobs wait in the login pool's front lane, ahead of addresses never
// seen to succeed. At `capacity` the expired ones are dropped (at most once a minute); if none
// has, a new address is not remembered (the ones known stay known).
class KnownSources {
 public:
  explicit KnownSources(std::chrono::seconds ttl, size_t capacity = 100'000)
      : ttl_(ttl), capacity_(capacity) {}
  void Mark(const std::string& source);
  [[nodiscard]] bool Known(const std::string& source) const;

 private:
  std::chrono::seconds ttl_;
  size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_success_;
  std::chrono::steady_clock::time_point last_sweep_{};
};

// Values handed out for a few minutes and then forgotten: MFA tokens awaiting a login's second
// step (by their SHA-256), enrolments awaiting their confirming code (by tenant and user). In
// memory only — after a restart the step is asked for again — and bounded: when full, the
// expired go first, then the entry that expires soonest.
class OneTimeValues {
 public:
  explicit OneTimeValues(size_t capacity = 100'000, size_t per_owner = 5)
      : capacity_(capacity), per_owner_(per_owner) {}
  // `owner` (a tenant and user) holds at most `per_owner` values: its oldest goes first, so
  // nobody's logins push out anyone else's until the whole store is full.
  void Put(const std::string& key, std::string value, core::Time now, core::Time expires,
           const std::string& owner = "");
  // The value, removed (so used once); nullopt when unknown or expired.
  [[nodiscard]] std::optional<std::string> Take(const std::string& key, core::Time now);
  [[nodiscard]] std::optional<std::string> Find(const std::string& key, core::Time now) const;
  void Erase(const std::string& key);

 private:
  size_t capacity_;
  size_t per_owner_;
  mutable std::mutex mu_;
  struct Entry {
    std::string value;
    core::Time expires;
    std::string owner;
  };
  void EraseLocked(std::map<std::string, Entry>::iterator it);
  std::map<std::string, Entry> values_;
  std::map<std::string, std::deque<std::string>> owners_;  // owner → its keys, oldest first
};

// What every route shares: the dependencies, the pools, limiters and caches.
// Thread-safety: shared by every I/O and pool thread; each member is safe to use from any
// thread (the pools, limiters, caches and tally lock inside; deps say their own rules).
// One access line (ApiOptions::access_log) at info.
void LogAccess(const HttpRequest& req, const std::string& route, int status, double seconds,
               const std::string& tenant, const std::string& trace_id);

struct Services {
  ApiDeps deps;
  ApiOptions options;
  TokenCache token_cache;
  RateLimiter auth_limiter;   // /oauth/token, logins, acceptance: per source address
  RateLimiter login_limiter;  // logins per (tenant, email)
  // Failed logins per source address: a source that spent it waits in the login pool's back
  // lane, behind every source whose logins succeed (a password guesser's hashes do not
  // delay the users who know theirs).
  RateLimiter failing_sources;
  FrontLogins front_logins;
  KnownSources known_sources{std::chrono::hours(24 * 7)};
  FailedLoginTally failed_logins;
  OneTimeValues mfa_tokens;      // SHA-256 of an MFA token → tenant \0 user \0 session epoch
  OneTimeValues mfa_enrolments;  // tenant \0 user → the TOTP key awaiting its first code
  // SHA-256 of a single sign-on `state` → the login's nonce, PKCE verifier, redirect and
  // browser binding (routes_sso.cc); at most 100 pending per source address.
  OneTimeValues sso_states{100'000, 100};
  OidcClient oidc{deps.sso_http};
  // Single sign-on starts and callbacks in flight per tenant (their outbound calls, all made
  // within the handler): a provider that answers slowly holds at most kSsoPerTenant of the
  // outbound pool's threads.
  FrontLogins sso_in_flight;
  static constexpr int kSsoPerTenant = 2;
  // The pools of Work (router.h): logins apart from the rest. Last, so that they stop (and run
  // what they still hold) before anything their jobs use goes.
  WorkPool login_pool;
  WorkPool heavy_pool;
  WorkPool index_pool;
  WorkPool store_pool;
  WorkPool outbound_pool;

  Services(ApiDeps d, ApiOptions o)
      : deps(std::move(d)),
        options(o),
        auth_limiter(o.auth_rate_per_second, o.auth_burst),
        login_limiter(o.login_rate_per_second, o.login_burst),
        failing_sources(o.failing_source_rate_per_second, o.failing_source_burst),
        login_pool("login", o.login_threads, o.login_queue, o.per_caller_queue),
        heavy_pool("heavy", o.heavy_threads, o.heavy_queue, o.per_caller_queue),
        index_pool("index", o.index_threads, o.index_queue, o.per_caller_queue * 2),
        store_pool("store", o.store_threads, o.store_queue, o.per_caller_queue * 8),
        outbound_pool("outbound", o.outbound_threads, o.outbound_queue, o.per_caller_queue) {}
  projections::Credentials& credentials() { return deps.credentials; }
  projections::IdentityService& identity() { return deps.identity; }
  const core::Clock& clock() { return deps.clock; }
  // The pool of a kind of work; nullptr for kInline.
  WorkPool* PoolFor(Work work);
};

// One request on its way through a route: made on the connection's thread, then handed (as a
// shared CallPtr) to a pool thread and to the log's commit thread in turn.
// Thread-safety: one thread at a time works on it — each hand-off happens-before the next
// step — except Reply, which may be called from any thread and answers once (an atomic flag).
class Call {
 public:
  // Whose work this is, for the pools' fair shares: the principal, else the source address.
  [[nodiscard]] std::string Owner() const {
    return principal ? principal->tenant + "/" + principal->id : "ip:" + req.remote_ip;
  }

  Call(HttpRequest r, Responder respond, Services& services)
      : req(std::move(r)), services_(services), respond_(std::move(respond)) {}

  HttpRequest req;
  PathParams params;
  std::optional<Principal> principal;
  const RouteSpec* route = nullptr;
  size_t metrics_id = 0;  // the route's id in Metrics (unmatched requests: the last)
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  // The W3C traceparent's trace-id (core::TraceIdOf), kept on the events this request writes.
  std::string trace_id;

  [[nodiscard]] Services& services() { return services_; }
  [[nodiscard]] std::string Param(std::string_view name) const;
  [[nodiscard]] core::TenantId Tenant() const { return core::TenantId(Param("tenant")); }
  // The matched route's pattern, or the path of a request that matched none.
  [[nodiscard]] const std::string& RouteName() const {
    return route != nullptr ? route->pattern : req.path;
  }
  [[nodiscard]] core::Actor Actor() const;
  [[nodiscard]] bool IsRoot() const {
    return principal && principal->kind == Principal::Kind::kRoot;
  }

  // If-Match as a version; an error for a malformed header.
  [[nodiscard]] core::Result<std::optional<int64_t>> IfMatch() const;

  // What the request appended: its answer says the last seq in Custos-Seq (a follower asked
  // with Custos-Min-Seq waits for it).
  void Wrote(uint64_t seq) { wrote_seq_.store(seq); }
  void Wrote(const std::vector<core::AppendedEvent>& events) {
    if (!events.empty()) Wrote(events.back().seq.value());
  }
  void Reply(HttpResponse response);
  // The error's problem answer; a 5xx is logged with its detail and the request id.
  void Fail(const core::Error& error);
  void Json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    Reply(std::move(r));
  }

 private:
  Services& services_;
  Responder respond_;
  std::atomic<bool> answered_{false};
  std::atomic<uint64_t> wrote_seq_{0};
};

using CallPtr = std::shared_ptr<Call>;
using RouteHandler = std::function<void(const CallPtr&)>;

struct RouteTable {
  Router router;
  std::vector<RouteHandler> handlers;
  void Add(RouteSpec spec, RouteHandler handler) {
    router.Add(std::move(spec));
    handlers.push_back(std::move(handler));
  }
};

// Renders the answer to a successful command, under the tenant's read lock.
using Render = std::function<HttpResponse(const core::iam::TenantState& state,
                                          const projections::ExecuteResult& result)>;

// Whether AuthenticateBearer may load the token's tenant to check it is still live: on a
// pool thread it may; on a connection's thread (kIfLoaded) a tenant not in memory yet is left
// unchecked (Principal::unchecked) for the caller to hand the request to a pool.
enum class Liveness : uint8_t { kCheck, kIfLoaded };

// The principal of a bearer token (Authorization: Bearer), checked against current state:
// kUnauthenticated for a bad, expired or revoked token or an ended session; the state's own
// error (kUnavailable while the tenant recovers, kCorruption) when it cannot be read.
[[nodiscard]] core::Result<Principal> AuthenticateBearer(Services& services, const HttpRequest& req,
                                                         Liveness liveness = Liveness::kCheck);

// The answer to AuthenticateBearer's error: 401 for a bad credential, the error's own status
// otherwise.
[[nodiscard]] HttpResponse NotAuthenticated(const core::Error& error);

// Runs `command` for the call's tenant as its principal (with If-Match and
// Idempotency-Key), then answers with `render`, or with the error.
void Execute(const CallPtr& call, core::iam::Command command, Render render);
// The same for an explicit tenant (routes without {tenant}).
void ExecuteFor(const CallPtr& call, const core::TenantId& tenant, core::iam::Command command,
                Render render);

// Idempotency-Key (POST only): the stored key and the request's hash, empty when none.
struct Idempotency {
  std::string key;
  std::string request_hash;
};
// True when the call is answered already: a replay of the first answer, or a bad key. Reads
// the store: call it from a pool (WithIdempotency does).
[[nodiscard]] bool ReplayIdempotent(const CallPtr& call, Idempotency& idem);
// Keeps a successful answer for replays of the same key (24 h), with a synced write: from a
// pool (AfterWrite does).
void RememberIdempotent(const CallPtr& call, const Idempotency& idem, const HttpResponse& response);
// Runs proceed(idem) for the call: at once when it carries no Idempotency-Key (or its route
// ignores it); else on the store pool, after looking for the first answer (a replay answers
// and proceed never runs) — 503 when that pool is full.
void WithIdempotency(const CallPtr& call, std::function<void(const Idempotency&)> proceed);
// Runs the answer to a write once it is durable: on the store pool when it is to be kept for
// replays, on the route's pool when it has one, else on the call's connection (never on the
// log's commit thread).
void AfterWrite(const CallPtr& call, const Idempotency& idem, std::function<void()> work);
// Runs work on the call's connection (after an fsync, off the log's commit thread).
void OnCallStrand(const CallPtr& call, std::function<void()> work);
// True when the call's handler runs on a pool (its route's Work is not inline).
[[nodiscard]] bool OnPool(const CallPtr& call);

// A GET: runs fn(state) under the tenant's read lock and answers with its result.
void ReadTenant(const CallPtr& call,
                const std::function<core::Result<HttpResponse>(const core::iam::TenantState&)>& fn);

// Checks `action` on `target` for the call's principal (root may do anything).
[[nodiscard]] core::Status Authorize(const CallPtr& call, const core::iam::TenantState& state,
                                     std::string_view action,
                                     const core::iam::AccessTarget& target);

// 204 No Content.
[[nodiscard]] HttpResponse NoContent();
// Takes one of the source address's tokens for credential checks; false (answered 429 with
// Retry-After) past the limit.
[[nodiscard]] bool TakeSourceToken(const CallPtr& call);
// The key a source address is limited by: the address, or an IPv6 address's /64.
[[nodiscard]] std::string SourceKey(const std::string& ip);
// 503 with Retry-After: the pool's queue is full.
[[nodiscard]] HttpResponse Busy(const WorkPool& pool);

// Appends to a JSON object text `"<name>"`: the decision's one-time secret, or null when it
// went by notification alone (or is a replay), and `"credential_delivery"`
// (../shared/spec/ACCESS.md rule 4).
[[nodiscard]] std::string WithCredential(std::string body, std::string_view name,
                                         const core::iam::Decision& decision);

// An HTTP response with a JSON body, an ETag of `version`, and optionally a Location.
[[nodiscard]] HttpResponse JsonResponse(int status, std::string body,
                                        std::optional<int64_t> version = std::nullopt,
                                        std::string location = {});

// A list page stops early, with a next_cursor, once its body passes this (../shared/spec/API.md).
inline constexpr size_t kPageBytes = size_t{4} << 20;

// Pagination: ?limit= (1..1000, default 50) and ?cursor= (opaque).
struct Page {
  size_t limit = 50;
  std::optional<std::string> after;  // the sort key of the last item already returned
  size_t max_bytes = kPageBytes;     // the body's size past which the page ends early
};
[[nodiscard]] core::Result<Page> ReadPage(const HttpRequest& req);
[[nodiscard]] std::string EncodeCursor(std::string_view key);

// Writes {"items":[…],"next_cursor":…} for items sorted by key (ascending), from after the
// page's cursor, up to the page's limit or kPageBytes. `write` appends one item.
template <class T>
std::string PageJson(const std::vector<std::pair<std::string, const T*>>& sorted, const Page& page,
                     const std::function<void(core::JsonWriter&, const T&)>& write) {
  size_t begin = 0;
  if (page.after) {
    begin = static_cast<size_t>(std::upper_bound(sorted.begin(), sorted.end(), *page.after,
                                                 [](const std::string& key, const auto& item) {
                                                   return key < item.first;
                                                 }) -
                                sorted.begin());
  }
  core::JsonWriter w;
  w.BeginObject().Key("items").BeginArray();
  size_t end = std::min(sorted.size(), begin + page.limit);
  for (size_t i = begin; i < end; ++i) {
    write(w, *sorted[i].second);
    if (w.str().size() > page.max_bytes) {
      end = i + 1;
      break;
    }
  }
  w.EndArray().Key("next_cursor");
  if (end < sorted.size() && end > begin) {
    w.String(EncodeCursor(sorted[end - 1].first));
  } else {
    w.Null();
  }
  w.EndObject();
  return w.Take();
}

// A sort key that orders as the value does, then by id: text fields lowercased, times as
// RFC 3339; `descending` inverts the order of the value part.
[[nodiscard]] std::string SortKey(std::string value, std::string_view id, bool descending);
// ?name=<RFC 3339 time>: absent → nullopt; not a time → 422 naming it.
[[nodiscard]] core::Result<std::optional<core::Time>> TimeQuery(const HttpRequest& req,
                                                                std::string_view name);

// A role at a scope as a request sends it: the scope defaults to the root.
struct GrantBody {
  std::string role_id;
  std::optional<std::string> scope;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("role_id", s.role_id);
    v("scope", s.scope);
  }
};
[[nodiscard]] std::vector<core::iam::Grant> ToGrants(
    const std::optional<std::vector<GrantBody>>& in);

void AddServiceRoutes(RouteTable& t, Services& s);
void AddAuthRoutes(RouteTable& t, Services& s);
void AddTenantRoutes(RouteTable& t, Services& s);
void AddUserRoutes(RouteTable& t, Services& s);
void AddRoleRoutes(RouteTable& t, Services& s);
void AddGroupRoutes(RouteTable& t, Services& s);
void AddClientRoutes(RouteTable& t, Services& s);
void AddInvitationRoutes(RouteTable& t, Services& s);
void AddTreeRoutes(RouteTable& t, Services& s);
void AddAuditRoutes(RouteTable& t, Services& s);
void AddConsoleRoutes(RouteTable& t, Services& s);
void AddMfaRoutes(RouteTable& t, Services& s);
void AddSsoRoutes(RouteTable& t, Services& s);

// Shared by the login routes (routes_auth.cc, routes_mfa.cc).
[[nodiscard]] std::string NewJti(core::Random& random);
// An access token's answer. `must_enroll_mfa`: the tenant requires a second factor the user
// has not enrolled; until it does, only the login-only routes answer (core/iam/mfa.h).
[[nodiscard]] HttpResponse TokenResponse(const std::string& token, int64_t expires_in,
                                         std::optional<bool> must_change,
                                         bool must_enroll_mfa = false);
// Marks an answer that carries a credential as never to be cached (RFC 6749 §5.1).
[[nodiscard]] HttpResponse NoStore(HttpResponse r);
// A user's access token, as a login completes.
[[nodiscard]] std::string SignUserToken(Services& s, const std::string& tenant,
                                        const std::string& user_id, bool must_change_password,
                                        int ttl_seconds, int64_t session_epoch, core::Time now);
// A login whose password was right for a user with a second factor: no token yet, an MFA
// token (single use, 5 minutes) for POST …/auth/mfa instead.
[[nodiscard]] HttpResponse MfaChallenge(Services& s, const std::string& tenant,
                                        const std::string& user_id, int64_t session_epoch,
                                        core::Time now);
// The MFA token itself (MfaChallenge's, and a single sign-on's for a user with a second
// factor), and how long it lives.
[[nodiscard]] std::string NewMfaToken(Services& s, const std::string& tenant,
                                      const std::string& user_id, int64_t session_epoch,
                                      core::Time now);
inline constexpr std::chrono::seconds kMfaTokenTtl{300};

}  // namespace custos::api::internal

#include "api/follower_gate.h"

#include <atomic>
#include <charconv>

#include "api/internal/call.h"
#include "api/problem.h"

namespace custos::api {
namespace {

constexpr std::string_view kTenants = "/v1/tenants/";

// A path under /v1/tenants/{tenant}: the tenant, and what follows it ("" for the tenant
// itself); both empty for any other path.
struct TenantPath {
  std::string_view tenant;
  std::string_view rest;
};
TenantPath SplitTenantPath(std::string_view path) {
  if (path.substr(0, kTenants.size()) != kTenants) return {};
  path.remove_prefix(kTenants.size());
  const size_t slash = path.find('/');
  if (slash == std::string_view::npos) return {path, {}};
  return {path.substr(0, slash), path.substr(slash)};
}

}  // namespace

bool FollowerGate::GoesToLeader(const HttpRequest& request) {
  const std::string_view path = request.path;
  if (path.rfind("/oauth/", 0) == 0) return true;
  const std::string_view rest = SplitTenantPath(path).rest;
  if (rest.rfind("/auth/", 0) == 0) return true;
  if (request.method == "GET" || request.method == "HEAD") {
    // Reads that write: an export is recorded before its first byte.
    return rest == "/audit/export" || rest == "/users:export";
  }
  // POSTs that only read.
  return !(request.method == "POST" && (rest == "/access/check" || rest == "/access/check:batch"));
}

struct FollowerGate::Impl {
  Api& api;
  const projections::Follower& follower;
  FollowerGateOptions options;
  internal::WorkPool waits;
  std::atomic<uint64_t> redirects{0};
  std::atomic<uint64_t> halted{0};
  std::atomic<uint64_t> min_seq_waits{0};
  std::atomic<uint64_t> min_seq_timeouts{0};
  std::atomic<uint64_t> min_seq_refused{0};

  Impl(Api& a, const projections::Follower& f, FollowerGateOptions o)
      : api(a),
        follower(f),
        options(std::move(o)),
        waits("min-seq", options.wait_threads, options.wait_queue, 16) {}

  [[nodiscard]] HttpResponse Redirect(const HttpRequest& request) {
    redirects.fetch_add(1, std::memory_order_relaxed);
    HttpResponse r;
    r.status = 307;
    const std::string location = options.leader + request.target;
    r.Header("Location", location);
    r.body = "{\"leader\":\"" + options.leader + "\"}";
    return r;
  }
};

FollowerGate::FollowerGate(Api& api, const projections::Follower& follower,
                           FollowerGateOptions options)
    : impl_(std::make_unique<Impl>(api, follower, std::move(options))) {
  while (!impl_->options.leader.empty() && impl_->options.leader.back() == '/') {
    impl_->options.leader.pop_back();
  }
}

FollowerGate::~FollowerGate() = default;

namespace {

// A target the leader's URL can be put before: one path from its root ("@evil/x" or "//evil/x"
// would make Location name another host).
bool RedirectableTarget(std::string_view target) {
  return !target.empty() && target[0] == '/' && (target.size() == 1 || target[1] != '/');
}

}  // namespace

Admission FollowerGate::Admit(HttpRequest& head) {
  if (!RedirectableTarget(head.target)) {
    return Admission{0, Problem(400, "the request target must be a path")};
  }
  if (GoesToLeader(head)) return Admission{0, impl_->Redirect(head)};
  return impl_->api.Admit(head);
}

void FollowerGate::Handle(HttpRequest request, Responder respond) {
  Impl& g = *impl_;
  if (!RedirectableTarget(request.target)) {
    return respond(Problem(400, "the request target must be a path"));
  }
  if (GoesToLeader(request)) return respond(g.Redirect(request));
  const core::TenantId tenant{std::string(SplitTenantPath(request.path).tenant)};
  std::optional<std::string> halted;
  if (!tenant.value().empty()) halted = g.follower.HaltedWhy(tenant);
  const std::optional<std::string_view> min_seq = request.Header("custos-min-seq");
  if (!halted && !min_seq) return g.api.Handle(std::move(request), std::move(respond));
  // Only a caller the route would take learns of a halt, or waits: the Api's admission checks
  // the route and the credentials on the headers (no route, or a bad token, is its answer).
  Admission admitted = g.api.Admit(request);
  if (admitted.answer) return respond(std::move(*admitted.answer));
  if (halted) {
    g.halted.fetch_add(1, std::memory_order_relaxed);
    return respond(Problem(503, "this follower stopped applying tenant " + tenant.value() + " (" +
                                    *halted + "); the leader serves it"));
  }
  uint64_t seq = 0;
  const auto [end, ec] = std::from_chars(min_seq->data(), min_seq->data() + min_seq->size(), seq);
  if (ec != std::errc() || end != min_seq->data() + min_seq->size() || min_seq->empty()) {
    return respond(
        Problem(core::InvalidArgument("Custos-Min-Seq must be a seq (digits), such as 42")));
  }
  if (g.follower.WaitApplied(tenant, seq, std::chrono::milliseconds(0)).ok()) {
    return g.api.Handle(std::move(request), std::move(respond));
  }
  // Fair shares by credential (the pool takes its callers in turn); the public routes' by
  // address.
  const std::optional<std::string_view> credential = request.Header("authorization");
  const std::string owner =
      credential ? "auth:" + std::to_string(std::hash<std::string_view>{}(*credential))
                 : "ip:" + request.remote_ip;
  auto shared =
      std::make_shared<std::pair<HttpRequest, Responder>>(std::move(request), std::move(respond));
  const bool queued = g.waits.TrySubmit(
      [&g, tenant, seq, shared] {
        if (core::Status s = g.follower.WaitApplied(tenant, seq, g.options.min_seq_wait); !s.ok()) {
          g.min_seq_timeouts.fetch_add(1, std::memory_order_relaxed);
          return shared->second(Problem(core::Unavailable(
              s.error().message + " (Custos-Min-Seq); retry, or read from the leader")));
        }
        g.api.Handle(std::move(shared->first), std::move(shared->second));
      },
      owner);
  if (queued) {
    g.min_seq_waits.fetch_add(1, std::memory_order_relaxed);
  } else {
    g.min_seq_refused.fetch_add(1, std::memory_order_relaxed);
    shared->second(Problem(core::Unavailable(
        "too many requests wait for Custos-Min-Seq on this follower; retry shortly")));
  }
}

FollowerGateStats FollowerGate::stats() const {
  const Impl& g = *impl_;
  FollowerGateStats s;
  s.redirects = g.redirects.load(std::memory_order_relaxed);
  s.halted = g.halted.load(std::memory_order_relaxed);
  s.min_seq_waits = g.min_seq_waits.load(std::memory_order_relaxed);
  s.min_seq_timeouts = g.min_seq_timeouts.load(std::memory_order_relaxed);
  s.min_seq_refused = g.min_seq_refused.load(std::memory_order_relaxed);
  return s;
}

}  // namespace custos::api

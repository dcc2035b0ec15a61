#include "api/api.h"

#include <pthread.h>

#include <algorithm>
#include <charconv>

#include "api/internal/call.h"
#include "core/base64.h"
#include "core/fields.h"
#include "core/hex.h"
#include "core/iam/credentials.h"
#include "core/iam/mfa.h"
#include "core/log.h"
#include "core/sha256.h"

namespace custos::api {
namespace internal {

// ---- small pieces ----

std::vector<core::iam::Grant> ToGrants(const std::optional<std::vector<GrantBody>>& in) {
  std::vector<core::iam::Grant> out;
  if (!in) return out;
  for (const GrantBody& g : *in) {
    out.push_back(core::iam::Grant{g.role_id, g.scope.value_or(std::string(core::iam::kRootNode))});
  }
  return out;
}

std::optional<core::iam::Subject> Principal::Subject() const {
  switch (kind) {
    case Kind::kRoot:
      return std::nullopt;
    case Kind::kApiClient:
      return core::iam::Subject{core::iam::SubjectType::kApiClient, id};
    case Kind::kUser:
      return core::iam::Subject{core::iam::SubjectType::kUser, id};
  }
  return std::nullopt;
}

std::string Call::Param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return "";
}

core::Actor Call::Actor() const {
  core::Actor a;
  if (!principal) {
    a.type = "system";
    a.id = "anonymous";
    a.name = "anonymous";
  } else {
    switch (principal->kind) {
      case Principal::Kind::kRoot:
        a.type = "root";
        a.name = "root";  // the others' names come from the tenant's state
        break;
      case Principal::Kind::kApiClient:
        a.type = "api_client";
        break;
      case Principal::Kind::kUser:
        a.type = "user";
        break;
    }
    a.id = principal->id;
  }
  a.ip = req.remote_ip;
  if (std::optional<std::string_view> ua = req.Header("user-agent")) {
    a.user_agent = std::string(ua->substr(0, 256));
  }
  return a;
}

core::Result<std::optional<int64_t>> Call::IfMatch() const {
  std::optional<std::string_view> h = req.Header("if-match");
  if (!h) return std::optional<int64_t>();
  std::string_view v = *h;
  if (v.starts_with("W/")) v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  int64_t version = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
  if (ec != std::errc() || ptr != v.data() + v.size() || version < 1) {
    return core::InvalidArgument("If-Match must be an ETag this server gave, such as \"3\"");
  }
  return std::optional<int64_t>(version);
}

void LogAccess(const HttpRequest& req, const std::string& route, int status, double seconds,
               const std::string& tenant, const std::string& trace_id) {
  if (!core::log::Enabled(core::log::Level::kInfo)) return;
  const std::string code = std::to_string(status);
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", seconds * 1000);
  core::log::Info(req.method + " " + route + " " + code, {{"method", req.method},
                                                          {"route", route},
                                                          {"status", code},
                                                          {"duration_ms", ms},
                                                          {"request_id", req.request_id},
                                                          {"tenant", tenant},
                                                          {"client", req.remote_ip},
                                                          {"trace_id", trace_id}});
}

void Call::Reply(HttpResponse response) {
  if (answered_.exchange(true)) return;
  if (const uint64_t seq = wrote_seq_.load(); seq != 0) {
    response.Header("Custos-Seq", std::to_string(seq));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  services_.deps.metrics.ObserveRequest(metrics_id, response.status, seconds);
  if (services_.options.access_log) {
    const std::string tenant = !Param("tenant").empty() ? Param("tenant")
                               : principal              ? principal->tenant
                                                        : std::string();
    LogAccess(req, RouteName(), response.status, seconds, tenant, trace_id);
  }
  respond_(std::move(response));
}

void Call::Fail(const core::Error& error) {
  // What the answer leaves out (problem.cc keeps a 500's detail in here) goes to the log,
  // with the request id the client was given.
  if (const int status = HttpStatus(error); status >= 500) {
    const std::string& route = RouteName();
    core::log::Write(
        status == 503 ? core::log::Level::kWarn : core::log::Level::kError,
        req.method + " " + route + " answered " + std::to_string(status) + ": " + error.ToString(),
        {{"request_id", req.request_id}, {"tenant", Param("tenant")}});
  }
  Reply(Problem(error));
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  return r;
}

std::string WithCredential(std::string body, std::string_view name,
                           const core::iam::Decision& decision) {
  core::JsonWriter w;
  w.BeginObject().Key(name);
  if (decision.secret) {
    w.String(*decision.secret);
  } else {
    w.Null();
  }
  w.Key("credential_delivery").String(core::iam::ToString(decision.credential_delivery));
  w.EndObject();
  body.pop_back();
  body += ',';
  body += std::string_view(w.str()).substr(1);
  return body;
}

HttpResponse JsonResponse(int status, std::string body, std::optional<int64_t> version,
                          std::string location) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (version) r.Header("ETag", "\"" + std::to_string(*version) + "\"");
  if (!location.empty()) r.Header("Location", std::move(location));
  return r;
}

core::Result<Page> ReadPage(const HttpRequest& req) {
  Page page;
  if (std::optional<std::string_view> limit = req.Query("limit")) {
    size_t v = 0;
    auto [ptr, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), v);
    if (ec != std::errc() || ptr != limit->data() + limit->size() || v < 1 || v > 1000) {
      return core::InvalidField("limit", "must be an integer from 1 to 1000");
    }
    page.limit = v;
  }
  if (std::optional<std::string_view> cursor = req.Query("cursor"); cursor && !cursor->empty()) {
    std::optional<std::string> key = core::Base64UrlDecode(*cursor);
    if (!key || key->size() < 2 || (*key)[0] != 'c') {
      return core::InvalidField("cursor", "is not a cursor this server gave");
    }
    page.after = key->substr(1);
  }
  return page;
}

std::string EncodeCursor(std::string_view key) {
  std::string raw = "c";
  raw += key;
  return core::Base64UrlEncode(raw);
}

core::Result<std::optional<core::Time>> TimeQuery(const HttpRequest& req, std::string_view name) {
  std::optional<std::string_view> v = req.Query(name);
  if (!v) return std::optional<core::Time>();
  core::Result<core::Time> t = core::ParseTime(*v);
  if (!t.ok()) {
    return core::InvalidField(std::string(name),
                              "must be an RFC 3339 time such as 2026-11-24T12:00:00.000Z");
  }
  return std::optional<core::Time>(*t);
}

std::string SortKey(std::string value, std::string_view id, bool descending) {
  for (char& c : value) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (descending) {
    // Invert byte by byte; a terminator keeps "ab" after "abc" when inverted.
    for (char& c : value) c = static_cast<char>(0xff - static_cast<unsigned char>(c));
    value.push_back('\xff');
  } else {
    value.push_back('\0');
  }
  value += id;
  return value;
}

core::Status Authorize(const CallPtr& call, const core::iam::TenantState& state,
                       std::string_view action, const core::iam::AccessTarget& target) {
  if (call->IsRoot()) return core::OkStatus();
  return core::iam::Authority(state, call->services().clock().Now(), call->principal->Subject())
      .Require(action, target);
}

void ReadTenant(
    const CallPtr& call,
    const std::function<core::Result<HttpResponse>(const core::iam::TenantState&)>& fn) {
  core::Result<core::Result<HttpResponse>> r = call->services().identity().Read(
      call->Tenant(), [&](const core::iam::TenantState& s) { return fn(s); });
  if (!r.ok()) return call->Fail(r.error());
  if (!r->ok()) return call->Fail(r->error());
  call->Reply(std::move(*r).value());
}

// ---- checks before a route runs ----

namespace {

// ../shared/spec/API.md: an unknown query parameter → 400 naming it; a body that is not of the
// route's media type → 415. Checked before any work of the route.
std::optional<HttpResponse> RefuseUnreadInput(const RouteSpec& spec, const HttpRequest& req) {
  for (const auto& [key, value] : req.query) {
    bool known = false;
    for (size_t at = 0; at < spec.query.size() && !known;) {
      size_t end = spec.query.find(' ', at);
      if (end == std::string_view::npos) end = spec.query.size();
      known = spec.query.substr(at, end - at) == key;
      at = end + 1;
    }
    if (!known) {
      const std::string shown(core::TruncateUtf8(key, 64));
      return Problem(core::InvalidArgument(
          "unknown query parameter '" + shown + "'" +
          (spec.query.empty() ? std::string(" (this route takes none)")
                              : "; this route takes: " + std::string(spec.query))));
    }
  }
  if (!req.body.empty() && !spec.media.empty()) {
    std::string_view type = req.Header("content-type").value_or("");
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    const bool same = type.size() == spec.media.size() &&
                      std::equal(type.begin(), type.end(), spec.media.begin(), [](char a, char b) {
                        return std::tolower(static_cast<unsigned char>(a)) == b;
                      });
    if (!same) {
      const std::string named = type.empty() ? ", and none was named"
                                             : ", not " + std::string(core::TruncateUtf8(type, 64));
      return Problem(415, "this route takes a body of type " + std::string(spec.media) + named);
    }
  }
  return std::nullopt;
}

}  // namespace

HttpResponse NotAuthenticated(const core::Error& error) {
  if (error.code == core::Errc::kUnauthenticated) return Unauthorized(error.message);
  return Problem(error);
}

core::Result<Principal> AuthenticateBearer(Services& services, const HttpRequest& req,
                                           Liveness liveness) {
  std::optional<std::string_view> header = req.Header("authorization");
  if (!header || header->size() < 7 ||
      !std::equal(header->begin(), header->begin() + 7, "bearer ", [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == b;
      })) {
    return core::Error{core::Errc::kUnauthenticated, "a Bearer token is required", {}};
  }
  std::string token(header->substr(7));
  while (!token.empty() && token.back() == ' ') token.pop_back();
  const core::Time now = services.clock().Now();
  std::shared_ptr<const TokenClaims> claims = services.token_cache.Find(token, now);
  if (claims == nullptr) {
    const uint64_t generation = services.token_cache.generation();
    core::Result<TokenClaims> verified = services.deps.tokens.Verify(token, now);
    if (!verified.ok()) return verified.error();
    claims = std::make_shared<const TokenClaims>(std::move(verified).value());
    services.token_cache.Put(token, claims, generation);
  }
  Principal p;
  p.id = claims->sub;
  p.jti = claims->jti;
  p.exp = claims->exp;
  p.tenant = claims->tenant;
  p.session_epoch = claims->session_epoch;
  const core::Error revoked{core::Errc::kUnauthenticated, "the token was revoked", {}};
  if (claims->typ == "root") {
    if (!services.options.follower && claims->sub != services.credentials().root_client_id()) {
      return core::Error{core::Errc::kUnauthenticated, "unknown root client", {}};
    }
    p.kind = Principal::Kind::kRoot;
    if (services.credentials().RootRevoked(p.jti, now)) return revoked;
    return p;
  }
  p.kind = claims->typ == "user" ? Principal::Kind::kUser : Principal::Kind::kApiClient;
  if (liveness == Liveness::kIfLoaded && !services.identity().Loaded(core::TenantId(p.tenant))) {
    p.unchecked = true;
    return p;
  }
  core::Result<core::Status> live =
      services.identity().Read(core::TenantId(p.tenant), [&](const core::iam::TenantState& state) {
        return core::iam::CheckTokenLive(state, *p.Subject(), p.jti, p.session_epoch, now);
      });
  if (!live.ok()) {
    if (live.error().code != core::Errc::kNotFound) return live.error();  // not the token's fault
    return core::Error{core::Errc::kUnauthenticated, "unknown tenant", {}};
  }
  CUSTOS_RETURN_IF_ERROR(*live);
  return p;
}

}  // namespace internal

// ---- the Api ----

using internal::Call;
using internal::CallPtr;
using internal::Principal;

struct Api::Impl {
  internal::Services services;
  internal::RouteTable table;
  std::vector<size_t> metric_ids;  // by route index
  size_t unmatched_metric = 0;

  // Records the failed-login tallies that are due (every one with `all`), waiting for the
  // appends with `wait`.
  void FlushLoginTallies(bool all, bool wait = false) {
    for (internal::FailedLoginTally::Window& w :
         services.failed_logins.TakeDue(services.clock().Now(), all)) {
      projections::ExecuteRequest er;
      er.tenant = core::TenantId(w.tenant);
      if (!w.sso_issuer.empty()) {
        if (w.count == 0) continue;  // the window's first was recorded when it came
        core::iam::RecordSsoLogin r;
        r.reason = w.reason;
        r.issuer = w.sso_issuer;
        r.count = w.count;
        r.since = w.since;
        er.command = std::move(r);
      } else if (w.client_id.empty()) {
        er.command = core::iam::RecordLogin{std::nullopt, w.email, false, "unknown_email",
                                            w.count,      w.since, {}};
      } else {
        er.command = core::iam::RecordLogin{std::nullopt, "",      false,      w.reason,
                                            w.count,      w.since, w.client_id};
      }
      er.actor = core::Actor{"system", "anonymous", "anonymous", w.ip, w.user_agent};
      er.request_id = w.request_id;
      if (wait) {
        (void)services.identity().Execute(std::move(er));
      } else {
        services.identity().ExecuteAsync(std::move(er),
                                         [](core::Result<projections::ExecuteResult>) {});
      }
    }
  }

  Impl(ApiDeps deps, ApiOptions options) : services(std::move(deps), options) {
    // Housekeeping every 5 s: failed-login tallies that are due; expired idempotency records
    // every 5 minutes.
    flusher = std::thread([this] {
      pthread_setname_np(pthread_self(), "custos-chores");
      std::unique_lock lock(flush_mu);
      for (int tick = 1;
           !flush_cv.wait_for(lock, std::chrono::seconds(5), [this] { return stopping; }); ++tick) {
        lock.unlock();
        FlushLoginTallies(false);
        if (tick % 60 == 0) (void)services.credentials().SweepAnswers(services.clock().Now());
        lock.lock();
      }
    });
  }

  ~Impl() {
    {
      std::lock_guard lock(flush_mu);
      stopping = true;
    }
    flush_cv.notify_all();
    flusher.join();
    FlushLoginTallies(true);
  }

  std::mutex flush_mu;
  std::condition_variable flush_cv;
  bool stopping = false;
  std::thread flusher;  // last: it uses the services

  // `may_load`: on a pool thread, where a tenant's state may be read into memory. On a
  // connection's thread a request whose tenant is not loaded yet (after a restart) goes whole
  // to the heavy pool and is dispatched there.
  void Dispatch(const CallPtr& call, bool may_load = false) {
    const RouteSpec& spec = *call->route;
    if (spec.access != Access::kPublic) {
      core::Result<Principal> p = internal::AuthenticateBearer(
          services, call->req,
          may_load ? internal::Liveness::kCheck : internal::Liveness::kIfLoaded);
      if (!p.ok()) return call->Reply(internal::NotAuthenticated(p.error()));
      call->principal = std::move(p).value();
      const std::string tenant = call->Param("tenant");
      const bool tenant_route = spec.pattern.find("{tenant}") != std::string::npos;
      if (!may_load && (call->principal->unchecked ||
                        (tenant_route && !services.identity().Loaded(core::TenantId(tenant))))) {
        internal::WorkPool& pool = *services.PoolFor(Work::kHeavy);
        if (!pool.TrySubmit([this, call] { Dispatch(call, true); }, call->Owner())) {
          call->Reply(internal::Busy(pool));
        }
        return;
      }
      if (!call->IsRoot() && tenant_route && tenant != call->principal->tenant) {
        return call->Fail(core::NotFound("no tenant " + tenant));
      }
      if (spec.access == Access::kRoot && !call->IsRoot()) {
        return call->Fail(
            core::Error{core::Errc::kPermissionDenied, "only the root client may do this", {}});
      }
      if (!call->IsRoot() && tenant_route) {
        const std::string_view action = spec.action;
        core::Result<core::Status> allowed = services.identity().Read(
            core::TenantId(tenant), [&](const core::iam::TenantState& state) -> core::Status {
              if (call->principal->kind == Principal::Kind::kUser &&
                  spec.access != Access::kAuthenticated) {
                const core::iam::User* u = state.FindUser(call->principal->id);
                if (u != nullptr && u->must_change_password) {
                  return core::Error{core::Errc::kPermissionDenied,
                                     "change the temporary password first (POST …/auth/password)",
                                     {}};
                }
                if (u != nullptr && core::iam::MustEnrollMfa(state, *u, services.clock().Now())) {
                  return core::Error{
                      core::Errc::kPermissionDenied,
                      "this tenant requires a second factor: enrol one first (POST …/me/mfa/totp)",
                      {}};
                }
              }
              if (spec.access != Access::kIam) return core::OkStatus();
              return internal::Authorize(call, state, action,
                                         core::iam::AccessTarget::ForIam(spec.iam_type));
            });
        if (!allowed.ok()) return call->Fail(allowed.error());
        if (!allowed->ok()) return call->Fail(allowed->error());
      }
    }
    if (std::optional<HttpResponse> refused = internal::RefuseUnreadInput(spec, call->req)) {
      return call->Reply(std::move(*refused));
    }
    const internal::RouteHandler& handler =
        table.handlers[static_cast<size_t>(call->route - table.router.routes().data())];
    if (spec.limited_per_source && !internal::TakeSourceToken(call)) return;
    internal::WorkPool* pool = services.PoolFor(spec.work);
    if (pool == nullptr) return handler(call);
    if (pool != &services.login_pool || call->principal) {
      if (!pool->TrySubmit([call, &handler] { handler(call); }, call->Owner())) {
        call->Reply(internal::Busy(*pool));
      }
      return;
    }
    // An unauthenticated source waits in front if a login from it succeeded lately (a few
    // jobs at a time), in the new lane (one at a time) if it is not known yet, behind both
    // once its failures are spent or its jobs in flight are as many as it may have.
    std::string source = internal::SourceKey(call->req.remote_ip);
    internal::Lane lane = internal::Lane::kBack;
    bool gated = false;  // holds a FrontLogins count, given back when the job ends
    if (!services.failing_sources.Spent(source)) {
      if (services.known_sources.Known(source)) {
        // Past its few in front, a known source (an office's NAT, an introspecting resource
        // server) waits with the new ones, ahead of the spent.
        gated = services.front_logins.TryEnter(source, internal::FrontLogins::kKnownInFlight);
        lane = gated ? internal::Lane::kFront : internal::Lane::kNew;
      } else if (services.front_logins.TryEnter(source)) {
        gated = true;
        lane = internal::Lane::kNew;
      }
    }
    std::function<void()> job = [call, &handler] { handler(call); };
    if (gated) {
      job = [call, &handler, gate = &services.front_logins, source] {
        struct Leave {
          internal::FrontLogins* gate;
          const std::string& source;
          ~Leave() { gate->Leave(source); }
        } leave{gate, source};
        handler(call);
      };
    }
    if (!pool->TrySubmit(std::move(job), call->Owner(), lane)) {
      if (gated) services.front_logins.Leave(source);
      call->Reply(internal::Busy(*pool));
    }
  }
};

Api::Api(ApiDeps deps, ApiOptions options)
    : impl_(std::make_unique<Impl>(std::move(deps), options)) {
  internal::Services& s = impl_->services;
  internal::AddServiceRoutes(impl_->table, s);
  internal::AddAuthRoutes(impl_->table, s);
  internal::AddTenantRoutes(impl_->table, s);
  internal::AddUserRoutes(impl_->table, s);
  internal::AddRoleRoutes(impl_->table, s);
  internal::AddGroupRoutes(impl_->table, s);
  internal::AddClientRoutes(impl_->table, s);
  internal::AddInvitationRoutes(impl_->table, s);
  internal::AddTreeRoutes(impl_->table, s);
  internal::AddAuditRoutes(impl_->table, s);
  internal::AddConsoleRoutes(impl_->table, s);
  internal::AddMfaRoutes(impl_->table, s);
  internal::AddSsoRoutes(impl_->table, s);
  for (const RouteSpec& r : impl_->table.router.routes()) {
    impl_->metric_ids.push_back(s.deps.metrics.RegisterRoute(r.pattern, r.method));
  }
  impl_->unmatched_metric = s.deps.metrics.RegisterRoute("unmatched", "any");
}

Api::~Api() = default;

void Api::RunChores() {
  impl_->FlushLoginTallies(true, true);
  while (impl_->services.credentials().SweepAnswers(impl_->services.clock().Now()) > 0) {
  }
}

void Api::ForgetVerifiedTokens() { impl_->services.token_cache.Clear(); }

const std::vector<RouteSpec>& Api::routes() const { return impl_->table.router.routes(); }

namespace {

// 404 or 405 (with Allow) for a request no route takes.
HttpResponse NoRoute(const Router::Match& m, const std::string& path) {
  if (!m.method_mismatch) return Problem(404, "no such route: " + path.substr(0, 200));
  HttpResponse r = Problem(405, "method not allowed on this path");
  std::string allow;
  for (const std::string& method : m.allowed) allow += (allow.empty() ? "" : ", ") + method;
  r.Header("Allow", std::move(allow));
  return r;
}

}  // namespace

Admission Api::Admit(HttpRequest& head) {
  Admission a = AdmitOnHeaders(head);
  // An answer made here (no route, no credentials) is never a Call's: logged here.
  if (a.answer && impl_->services.options.access_log) {
    internal::LogAccess(head, head.path, a.answer->status, 0, "",
                        core::TraceIdOf(head.Header("traceparent").value_or("")));
  }
  return a;
}

Admission Api::AdmitOnHeaders(HttpRequest& head) {
  internal::Services& s = impl_->services;
  Admission a;
  auto match = std::make_shared<Router::Match>(impl_->table.router.Find(head.method, head.path));
  const Router::Match& m = *match;
  head.admitted = match;
  if (m.route < 0) {
    a.answer = NoRoute(m, head.path);
    return a;
  }
  const RouteSpec& spec = impl_->table.router.routes()[static_cast<size_t>(m.route)];
  if (spec.access == Access::kPublic) {
    // Whoever may call it unauthenticated sends little: logins, tokens, acceptances.
    a.body_limit = std::min(s.options.public_body_limit, s.options.body_limit);
    return a;
  }
  a.body_limit =
      spec.pattern.ends_with("/users:import") ? s.options.import_body_limit : s.options.body_limit;
  // Credentials before the body: nobody unauthenticated makes the server read one.
  // A token whose tenant is not loaded yet is checked for liveness by Dispatch, on a pool.
  core::Result<Principal> p = internal::AuthenticateBearer(s, head, internal::Liveness::kIfLoaded);
  if (!p.ok()) {
    a.answer = internal::NotAuthenticated(p.error());
    return a;
  }
  for (const auto& [name, value] : m.params) {
    if (name == "tenant" && p->kind != Principal::Kind::kRoot && value != p->tenant) {
      a.answer = Problem(core::NotFound("no tenant " + value));
    }
  }
  return a;
}

void Api::Handle(HttpRequest request, Responder respond) {
  auto call = std::make_shared<Call>(std::move(request), std::move(respond), impl_->services);
  if (std::optional<std::string_view> tp = call->req.Header("traceparent")) {
    call->trace_id = core::TraceIdOf(*tp);
  }
  // A request with a body was matched on its headers (Admit); the others are matched here.
  Router::Match m = call->req.admitted
                        ? *std::static_pointer_cast<const Router::Match>(call->req.admitted)
                        : impl_->table.router.Find(call->req.method, call->req.path);
  call->metrics_id =
      m.route < 0 ? impl_->unmatched_metric : impl_->metric_ids[static_cast<size_t>(m.route)];
  if (m.route < 0) return call->Reply(NoRoute(m, call->req.path));
  call->route = &impl_->table.router.routes()[static_cast<size_t>(m.route)];
  call->params = std::move(m.params);
  impl_->Dispatch(call);
}

}  // namespace custos::api

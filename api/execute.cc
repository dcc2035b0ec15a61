// Commands over HTTP: Execute runs a command through the identity service and renders its
// answer on the route's pool; Idempotency-Key replays (projections::Credentials keeps the
// answers) and where the work after a write runs.
#include "api/internal/call.h"
#include "core/sha256.h"

namespace custos::api::internal {
namespace {

std::optional<int64_t> EtagVersion(const HttpResponse& r) {
  for (const auto& [name, value] : r.headers) {
    if (name == "ETag" && value.size() > 2) return std::stoll(value.substr(1, value.size() - 2));
  }
  return std::nullopt;
}

std::string LocationOf(const HttpResponse& r) {
  for (const auto& [name, value] : r.headers) {
    if (name == "Location") return value;
  }
  return "";
}

}  // namespace

void Execute(const CallPtr& call, core::iam::Command command, Render render) {
  ExecuteFor(call, call->Tenant(), std::move(command), std::move(render));
}

bool ReplayIdempotent(const CallPtr& call, Idempotency& idem) {
  Services& s = call->services();
  std::optional<std::string_view> key = call->req.Header("idempotency-key");
  // Credentials are never kept: token and login answers ignore the key.
  if (!key || call->req.method != "POST" || (call->route && !call->route->idempotent)) {
    return false;
  }
  if (key->empty() || key->size() > 255) {
    call->Fail(core::InvalidArgument("Idempotency-Key must be 1 to 255 characters"));
    return true;
  }
  idem.key = projections::Credentials::AnswerKey(call->Param("tenant"),
                                                 call->principal ? call->principal->id : "", *key);
  idem.request_hash =
      core::Sha256Hex(call->req.method + " " + call->req.path + "\n" + call->req.body);
  core::Result<std::optional<projections::IdempotentAnswer>> stored =
      s.credentials().FindAnswer(idem.key, s.clock().Now());
  if (!stored.ok()) {
    call->Fail(stored.error());
    return true;
  }
  if (!*stored) return false;
  const projections::IdempotentAnswer& rec = **stored;
  if (rec.request_hash != idem.request_hash) {
    call->Fail(core::InvalidField("Idempotency-Key",
                                  "was used with a different request in the last 24 hours"));
    return true;
  }
  HttpResponse replay = JsonResponse(
      rec.status, rec.body, rec.version > 0 ? std::optional<int64_t>(rec.version) : std::nullopt,
      rec.location);
  replay.Header("Idempotent-Replayed", "true");
  call->Reply(std::move(replay));
  return true;
}

void RememberIdempotent(const CallPtr& call, const Idempotency& idem,
                        const HttpResponse& response) {
  if (idem.key.empty() || response.status >= 300) return;
  Services& s = call->services();
  s.credentials().KeepAnswer(
      idem.key, projections::IdempotentAnswer{idem.request_hash, response.status, response.body,
                                              LocationOf(response),
                                              EtagVersion(response).value_or(0), s.clock().Now()});
}

void OnCallStrand(const CallPtr& call, std::function<void()> work) {
  if (call->req.dispatch) {
    call->req.dispatch(std::move(work));
  } else {
    work();
  }
}

bool HasIdempotencyKey(const CallPtr& call) {
  return call->req.method == "POST" && (call->route == nullptr || call->route->idempotent) &&
         call->req.Header("idempotency-key").has_value();
}

void WithIdempotency(const CallPtr& call, std::function<void(const Idempotency&)> proceed) {
  if (!HasIdempotencyKey(call)) return proceed(Idempotency{});
  auto run = [call, proceed = std::move(proceed)] {
    Idempotency idem;
    if (ReplayIdempotent(call, idem)) return;
    proceed(idem);
  };
  WorkPool& store = call->services().store_pool;
  if (OnPool(call)) return run();  // the route's pool may block already
  if (!store.TrySubmit(std::move(run), call->Owner())) call->Reply(Busy(store));
}

void AfterWrite(const CallPtr& call, const Idempotency& idem, std::function<void()> work) {
  if (!idem.key.empty()) return call->services().store_pool.Submit(std::move(work));
  if (WorkPool* pool = call->services().PoolFor(call->route ? call->route->work : Work::kInline)) {
    return pool->Submit(std::move(work));
  }
  OnCallStrand(call, std::move(work));
}

bool OnPool(const CallPtr& call) {
  return call->route != nullptr && call->route->work != Work::kInline;
}

void ExecuteFor(const CallPtr& call, const core::TenantId& tenant, core::iam::Command command,
                Render render) {
  // Public routes record what an unauthenticated caller did (a failed login, a refused SSO):
  // no header of theirs may stop that record, so If-Match is read only where it means
  // something, on authenticated writes.
  const bool is_public = call->route != nullptr && call->route->access == Access::kPublic;
  core::Result<std::optional<int64_t>> if_match =
      is_public ? core::Result<std::optional<int64_t>>(std::nullopt) : call->IfMatch();
  if (!if_match.ok()) return call->Fail(if_match.error());
  auto execute = [call, tenant, command = std::move(command), render = std::move(render),
                  if_match = *if_match](const Idempotency& idem) {
    projections::ExecuteRequest er;
    er.tenant = tenant;
    er.command = command;
    er.actor = call->Actor();
    er.caller = call->principal ? call->principal->Subject() : std::nullopt;
    er.request_id = call->req.request_id;
    er.trace_id = call->trace_id;
    er.if_match = if_match;
    call->services().identity().ExecuteAsync(
        std::move(er), [call, tenant, render, idem](core::Result<projections::ExecuteResult> r) {
          AfterWrite(
              call, idem,
              [call, tenant, render, idem,
               r = std::make_shared<core::Result<projections::ExecuteResult>>(std::move(r))] {
                if (!r->ok()) return call->Fail(r->error());
                call->Wrote((*r)->events);
                Services& s = call->services();
                core::Result<HttpResponse> response = s.identity().Read(
                    tenant,
                    [&](const core::iam::TenantState& state) { return render(state, **r); });
                if (!response.ok()) return call->Fail(response.error());
                if (!idem.key.empty() && response->status < 300) {
                  // The stored answer never keeps a one-time secret: the replay has null.
                  projections::ExecuteResult without_secret{(*r)->decision, {}};
                  without_secret.decision.secret.reset();
                  core::Result<HttpResponse> stored =
                      s.identity().Read(tenant, [&](const core::iam::TenantState& state) {
                        return render(state, without_secret);
                      });
                  if (stored.ok()) RememberIdempotent(call, idem, *stored);
                }
                call->Reply(std::move(*response));
              });
        });
  };
  WithIdempotency(call, std::move(execute));
}

}  // namespace custos::api::internal

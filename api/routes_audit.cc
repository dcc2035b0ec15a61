// The audit trail (API.md "Audit"): queries, events by id, ingest of application events,
// chain verification.
#include <charconv>

#include "api/internal/call.h"
#include "api/json_body.h"
#include "core/chain_verifier.h"
#include "core/event.h"
#include "core/iam/events.h"
#include "projections/audit_index.h"

namespace custos::api::internal {
namespace {

namespace iam = core::iam;

constexpr size_t kMaxFilterValues = 100;
constexpr size_t kMaxBatch = 1000;
constexpr size_t kMaxDataBytes = 64 * 1024;
// How long a query waits for the index to hold what was appended before it.
constexpr std::chrono::seconds kCatchUpTimeout{5};

// ?name=a,b&name=c → {a, b, c}.
core::Result<std::vector<std::string>> ListParam(const HttpRequest& req, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [key, value] : req.query) {
    if (key != name) continue;
    size_t start = 0;
    while (start <= value.size()) {
      const size_t comma = std::min(value.find(',', start), value.size());
      std::string item = value.substr(start, comma - start);
      if (item.empty()) {
        return core::InvalidField(std::string(name), "has an empty item");
      }
      out.push_back(std::move(item));
      start = comma + 1;
    }
  }
  if (out.size() > kMaxFilterValues) {
    return core::InvalidField(std::string(name),
                              "takes at most " + std::to_string(kMaxFilterValues) + " values");
  }
  return out;
}

core::Result<std::optional<core::Time>> TimeParam(const HttpRequest& req, std::string_view name) {
  std::optional<std::string_view> v = req.Query(name);
  if (!v) return std::optional<core::Time>();
  core::Result<core::Time> t = core::ParseTime(*v);
  if (!t.ok()) {
    return core::InvalidField(std::string(name),
                              "must be an RFC 3339 time such as 2026-11-24T12:00:00.000Z");
  }
  return std::optional<core::Time>(*t);
}

core::Result<std::optional<uint64_t>> UIntParam(const HttpRequest& req, std::string_view name) {
  std::optional<std::string_view> v = req.Query(name);
  if (!v) return std::optional<uint64_t>();
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || ptr != v->data() + v->size() || n == 0) {
    return core::InvalidField(std::string(name), "must be a positive integer");
  }
  return std::optional<uint64_t>(n);
}

// What of the tenant's stream a reader may see: nothing older than the retention window,
// nothing below the last purge.
struct Visible {
  core::Time cutoff;
  uint64_t first_tenant_seq = 1;
};

core::Result<Visible> VisibleOf(const CallPtr& call) {
  Services& s = call->services();
  const core::Time now = s.clock().Now();
  CUSTOS_ASSIGN_OR_RETURN(int days,
                          s.identity().Read(call->Tenant(), [](const iam::TenantState& st) {
                            return st.tenant().retention_days;
                          }));
  Visible v;
  v.cutoff = now - std::chrono::hours(24) * days;
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::TenantSeq> first,
                          s.deps.log.FirstTenantSeq(call->Tenant()));
  if (first) v.first_tenant_seq = first->value();
  return v;
}

// The query of GET …/audit/events and of exports: filters, bounds and visibility.
core::Result<projections::AuditQuery> ReadQuery(const CallPtr& call, bool with_target) {
  projections::AuditQuery q;
  q.tenant = call->Tenant();
  CUSTOS_ASSIGN_OR_RETURN(q.actors, ListParam(call->req, "actor"));
  CUSTOS_ASSIGN_OR_RETURN(q.actions, ListParam(call->req, "action"));
  if (with_target) {
    CUSTOS_ASSIGN_OR_RETURN(q.targets, ListParam(call->req, "target"));
  }
  CUSTOS_RETURN_IF_ERROR(projections::ValidateAuditActions(q.actions));
  CUSTOS_ASSIGN_OR_RETURN(q.from, TimeParam(call->req, "from"));
  CUSTOS_ASSIGN_OR_RETURN(q.to, TimeParam(call->req, "to"));
  CUSTOS_ASSIGN_OR_RETURN(Visible visible, VisibleOf(call));
  q.not_before = visible.cutoff;
  q.min_tenant_seq = visible.first_tenant_seq;
  return q;
}

void QueryEvents(const CallPtr& call) {
  core::Result<projections::AuditQuery> q = ReadQuery(call, true);
  if (!q.ok()) return call->Fail(q.error());
  const std::string order(call->req.Query("order").value_or("desc"));
  if (order != "asc" && order != "desc") {
    return call->Fail(core::InvalidField("order", "must be asc or desc"));
  }
  q->descending = order == "desc";
  core::Result<Page> page = ReadPage(call->req);
  if (!page.ok()) return call->Fail(page.error());
  q->limit = page->limit;
  if (page->after) {
    // The cursor is the order's letter and the last tenant_seq returned.
    uint64_t after = 0;
    const std::string& key = *page->after;
    auto [ptr, ec] = std::from_chars(key.data() + 1, key.data() + key.size(), after);
    if (key.size() < 2 || key[0] != order[0] || ec != std::errc() ||
        ptr != key.data() + key.size()) {
      return call->Fail(core::InvalidField("cursor", "is not a cursor of this query's order"));
    }
    q->after = after;
  }
  projections::AuditIndex& audit = call->services().deps.audit;
  if (core::Status s = audit.CatchUp(kCatchUpTimeout); !s.ok()) return call->Fail(s.error());
  core::Result<projections::AuditPage> result = audit.Query(*q);
  if (!result.ok()) return call->Fail(result.error());
  std::string body = "{\"items\":[";
  for (size_t i = 0; i < result->lines.size(); ++i) {
    if (i > 0) body += ',';
    body += result->lines[i];
  }
  body += "],\"next_cursor\":";
  if (result->next) {
    body += '"';
    body += EncodeCursor(order.substr(0, 1) + std::to_string(*result->next));
    body += '"';
  } else {
    body += "null";
  }
  body += '}';
  call->Json(200, std::move(body));
}

void GetEvent(const CallPtr& call) {
  Services& s = call->services();
  const std::string id = call->Param("event_id");
  auto not_found = [&] { call->Fail(core::NotFound("no event " + id.substr(0, 80))); };
  if (core::Status st = s.deps.audit.CatchUp(kCatchUpTimeout); !st.ok()) {
    return call->Fail(st.error());
  }
  core::Result<Visible> visible = VisibleOf(call);
  if (!visible.ok()) return call->Fail(visible.error());
  core::Result<std::optional<uint64_t>> seq = s.deps.audit.FindEvent(call->Tenant(), id);
  if (!seq.ok()) return call->Fail(seq.error());
  if (!*seq || **seq < visible->first_tenant_seq) return not_found();
  core::Result<std::vector<std::optional<std::string>>> lines =
      s.deps.log.GetTenantEvents(call->Tenant(), {core::TenantSeq(**seq)});
  if (!lines.ok()) return call->Fail(lines.error());
  if (!(*lines)[0]) return not_found();
  core::Result<core::LineFields> f = core::ParseLineFields(*(*lines)[0]);
  if (!f.ok()) return call->Fail(f.error());
  if (f->time < visible->cutoff) return not_found();
  call->Json(200, std::move(*(*lines)[0]));
}

// ---- ingest ----

struct PartyBody {
  std::string type;
  std::string id;
  std::optional<std::string> name;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type);
    v("id", s.id);
    v("name", s.name);
  }
};

struct IngestBody {
  std::string type;
  std::optional<PartyBody> actor;
  std::optional<PartyBody> target;
  std::optional<core::JsonValue> data;
  std::optional<std::string> occurred_at;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type);
    v("actor", s.actor);
    v("target", s.target);
    v("data", s.data);
    v("occurred_at", s.occurred_at);
  }
};

struct IngestBatchBody {
  std::vector<IngestBody> events;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("events", s.events);
  }
};

core::Result<core::EventDraft> ToDraft(const CallPtr& call, const IngestBody& in) {
  core::EventDraft d;
  if (!core::IsValidEventType(in.type)) {
    return core::InvalidField("type", "'" + in.type.substr(0, 80) +
                                          "' must match ^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$");
  }
  if (iam::IsCatalogType(in.type)) {
    return core::InvalidField("type", "'" + in.type +
                                          "' belongs to Custos' own catalog; applications may "
                                          "not report it");
  }
  d.type = in.type;
  const core::Actor caller = call->Actor();
  core::JsonValue data = in.data.value_or(core::JsonValue::Object());
  if (!data.is_object()) return core::InvalidField("data", "must be a JSON object");
  for (const char* reserved : {"reported_by", "occurred_at"}) {
    if (data.Find(reserved) != nullptr) {
      return core::InvalidField(std::string("data.") + reserved, "is set by the server");
    }
  }
  if (in.actor && (in.actor->type != caller.type || in.actor->id != caller.id)) {
    if (in.actor->type != "user" && in.actor->type != "api_client" && in.actor->type != "system") {
      return core::InvalidField("actor.type", "must be user, api_client or system");
    }
    d.actor = core::Actor{in.actor->type, in.actor->id, in.actor->name.value_or(""), "", ""};
    core::JsonValue by = core::JsonValue::Object();
    by.members().emplace_back("type", core::JsonValue::String(caller.type));
    by.members().emplace_back("id", core::JsonValue::String(caller.id));
    data.members().emplace_back("reported_by", std::move(by));
  } else {
    d.actor = caller;
    if (in.actor && in.actor->name) d.actor.name = *in.actor->name;
  }
  if (in.target) {
    d.target = core::Target{in.target->type, in.target->id, in.target->name.value_or("")};
  }
  if (in.occurred_at) {
    core::Result<core::Time> t = core::ParseTime(*in.occurred_at);
    if (!t.ok()) {
      return core::InvalidField("occurred_at",
                                "must be an RFC 3339 time such as 2026-11-24T12:00:00.000Z");
    }
    data.members().emplace_back("occurred_at", core::JsonValue::String(core::FormatTime(*t)));
  }
  core::JsonWriter data_json;
  data.Write(data_json);
  d.data = data_json.Take();
  if (d.data.size() > kMaxDataBytes) {
    return core::InvalidField(
        "data", "must be at most " + std::to_string(kMaxDataBytes) + " bytes as JSON");
  }
  d.request_id = call->req.request_id;
  CUSTOS_RETURN_IF_ERROR(core::ValidateDraft(d));
  return d;
}

void WriteAppended(core::JsonWriter& w, const core::AppendedEvent& e) {
  w.BeginObject().Key("id").String(e.id.value()).Key("seq").UInt(e.seq.value());
  w.Key("tenant_seq").UInt(e.tenant_seq.value()).Key("time").String(core::FormatTime(e.time));
  w.Key("hash").String(e.hash).EndObject();
}

// Appends the drafts and answers 201 with what was appended.
void Ingest(const CallPtr& call, std::vector<core::EventDraft> drafts, bool batch) {
  Idempotency idem;
  if (ReplayIdempotent(call, idem)) return;
  call->services().identity().AppendEventsAsync(
      call->Tenant(), std::move(drafts), [call, batch, idem](core::AppendResult r) {
        OnCallStrand(call,
                     [call, batch, idem, r = std::make_shared<core::AppendResult>(std::move(r))] {
                       if (!r->ok()) return call->Fail(r->error());
                       const std::vector<core::AppendedEvent>& events = **r;
                       core::JsonWriter w;
                       std::string location;
                       if (batch) {
                         w.BeginObject().Key("events").BeginArray();
                         for (const core::AppendedEvent& e : events) WriteAppended(w, e);
                         w.EndArray().EndObject();
                       } else {
                         WriteAppended(w, events.front());
                         location = "/v1/tenants/" + call->Param("tenant") + "/audit/events/" +
                                    events.front().id.value();
                       }
                       HttpResponse response = JsonResponse(201, w.Take(), std::nullopt, location);
                       RememberIdempotent(call, idem, response);
                       call->Reply(std::move(response));
                     });
      });
}

void IngestOne(const CallPtr& call) {
  IngestBody body;
  if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  core::Result<core::EventDraft> d = ToDraft(call, body);
  if (!d.ok()) return call->Fail(d.error());
  std::vector<core::EventDraft> drafts;
  drafts.push_back(std::move(d).value());
  Ingest(call, std::move(drafts), false);
}

void IngestBatch(const CallPtr& call) {
  IngestBatchBody body;
  if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  if (body.events.empty() || body.events.size() > kMaxBatch) {
    return call->Fail(
        core::InvalidField("events", "must hold 1 to " + std::to_string(kMaxBatch) + " events"));
  }
  std::vector<core::EventDraft> drafts;
  drafts.reserve(body.events.size());
  for (size_t i = 0; i < body.events.size(); ++i) {
    core::Result<core::EventDraft> d = ToDraft(call, body.events[i]);
    if (!d.ok()) {
      core::Error e = std::move(d).error();
      const std::string where = "events[" + std::to_string(i) + "].";
      for (core::FieldError& f : e.fields) f.field.insert(0, where);
      e.message.insert(0, where);
      return call->Fail(e);
    }
    drafts.push_back(std::move(d).value());
  }
  Ingest(call, std::move(drafts), true);
}

// ---- verification ----

// Verifies the tenant's stored stream over [from, to] (defaults: all of it).
core::Result<std::string> VerifyRange(Services& s, const core::TenantId& tenant,
                                      std::optional<uint64_t> from, std::optional<uint64_t> to) {
  const std::optional<core::TenantHead> head = s.deps.log.Head(tenant);
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::TenantSeq> first, s.deps.log.FirstTenantSeq(tenant));
  const uint64_t lo = std::max(from.value_or(1), first ? first->value() : 1);
  const uint64_t hi = std::min(to.value_or(UINT64_MAX), head ? head->tenant_seq.value() : 0);
  // The anchor: the hash of the event before the range, when it is still stored.
  std::optional<std::string> anchor;
  if (lo > 1 && lo <= hi) {
    CUSTOS_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> before,
                            s.deps.log.GetTenantEvents(tenant, {core::TenantSeq(lo - 1)}));
    if (before[0]) {
      CUSTOS_ASSIGN_OR_RETURN(core::LineFields f, core::ParseLineFields(*before[0]));
      anchor = std::string(f.hash);
    }
  }
  core::ChainVerifier verifier(anchor);
  core::Status status = core::OkStatus();
  uint64_t next = lo;
  while (status.ok() && next <= hi) {
    CUSTOS_ASSIGN_OR_RETURN(
        std::vector<core::StoredEvent> events,
        s.deps.log.ReadTenant(tenant, core::TenantSeq(next),
                              static_cast<size_t>(std::min<uint64_t>(4096, hi - next + 1))));
    if (events.empty()) break;
    for (const core::StoredEvent& e : events) {
      if (e.tenant_seq.value() > hi) break;
      status = verifier.Feed(e.line);
      if (!status.ok()) break;
      next = e.tenant_seq.value() + 1;
    }
  }
  if (status.ok() && lo <= hi && verifier.summary().last_tenant_seq != hi) {
    status = core::Corruption("events " + std::to_string(next) + ".." + std::to_string(hi) +
                              " are missing");
  }
  const core::ChainSummary& sum = verifier.summary();
  core::JsonWriter w;
  w.BeginObject().Key("ok").Bool(status.ok()).Key("checked").UInt(sum.checked);
  w.Key("first_tenant_seq").UInt(sum.first_tenant_seq);
  w.Key("last_tenant_seq").UInt(sum.last_tenant_seq);
  w.Key("head_hash").String(sum.head_hash);
  if (!status.ok()) w.Key("error").String(status.error().message);
  w.EndObject();
  return w.Take();
}

void Verify(const CallPtr& call) {
  core::Result<std::optional<uint64_t>> from = UIntParam(call->req, "from_tenant_seq");
  if (!from.ok()) return call->Fail(from.error());
  core::Result<std::optional<uint64_t>> to = UIntParam(call->req, "to_tenant_seq");
  if (!to.ok()) return call->Fail(to.error());
  if (*from && *to && **from > **to) {
    return call->Fail(core::InvalidField("to_tenant_seq", "must not be below from_tenant_seq"));
  }
  // Hashing a long stream takes a while: off the I/O threads.
  call->services().pool.Submit([call, from = *from, to = *to] {
    core::Result<std::string> body = VerifyRange(call->services(), call->Tenant(), from, to);
    if (!body.ok()) return call->Fail(body.error());
    call->Json(200, std::move(body).value());
  });
}

}  // namespace

void AddAuditRoutes(RouteTable& t, Services&) {
  const std::string base = "/v1/tenants/{tenant}/audit";
  t.Add({"GET", base + "/events", Access::kIam, "iam.audit", "list"}, QueryEvents);
  t.Add({"GET", base + "/events/{event_id}", Access::kIam, "iam.audit", "read"}, GetEvent);
  t.Add({"POST", base + "/events", Access::kIam, "iam.audit", "create"}, IngestOne);
  t.Add({"POST", base + "/events:batch", Access::kIam, "iam.audit", "create"}, IngestBatch);
  t.Add({"GET", base + "/verify", Access::kIam, "iam.audit", "read"}, Verify);
}

}  // namespace custos::api::internal

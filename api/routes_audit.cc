// The audit trail (../shared/spec/API.md "Audit"): queries, events by id, ingest of application
// events, chain verification.
#include <charconv>

#include "api/internal/call.h"
#include "api/json_body.h"
#include "core/checkpoint.h"
#include "core/event.h"
#include "core/iam/events.h"
#include "core/log.h"
#include "projections/audit_checkpoints.h"
#include "projections/audit_index.h"
#include "projections/retention.h"

namespace custos::api::internal {
namespace {

namespace iam = core::iam;

constexpr size_t kMaxFilterValues = 100;
constexpr size_t kMaxBatch = 1000;
constexpr size_t kMaxDataBytes = 64 * 1024;
// How long a query waits for the index to hold what was appended before it.
constexpr std::chrono::seconds kCatchUpTimeout{5};
// The most events of a tenant a list query reads and matches itself rather than wait for the
// index to take them in (tens of milliseconds of one index-pool thread, which the wait for
// the index held too, for up to kCatchUpTimeout).
constexpr uint64_t kMaxUnindexedRead = 50'000;
// Index entries one page of GET …/audit/events may seek (about 10 ms of work).
constexpr uint64_t kAuditWorkBudget = 10'000;

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
core::Result<projections::Visible> VisibleOf(const CallPtr& call) {
  Services& s = call->services();
  CUSTOS_ASSIGN_OR_RETURN(int days,
                          s.identity().Read(call->Tenant(), [](const iam::TenantState& st) {
                            return st.tenant().retention_days;
                          }));
  return s.deps.trail.VisibleOf(call->Tenant(), days);
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
  CUSTOS_ASSIGN_OR_RETURN(q.from, TimeQuery(call->req, "from"));
  CUSTOS_ASSIGN_OR_RETURN(q.to, TimeQuery(call->req, "to"));
  CUSTOS_ASSIGN_OR_RETURN(projections::Visible visible, VisibleOf(call));
  q.not_before = visible.cutoff;
  q.min_tenant_seq = visible.first_tenant_seq;
  return q;
}

void QueryEventsRoute(const CallPtr& call) {
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
  // A page costs at most this much index work and kPageBytes of lines, whatever the filters:
  // a query that meets nothing returns an empty page with a next_cursor (../shared/spec/API.md).
  q->work_budget = kAuditWorkBudget;
  q->max_bytes = kPageBytes;
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
  // Read-your-writes: the query reads the tenant's events not indexed yet itself, unless the
  // index is so far behind that waiting for it costs less.
  if (audit.Unindexed(call->Tenant()) > kMaxUnindexedRead) {
    if (core::Status s = audit.CatchUp(kCatchUpTimeout); !s.ok()) return call->Fail(s.error());
  }
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

void GetEventRoute(const CallPtr& call) {
  Services& s = call->services();
  const std::string id = call->Param("event_id");
  auto not_found = [&] { call->Fail(core::NotFound("no event " + id.substr(0, 80))); };
  if (core::Status st = s.deps.audit.CatchUp(kCatchUpTimeout); !st.ok()) {
    return call->Fail(st.error());
  }
  core::Result<projections::Visible> visible = VisibleOf(call);
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

// The caller as an event's actor, its name from the current state (root has none).
core::Actor CallerWithName(const CallPtr& call) {
  core::Actor a = call->Actor();
  if (const std::optional<iam::Subject> subject = call->principal->Subject()) {
    core::Result<std::string> name = call->services().identity().Read(
        call->Tenant(), [&](const iam::TenantState& state) { return state.NameOf(*subject); });
    if (name.ok()) a.name = std::move(name).value();
  }
  return a;
}

// The event a body describes, rendered (core::RenderDraft validates it: the one check of
// the event's fields besides the route's own rules here).
core::Result<core::RenderedDraft> ToEvent(const CallPtr& call, const core::Actor& caller,
                                          IngestBody&& in) {
  core::EventDraft d;
  // The type's syntax first (RenderDraft checks it again, with the rest of the draft; a
  // body's errors name the type before anything else).
  CUSTOS_RETURN_IF_ERROR(core::CheckNewEventType(in.type));
  if (iam::IsCatalogType(in.type)) {
    return core::InvalidField("type", "'" + in.type +
                                          "' belongs to Custos' own catalog; applications may "
                                          "not report it");
  }
  d.type = std::move(in.type);
  core::JsonValue data = in.data ? std::move(*in.data) : core::JsonValue::Object();
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
    // Another actor, as the caller reports it; the caller itself, as it is, beside it.
    d.actor = core::Actor{in.actor->type, in.actor->id, in.actor->name.value_or(""), "", ""};
    core::JsonValue by = core::JsonValue::Object();
    by.members().emplace_back("type", core::JsonValue::String(caller.type));
    by.members().emplace_back("id", core::JsonValue::String(caller.id));
    if (!caller.name.empty())
      by.members().emplace_back("name", core::JsonValue::String(caller.name));
    if (!caller.ip.empty()) by.members().emplace_back("ip", core::JsonValue::String(caller.ip));
    if (!caller.user_agent.empty()) {
      by.members().emplace_back("user_agent", core::JsonValue::String(caller.user_agent));
    }
    data.members().emplace_back("reported_by", std::move(by));
  } else {
    // The caller as itself: its name from the state, whatever the body says.
    d.actor = caller;
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
  d.trace_id = call->trace_id;
  return core::RenderDraft(d);
}

void WriteAppended(core::JsonWriter& w, const core::AppendedEvent& e) {
  w.BeginObject().Key("id").String(e.id.value()).Key("seq").UInt(e.seq.value());
  w.Key("tenant_seq").UInt(e.tenant_seq.value()).Key("time").String(core::FormatTime(e.time));
  w.Key("hash").String(e.hash).EndObject();
}

// Appends the drafts and answers 201 with what was appended.
void Ingest(const CallPtr& call, std::vector<core::RenderedDraft> events, bool batch) {
  auto append = [call, batch,
                 events = std::make_shared<std::vector<core::RenderedDraft>>(std::move(events))](
                    const Idempotency& idem) {
    call->services().identity().AppendRenderedAsync(
        call->Tenant(), std::move(*events), [call, batch, idem](core::AppendResult r) {
          AfterWrite(call, idem,
                     [call, batch, idem, r = std::make_shared<core::AppendResult>(std::move(r))] {
                       if (!r->ok()) return call->Fail(r->error());
                       const std::vector<core::AppendedEvent>& events = **r;
                       call->Wrote(events);
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
  };
  WithIdempotency(call, std::move(append));
}

void IngestOneRoute(const CallPtr& call) {
  IngestBody body;
  if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  core::Result<core::RenderedDraft> e = ToEvent(call, CallerWithName(call), std::move(body));
  if (!e.ok()) return call->Fail(e.error());
  std::vector<core::RenderedDraft> events;
  events.push_back(std::move(e).value());
  Ingest(call, std::move(events), false);
}

void IngestBatchRoute(const CallPtr& call) {
  IngestBatchBody body;
  if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  if (body.events.empty() || body.events.size() > kMaxBatch) {
    return call->Fail(
        core::InvalidField("events", "must hold 1 to " + std::to_string(kMaxBatch) + " events"));
  }
  std::vector<core::RenderedDraft> events;
  events.reserve(body.events.size());
  const core::Actor caller = CallerWithName(call);
  for (size_t i = 0; i < body.events.size(); ++i) {
    core::Result<core::RenderedDraft> e = ToEvent(call, caller, std::move(body.events[i]));
    if (!e.ok()) return call->Fail(core::AtItem(std::move(e).error(), "events", i));
    events.push_back(std::move(e).value());
  }
  Ingest(call, std::move(events), true);
}

// ---- verification ----

void VerifyRoute(const CallPtr& call) {
  core::Result<std::optional<uint64_t>> from = UIntParam(call->req, "from_tenant_seq");
  if (!from.ok()) return call->Fail(from.error());
  core::Result<std::optional<uint64_t>> to = UIntParam(call->req, "to_tenant_seq");
  if (!to.ok()) return call->Fail(to.error());
  if (*from && *to && **from > **to) {
    return call->Fail(core::InvalidField("to_tenant_seq", "must not be below from_tenant_seq"));
  }
  // On the heavy pool: hashing a long stream takes a while.
  core::Result<projections::VerifyReport> report =
      call->services().deps.trail.Verify(call->Tenant(), *from, *to);
  if (!report.ok()) return call->Fail(report.error());
  core::JsonWriter w;
  w.BeginObject().Key("ok").Bool(report->ok).Key("checked").UInt(report->checked);
  w.Key("first_tenant_seq").UInt(report->first_tenant_seq);
  w.Key("last_tenant_seq").UInt(report->last_tenant_seq);
  w.Key("head_hash").String(report->head_hash);
  if (!report->ok) w.Key("error").String(report->error);
  w.EndObject();
  call->Json(200, w.Take());
}

// ---- export ----

// An export's body (projections::AuditExport) as the server streams it: each piece read on
// the heavy pool, never on the connection's thread; a reader too slow is cut off before the
// last chunk, so it can never take what it got for the whole.
class ExportStream final : public BodyStream, public std::enable_shared_from_this<ExportStream> {
 public:
  ExportStream(Services& services, std::shared_ptr<projections::AuditExport> body)
      : services_(services),
        body_(std::move(body)),
        deadline_(std::chrono::steady_clock::now() + services.options.export_max_duration) {}

  void NextAsync(std::string& out, size_t hint, std::function<void(Step)> done) override {
    services_.heavy_pool.Submit([self = shared_from_this(), &out, hint, done = std::move(done)] {
      done(self->Next(out, hint));
    });
  }

  Step Next(std::string& out, size_t hint) override {
    if (std::chrono::steady_clock::now() > deadline_) {
      return Fail(core::Unavailable("the export ran past its time limit of " +
                                    std::to_string(std::chrono::duration_cast<std::chrono::minutes>(
                                                       services_.options.export_max_duration)
                                                       .count()) +
                                    " minutes (a reader too slow)"));
    }
    core::Result<projections::AuditExport::Step> step = body_->Next(out, hint);
    if (!step.ok()) return Fail(step.error());
    return *step == projections::AuditExport::Step::kEnd ? Step::kEnd : Step::kMore;
  }

 private:
  Step Fail(const core::Error& e) {
    core::log::Error("an audit export failed",
                     {{"tenant", body_->query().tenant.value()}, {"error", e.message}});
    return Step::kFailed;
  }

  Services& services_;
  std::shared_ptr<projections::AuditExport> body_;
  std::chrono::steady_clock::time_point deadline_;
};

// The audit.exported record: who exported what, in which format, up to which tenant_seq.
core::EventDraft ExportedEvent(const CallPtr& call, const projections::AuditQuery& q,
                               std::string_view format, uint64_t to_tenant_seq) {
  core::JsonWriter w;
  w.BeginObject().Key("format").String(format);
  auto list = [&](std::string_view name, const std::vector<std::string>& values) {
    if (values.empty()) return;
    w.Key(name).BeginArray();
    for (const std::string& v : values) w.String(v);
    w.EndArray();
  };
  list("actor", q.actors);
  list("action", q.actions);
  if (q.from) w.Key("from").String(core::FormatTime(*q.from));
  if (q.to) w.Key("to").String(core::FormatTime(*q.to));
  w.Key("to_tenant_seq").UInt(to_tenant_seq).EndObject();
  core::EventDraft d;
  d.type = "audit.exported";
  d.actor = call->Actor();
  d.data = w.Take();
  d.request_id = call->req.request_id;
  d.trace_id = call->trace_id;
  return d;
}

void ExportRoute(const CallPtr& call) {
  const std::string format(call->req.Query("format").value_or("jsonl"));
  projections::ExportFormat f = projections::ExportFormat::kJsonl;
  std::string content_type = "application/x-ndjson";
  if (format == "csv") {
    f = projections::ExportFormat::kCsv;
    content_type = "text/csv; charset=utf-8; header=present";
  } else if (format == "ocsf") {
    f = projections::ExportFormat::kOcsf;
  } else if (format != "jsonl") {
    return call->Fail(core::InvalidField("format", "must be jsonl, csv or ocsf"));
  }
  Services& s = call->services();
  // Held before the visible window is read: no purge of the tenant until the export is over.
  std::shared_ptr<projections::Retention::Lease> lease = s.deps.trail.Hold(call->Tenant());
  core::Result<projections::AuditQuery> q = ReadQuery(call, false);
  if (!q.ok()) return call->Fail(q.error());
  core::Result<std::unique_ptr<projections::AuditExport>> prepared =
      s.deps.trail.PrepareExport(std::move(q).value(), f, std::move(lease), kCatchUpTimeout);
  if (!prepared.ok()) return call->Fail(prepared.error());
  std::shared_ptr<projections::AuditExport> body = std::move(prepared).value();
  std::vector<core::EventDraft> drafts;
  drafts.push_back(ExportedEvent(call, body->query(), format, body->to_tenant_seq()));
  s.identity().AppendEventsAsync(
      call->Tenant(), std::move(drafts),
      [call, body, format, content_type](core::AppendResult r) {
        // Durable before the first byte: an export nobody recorded never starts.
        if (!r.ok()) return call->Fail(r.error());
        call->Wrote(*r);
        AfterWrite(call, Idempotency{}, [call, body, format, content_type] {
          HttpResponse response;
          response.content_type = content_type;
          response.stream = std::make_shared<ExportStream>(call->services(), body);
          const std::string ext = format == "csv" ? "csv" : "jsonl";
          response.Header("Content-Disposition",
                          "attachment; filename=\"" + call->Param("tenant") + "-audit" +
                              (format == "ocsf" ? "-ocsf." : ".") + ext + "\"");
          response.Header("Cache-Control", "no-store");
          call->Reply(std::move(response));
        });
      },
      projections::IdentityService::Origin::kAudit);
}

// ---- checkpoints ----

void ListCheckpointsRoute(const CallPtr& call) {
  core::Result<std::optional<uint64_t>> limit = UIntParam(call->req, "limit");
  if (!limit.ok()) return call->Fail(limit.error());
  if (*limit && **limit > 1000) {
    return call->Fail(core::InvalidField("limit", "must be at most 1000"));
  }
  core::Result<std::vector<core::Checkpoint>> list =
      call->services().deps.checkpoints.List(call->Tenant(), limit->value_or(50));
  if (!list.ok()) return call->Fail(list.error());
  std::string body = "{\"items\":[";
  for (size_t i = 0; i < list->size(); ++i) {
    if (i > 0) body += ',';
    body += core::CheckpointJson((*list)[i]);
  }
  body += "]}";
  call->Json(200, std::move(body));
}

// ---- retention ----

void GetRetentionRoute(const CallPtr& call) {
  Services& s = call->services();
  core::Result<projections::Visible> visible = VisibleOf(call);
  if (!visible.ok()) return call->Fail(visible.error());
  if (core::Status st = s.deps.audit.CatchUp(kCatchUpTimeout); !st.ok()) {
    return call->Fail(st.error());
  }
  core::Result<std::optional<uint64_t>> oldest =
      s.deps.audit.FirstSeqAtOrAfter(call->Tenant(), visible->cutoff);
  if (!oldest.ok()) return call->Fail(oldest.error());
  std::optional<std::string> oldest_time;
  if (*oldest) {
    const uint64_t seq = std::max(**oldest, visible->first_tenant_seq);
    core::Result<std::vector<std::optional<std::string>>> line =
        s.deps.log.GetTenantEvents(call->Tenant(), {core::TenantSeq(seq)});
    if (!line.ok()) return call->Fail(line.error());
    if ((*line)[0]) {
      core::Result<core::LineFields> f = core::ParseLineFields(*(*line)[0]);
      if (!f.ok()) return call->Fail(f.error());
      oldest_time = core::FormatTime(f->time);
    }
  }
  ReadTenant(call, [&](const iam::TenantState& st) -> core::Result<HttpResponse> {
    core::JsonWriter w;
    w.BeginObject().Key("plan").String(iam::ToString(st.tenant().plan));
    w.Key("retention_days").Int(st.tenant().retention_days);
    w.Key("cutoff").String(core::FormatTime(visible->cutoff));
    w.Key("legal_hold").Bool(st.tenant().legal_hold).Key("oldest_event_time");
    if (oldest_time) {
      w.String(*oldest_time);
    } else {
      w.Null();
    }
    w.EndObject();
    return JsonResponse(200, w.Take());
  });
}

struct RetentionRunBody {
  std::optional<std::string> as_of;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("as_of", s.as_of);
  }
};

void RunRetentionRoute(const CallPtr& call) {
  RetentionRunBody body;
  if (!call->req.body.empty()) {
    if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  }
  const core::Time now = call->services().clock().Now();
  core::Time as_of = now;
  if (body.as_of) {
    core::Result<core::Time> t = core::ParseTime(*body.as_of);
    if (!t.ok()) {
      return call->Fail(core::InvalidField("as_of", "must be an RFC 3339 time"));
    }
    if (*t < now) return call->Fail(core::InvalidField("as_of", "must not be before now"));
    as_of = *t;
  }
  // On the heavy pool: a purge waits for the index and an fsync.
  core::Result<projections::PurgeOutcome> o =
      call->services().deps.retention.Purge(call->Tenant(), as_of);
  if (!o.ok()) return call->Fail(o.error());
  if (o->seq != 0) call->Wrote(o->seq);
  core::JsonWriter w;
  w.BeginObject().Key("purged").UInt(o->purged);
  if (o->legal_hold) w.Key("legal_hold").Bool(true);
  w.Key("cutoff").String(core::FormatTime(o->cutoff));
  if (o->purged > 0) {
    w.Key("first_tenant_seq").UInt(o->first_tenant_seq);
    w.Key("last_tenant_seq").UInt(o->last_tenant_seq);
    w.Key("anchor").String(o->anchor);
  }
  w.EndObject();
  call->Json(200, w.Take());
}

}  // namespace

void AddAuditRoutes(RouteTable& t, Services&) {
  const std::string base = "/v1/tenants/{tenant}/audit";
  // Queries and reads by id wait for the index (the index pool); verify, export and purge
  // read or rewrite long stretches of the store (the heavy pool). Exporting needs manage.
  t.Add(RouteSpec{"GET", base + "/events", Access::kIam, "iam.audit", "list", Work::kIndex}.Query(
            "actor action target from to order limit cursor"),
        QueryEventsRoute);
  t.Add({"GET", base + "/events/{event_id}", Access::kIam, "iam.audit", "read", Work::kIndex},
        GetEventRoute);
  t.Add({"POST", base + "/events", Access::kIam, "iam.audit", "create"}, IngestOneRoute);
  t.Add({"POST", base + "/events:batch", Access::kIam, "iam.audit", "create"}, IngestBatchRoute);
  t.Add(RouteSpec{"GET", base + "/verify", Access::kIam, "iam.audit", "read", Work::kHeavy}.Query(
            "from_tenant_seq to_tenant_seq"),
        VerifyRoute);
  t.Add(RouteSpec{"GET", base + "/export", Access::kIam, "iam.audit", "delete", Work::kHeavy}.Query(
            "format actor action from to"),
        ExportRoute);
  t.Add(RouteSpec{"GET", base + "/checkpoints", Access::kIam, "iam.audit", "list", Work::kIndex}
            .Query("limit"),
        ListCheckpointsRoute);
  t.Add({"GET", base + "/retention", Access::kIam, "iam.audit", "read", Work::kIndex},
        GetRetentionRoute);
  t.Add({"POST", base + "/retention/run", Access::kRoot, "", "", Work::kHeavy}, RunRetentionRoute);
}

}  // namespace custos::api::internal

#include "core/event.h"

#include <charconv>

#include "core/event_id.h"
#include "core/hex.h"
#include "core/internal/json_scan.h"
#include "core/json_canonical.h"
#include "core/json_writer.h"
#include "core/sha256.h"

namespace custos::core {
namespace {

constexpr std::string_view kHashMember = ",\"hash\":\"";
constexpr std::string_view kPrevHashMember = ",\"prev_hash\":\"";
constexpr size_t kHashSuffixLen = 9 + 64 + 2;       // ,"hash":"<64>"}
constexpr size_t kPrevHashSuffixLen = 14 + 64 + 1;  // ,"prev_hash":"<64>"

bool IsActorType(std::string_view t) {
  return t == "user" || t == "api_client" || t == "root" || t == "system";
}

void AppendUInt(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Reads `literal` at pos; advances pos.
bool Expect(std::string_view s, size_t& pos, std::string_view literal) {
  if (s.substr(pos, literal.size()) != literal) return false;
  pos += literal.size();
  return true;
}

// A JSON unsigned integer without leading zeros, at most 2^64-1.
bool ReadUInt(std::string_view s, size_t& pos, uint64_t& out) {
  const size_t start = pos;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  if (pos == start || (s[start] == '0' && pos - start > 1)) return false;
  auto [ptr, ec] = std::from_chars(s.data() + start, s.data() + pos, out);
  return ec == std::errc() && ptr == s.data() + pos;
}

// A string value without escapes (ids, tenant, type, time); stops at the closing quote.
bool ReadPlainString(std::string_view s, size_t& pos, std::string_view& out) {
  const size_t start = pos;
  while (pos < s.size() && s[pos] != '"') {
    if (s[pos] == '\\' || static_cast<unsigned char>(s[pos]) < 0x20) return false;
    ++pos;
  }
  if (pos >= s.size()) return false;
  out = s.substr(start, pos - start);
  return true;
}

// Ids and types of actors and targets are stored without escapes, so that indexes and
// parsers can take them as they are.
bool IsPlainText(std::string_view v, size_t max) {
  if (v.empty() || v.size() > max) return false;
  for (char c : v) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

}  // namespace

Status ValidateDraft(const EventDraft& d) {
  CUSTOS_RETURN_IF_ERROR(CheckNewEventType(d.type));
  if (!IsActorType(d.actor.type)) {
    return InvalidField("actor.type", "must be one of user, api_client, root, system");
  }
  if (d.actor.id.empty()) return InvalidField("actor.id", "is required");
  constexpr std::string_view kPlain =
      "must be 1 to 256 bytes without quotes, backslashes or "
      "control characters";
  if (!IsPlainText(d.actor.id, 256)) return InvalidField("actor.id", std::string(kPlain));
  if (d.target) {
    if (d.target->type.empty()) return InvalidField("target.type", "is required");
    if (d.target->id.empty()) return InvalidField("target.id", "is required");
    if (!IsPlainText(d.target->type, 256)) {
      return InvalidField("target.type", std::string(kPlain));
    }
    if (!IsPlainText(d.target->id, 256)) return InvalidField("target.id", std::string(kPlain));
  }
  if (!IsCanonicalJsonObject(d.data)) {
    return InvalidField("data", "must be a JSON object in canonical form");
  }
  if (!d.changes.empty() && !IsCanonicalJsonObject(d.changes)) {
    return InvalidField("changes", "must be a JSON object in canonical form");
  }
  if (!d.trace_id.empty() && TraceIdOf("00-" + d.trace_id + "-0000000000000001-00").empty()) {
    return InvalidField("trace_id", "must be 32 lowercase hex digits, not all zero");
  }
  return OkStatus();
}

std::string TraceIdOf(std::string_view v) {
  // Exactly 55 characters for version 00; a later version may append fields after a dash.
  if (v.size() < 55 || (v.size() > 55 && v[55] != '-') || v[2] != '-' || v[35] != '-' ||
      v[52] != '-' || v.substr(0, 2) != "00") {
    return "";
  }
  auto hex = [](std::string_view s) {
    bool nonzero = false;
    for (char c : s) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
      nonzero = nonzero || c != '0';
    }
    return nonzero;
  };
  const std::string_view trace = v.substr(3, 32);
  const std::string_view parent = v.substr(36, 16);
  const std::string_view flags = v.substr(53, 2);
  if (!hex(trace) || !hex(parent) || !(hex(flags) || flags == "00")) return "";
  return std::string(trace);
}

Result<RenderedDraft> RenderDraft(const EventDraft& d) {
  CUSTOS_RETURN_IF_ERROR(ValidateDraft(d));
  JsonWriter w(128 + d.data.size() + d.changes.size());
  w.Key("actor").BeginObject().Key("type").String(d.actor.type).Key("id").String(d.actor.id);
  if (!d.actor.name.empty()) w.Key("name").String(d.actor.name);
  if (!d.actor.ip.empty()) w.Key("ip").String(d.actor.ip);
  if (!d.actor.user_agent.empty()) w.Key("user_agent").String(d.actor.user_agent);
  w.EndObject();
  if (d.target) {
    w.Key("target").BeginObject().Key("type").String(d.target->type).Key("id").String(d.target->id);
    if (!d.target->name.empty()) w.Key("name").String(d.target->name);
    w.EndObject();
  }
  w.Key("data").Raw(d.data);
  if (!d.changes.empty()) w.Key("changes").Raw(d.changes);
  w.Key("request_id").String(d.request_id);
  if (!d.trace_id.empty()) w.Key("trace_id").String(d.trace_id);
  w.Key("schema").Int(kEventSchemaVersion);
  RenderedDraft r;
  r.type_ = d.type;
  r.middle_.reserve(w.str().size() + 16);
  r.middle_ += ",";
  r.middle_ += w.str();
  r.middle_ += kPrevHashMember;
  return r;
}

Result<std::vector<RenderedDraft>> RenderDrafts(const std::vector<EventDraft>& drafts) {
  std::vector<RenderedDraft> out;
  out.reserve(drafts.size());
  for (size_t i = 0; i < drafts.size(); ++i) {
    Result<RenderedDraft> r = RenderDraft(drafts[i]);
    if (!r.ok()) return AtItem(std::move(r).error(), "events", i);
    out.push_back(std::move(r).value());
  }
  return out;
}

std::string ChainHash(std::string_view prev_hash, std::string_view body) {
  thread_local Sha256 hasher;
  hasher.Update(prev_hash);
  hasher.Update("\n");
  hasher.Update(body);
  return DigestHex(hasher.Finish());
}

AssembledLine AssembleLine(const RenderedDraft& draft, const EventPosition& pos) {
  AssembledLine out;
  std::string& line = out.line;
  line.reserve(160 + pos.tenant.size() + draft.type().size() + draft.middle().size() + 64 + 75);
  line += "{\"id\":\"";
  line += pos.id;
  line += "\",\"seq\":";
  AppendUInt(line, pos.seq);
  line += ",\"tenant\":\"";
  line += pos.tenant;
  line += "\",\"tenant_seq\":";
  AppendUInt(line, pos.tenant_seq);
  line += ",\"type\":\"";
  line += draft.type();
  line += "\",\"time\":\"";
  AppendTime(line, pos.time);
  line += '"';
  line += draft.middle();
  line += pos.prev_hash;
  line += "\"}";
  // `line` is now exactly the body.
  out.hash = ChainHash(pos.prev_hash, line);
  line.pop_back();
  line += kHashMember;
  line += out.hash;
  line += "\"}";
  return out;
}

Result<std::string_view> ParseLineType(std::string_view s) {
  size_t pos = 0;
  std::string_view skipped;
  uint64_t number = 0;
  std::string_view type;
  if (!Expect(s, pos, "{\"id\":\"") || !ReadPlainString(s, pos, skipped) ||
      !Expect(s, pos, "\",\"seq\":") || !ReadUInt(s, pos, number) ||
      !Expect(s, pos, ",\"tenant\":\"") || !ReadPlainString(s, pos, skipped) ||
      !Expect(s, pos, "\",\"tenant_seq\":") || !ReadUInt(s, pos, number) ||
      !Expect(s, pos, ",\"type\":\"") || !ReadPlainString(s, pos, type)) {
    return Corruption("not a canonical event line: no type where it belongs");
  }
  return type;
}

Result<LineFields> ParseLineFields(std::string_view s) {
  auto bad = [](std::string what) { return Corruption("not a canonical event line: " + what); };
  LineFields f;
  size_t pos = 0;
  if (!Expect(s, pos, "{\"id\":\"") || !ReadPlainString(s, pos, f.id) || !IsValidEventId(f.id)) {
    return bad("\"id\" must come first and be evt_ and a UUIDv7");
  }
  if (!Expect(s, pos, "\",\"seq\":") || !ReadUInt(s, pos, f.seq)) return bad("\"seq\"");
  if (!Expect(s, pos, ",\"tenant\":\"") || !ReadPlainString(s, pos, f.tenant) ||
      !IsValidTenantId(f.tenant)) {
    return bad("\"tenant\"");
  }
  if (!Expect(s, pos, "\",\"tenant_seq\":") || !ReadUInt(s, pos, f.tenant_seq) ||
      f.tenant_seq == 0) {
    return bad("\"tenant_seq\"");
  }
  if (!Expect(s, pos, ",\"type\":\"") || !ReadPlainString(s, pos, f.type) ||
      !IsValidEventType(f.type)) {
    return bad("\"type\"");
  }
  std::string_view time_text;
  if (!Expect(s, pos, "\",\"time\":\"") || !ReadPlainString(s, pos, time_text) ||
      time_text.size() != 24) {
    return bad("\"time\"");
  }
  Result<Time> time = ParseTime(time_text);
  if (!time.ok() || FormatTime(*time) != time_text) return bad("\"time\"");
  f.time = *time;
  if (!Expect(s, pos, "\",\"actor\":{")) return bad("\"actor\" must follow \"time\"");

  // The tail: ,"schema":N,"prev_hash":"<64>","hash":"<64>"}
  if (s.size() < pos + kHashSuffixLen + kPrevHashSuffixLen) return bad("too short");
  const size_t hash_at = s.size() - kHashSuffixLen;
  const size_t prev_at = hash_at - kPrevHashSuffixLen;
  if (s.substr(hash_at, kHashMember.size()) != kHashMember || s.substr(s.size() - 2) != "\"}") {
    return bad("\"hash\" must be the last member");
  }
  f.hash = s.substr(hash_at + kHashMember.size(), 64);
  if (s.substr(prev_at, kPrevHashMember.size()) != kPrevHashMember || s[hash_at - 1] != '"') {
    return bad("\"prev_hash\" must come just before \"hash\"");
  }
  f.prev_hash = s.substr(prev_at + kPrevHashMember.size(), 64);
  if (!IsLowerHex(f.hash) || !IsLowerHex(f.prev_hash)) {
    return bad("hashes must be 64 lowercase hex digits");
  }
  size_t digits = prev_at;
  while (digits > pos && s[digits - 1] >= '0' && s[digits - 1] <= '9') --digits;
  constexpr std::string_view kSchemaMember = ",\"schema\":";
  size_t schema_pos = digits;
  if (digits < kSchemaMember.size() ||
      s.substr(digits - kSchemaMember.size(), kSchemaMember.size()) != kSchemaMember ||
      !ReadUInt(s, schema_pos, f.schema) || schema_pos != prev_at) {
    return bad("\"schema\" must come just before \"prev_hash\"");
  }
  f.body_prefix = s.substr(0, hash_at);
  return f;
}

Result<LineParties> ParseLineParties(std::string_view s) {
  auto bad = [](std::string what) { return Corruption("not a canonical event line: " + what); };
  LineParties p;
  constexpr std::string_view kActor = ",\"actor\":{\"type\":\"";
  size_t pos = s.find(kActor);
  if (pos == std::string_view::npos) return bad("no \"actor\"");
  pos += kActor.size();
  if (!ReadPlainString(s, pos, p.actor_type) || !Expect(s, pos, "\",\"id\":\"") ||
      !ReadPlainString(s, pos, p.actor_id)) {
    return bad("\"actor\" must start with its type and id");
  }
  ++pos;                                     // the id's closing quote
  while (pos < s.size() && s[pos] == ',') {  // name, ip, user_agent
    ++pos;
    if (!internal::SkipJsonString(s, pos) || !Expect(s, pos, ":") ||
        !internal::SkipJsonString(s, pos)) {
      return bad("\"actor\"");
    }
  }
  if (!Expect(s, pos, "}")) return bad("\"actor\" is not closed");
  if (Expect(s, pos, ",\"target\":{\"type\":\"")) {
    if (!ReadPlainString(s, pos, p.target_type) || !Expect(s, pos, "\",\"id\":\"") ||
        !ReadPlainString(s, pos, p.target_id)) {
      return bad("\"target\" must start with its type and id");
    }
  }
  return p;
}

namespace {

Status CheckHash(const LineFields& f) {
  thread_local Sha256 hasher;
  hasher.Update(f.prev_hash);
  hasher.Update("\n");
  hasher.Update(f.body_prefix);
  hasher.Update("}");
  if (DigestHex(hasher.Finish()) != f.hash) {
    return Corruption("hash does not match the line's content");
  }
  return OkStatus();
}

}  // namespace

Result<LineFields> VerifyLine(std::string_view line) {
  CUSTOS_ASSIGN_OR_RETURN(LineFields f, ParseLineFields(line));
  if (!IsCanonicalJson(line)) {
    Result<std::string> canonical = CanonicalizeJson(line);
    return Corruption(canonical.ok() ? std::string("not in canonical form")
                                     : canonical.error().message);
  }
  CUSTOS_RETURN_IF_ERROR(CheckHash(f));
  return f;
}

Result<LineFields> VerifyLineHash(std::string_view line) {
  CUSTOS_ASSIGN_OR_RETURN(LineFields f, ParseLineFields(line));
  CUSTOS_RETURN_IF_ERROR(CheckHash(f));
  return f;
}

}  // namespace custos::core

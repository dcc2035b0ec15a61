#include "core/export_receipt.h"

#include <charconv>

#include "core/base64.h"
#include "core/hex.h"
#include "core/ids.h"
#include "core/json_writer.h"
#include "core/time.h"

namespace custos::core {
namespace {

constexpr std::string_view kPrefix = "{\"receipt\":";

void WriteBody(JsonWriter& w, const ExportReceipt& r, bool with_signature) {
  w.BeginObject();
  w.Key("tenant").String(r.tenant);
  w.Key("first_tenant_seq").UInt(r.first_tenant_seq);
  w.Key("first_prev_hash").String(r.first_prev_hash);
  w.Key("last_tenant_seq").UInt(r.last_tenant_seq);
  w.Key("last_hash").String(r.last_hash);
  w.Key("count").UInt(r.count);
  w.Key("complete").Bool(r.complete);
  w.Key("retained_from_tenant_seq").UInt(r.retained_from_tenant_seq);
  w.Key("purge_anchor").String(r.purge_anchor);
  w.Key("head_tenant_seq").UInt(r.head_tenant_seq);
  w.Key("head_hash").String(r.head_hash);
  w.Key("filters");
  r.filters.Write(w);
  w.Key("time").String(r.time);
  w.Key("kid").String(r.kid);
  if (with_signature) w.Key("signature").String(r.signature);
  w.EndObject();
}

std::optional<uint64_t> ParseUInt(const JsonValue& v) {
  if (!v.is_number()) return std::nullopt;
  const std::string& t = v.text();
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (ec != std::errc() || ptr != t.data() + t.size()) return std::nullopt;
  return n;
}

bool IsHash(const std::string& s) { return s.size() == 64 && IsLowerHex(s); }

std::string Range(uint64_t from, uint64_t to) {
  return from == to ? std::to_string(from) : std::to_string(from) + ".." + std::to_string(to);
}

}  // namespace

std::string ReceiptSigningInput(const ExportReceipt& receipt) {
  JsonWriter w(512);
  WriteBody(w, receipt, false);
  return w.Take();
}

std::string ReceiptLine(const ExportReceipt& receipt) {
  JsonWriter w(600);
  w.BeginObject().Key("receipt");
  WriteBody(w, receipt, true);
  w.EndObject();
  return w.Take();
}

void SignReceipt(const CheckpointSigner& signer, ExportReceipt& receipt) {
  const std::shared_ptr<const CheckpointSigner::SigningKey> key = signer.current();
  receipt.kid = key->kid();
  receipt.signature = key->SignBytes(ReceiptSigningInput(receipt));
}

bool IsReceiptLine(std::string_view line) { return line.starts_with(kPrefix); }

Result<ExportReceipt> ParseReceiptLine(std::string_view line) {
  auto bad = [](const std::string& what) { return InvalidArgument("not a receipt line: " + what); };
  if (!IsReceiptLine(line)) return bad("it must start with {\"receipt\":");
  Result<JsonValue> doc = ParseJson(line);
  if (!doc.ok()) return bad(doc.error().message);
  if (!doc->is_object() || doc->members().size() != 1) {
    return bad("\"receipt\" must be its only member");
  }
  const JsonValue& body = doc->members()[0].second;
  if (!body.is_object()) return bad("\"receipt\" must be an object");
  static constexpr std::string_view kMembers[] = {"tenant",
                                                  "first_tenant_seq",
                                                  "first_prev_hash",
                                                  "last_tenant_seq",
                                                  "last_hash",
                                                  "count",
                                                  "complete",
                                                  "retained_from_tenant_seq",
                                                  "purge_anchor",
                                                  "head_tenant_seq",
                                                  "head_hash",
                                                  "filters",
                                                  "time",
                                                  "kid",
                                                  "signature"};
  if (body.members().size() != std::size(kMembers)) {
    return bad("it must hold exactly the 15 members of a receipt");
  }
  ExportReceipt r;
  for (std::string_view name : kMembers) {
    const JsonValue* v = body.Find(name);
    if (v == nullptr) return bad("\"" + std::string(name) + "\" is missing");
  }
  auto uint = [&](const char* name, uint64_t& out) -> Status {
    std::optional<uint64_t> n = ParseUInt(*body.Find(name));
    if (!n) return bad("\"" + std::string(name) + "\" must be an unsigned integer");
    out = *n;
    return OkStatus();
  };
  auto text = [&](const char* name, std::string& out) -> Status {
    const JsonValue* v = body.Find(name);
    if (!v->is_string()) return bad("\"" + std::string(name) + "\" must be a string");
    out = v->text();
    return OkStatus();
  };
  CUSTOS_RETURN_IF_ERROR(text("tenant", r.tenant));
  if (!IsValidTenantId(r.tenant)) return bad("\"tenant\" is not a tenant id");
  CUSTOS_RETURN_IF_ERROR(uint("first_tenant_seq", r.first_tenant_seq));
  CUSTOS_RETURN_IF_ERROR(text("first_prev_hash", r.first_prev_hash));
  CUSTOS_RETURN_IF_ERROR(uint("last_tenant_seq", r.last_tenant_seq));
  CUSTOS_RETURN_IF_ERROR(text("last_hash", r.last_hash));
  CUSTOS_RETURN_IF_ERROR(uint("count", r.count));
  const JsonValue* complete = body.Find("complete");
  if (!complete->is_bool()) return bad("\"complete\" must be true or false");
  r.complete = complete->bool_value();
  CUSTOS_RETURN_IF_ERROR(uint("retained_from_tenant_seq", r.retained_from_tenant_seq));
  CUSTOS_RETURN_IF_ERROR(text("purge_anchor", r.purge_anchor));
  CUSTOS_RETURN_IF_ERROR(uint("head_tenant_seq", r.head_tenant_seq));
  CUSTOS_RETURN_IF_ERROR(text("head_hash", r.head_hash));
  r.filters = *body.Find("filters");
  if (!r.filters.is_object()) return bad("\"filters\" must be an object");
  CUSTOS_RETURN_IF_ERROR(text("time", r.time));
  Result<Time> t = ParseTime(r.time);
  if (!t.ok() || FormatTime(*t) != r.time) {
    return bad("\"time\" must be RFC 3339 UTC with milliseconds");
  }
  CUSTOS_RETURN_IF_ERROR(text("kid", r.kid));
  if (r.kid.empty()) return bad("\"kid\" must not be empty");
  CUSTOS_RETURN_IF_ERROR(text("signature", r.signature));
  const std::optional<std::string> sig = Base64UrlDecode(r.signature);
  if (!sig || sig->size() != 64) return bad("\"signature\" must be base64url of 64 bytes");
  // Shapes that hold together.
  const bool empty = r.count == 0;
  if (empty != (r.first_tenant_seq == 0) || empty != (r.last_tenant_seq == 0)) {
    return bad("an empty export has first and last tenant_seq 0, and only an empty one");
  }
  if (!empty && (!IsHash(r.first_prev_hash) || !IsHash(r.last_hash) ||
                 r.first_tenant_seq > r.last_tenant_seq ||
                 r.count > r.last_tenant_seq - r.first_tenant_seq + 1)) {
    return bad("its first and last events do not hold together");
  }
  if (!IsHash(r.purge_anchor) || (r.head_tenant_seq > 0 && !IsHash(r.head_hash)) ||
      r.last_tenant_seq > r.head_tenant_seq ||
      (!empty && r.first_tenant_seq < r.retained_from_tenant_seq)) {
    return bad("its bounds do not hold together");
  }
  return r;
}

Status CheckReceipt(const ExportReceipt& r, const ExportLines& lines, const CheckpointKeys& keys) {
  // The signature first: a forged receipt says nothing about the lines.
  if (Status s = keys.VerifySignature(r.kid, ReceiptSigningInput(r), r.signature, r.time);
      !s.ok()) {
    return Error{Errc::kUnauthenticated, "receipt signature rejected: " + s.error().message, {}};
  }
  auto differs = [](const std::string& what, const std::string& said, const std::string& seen) {
    return Corruption("the receipt says " + what + " " + said + ", the export holds " + seen);
  };
  if (lines.count != r.count) {
    return differs("count", std::to_string(r.count), std::to_string(lines.count));
  }
  if (r.count == 0) return OkStatus();
  if (lines.tenant != r.tenant) return differs("tenant", r.tenant, lines.tenant);
  if (lines.first_tenant_seq != r.first_tenant_seq) {
    return differs("first_tenant_seq", std::to_string(r.first_tenant_seq),
                   std::to_string(lines.first_tenant_seq));
  }
  if (lines.first_prev_hash != r.first_prev_hash) {
    return differs("first_prev_hash", r.first_prev_hash, lines.first_prev_hash);
  }
  if (lines.last_tenant_seq != r.last_tenant_seq) {
    return differs("last_tenant_seq", std::to_string(r.last_tenant_seq),
                   std::to_string(lines.last_tenant_seq));
  }
  if (lines.last_hash != r.last_hash) return differs("last_hash", r.last_hash, lines.last_hash);
  // An export from the first retained event starts where the purge left the chain.
  if (r.first_tenant_seq == r.retained_from_tenant_seq && r.first_prev_hash != r.purge_anchor) {
    return Corruption("the first retained event follows " + r.first_prev_hash +
                      ", not the purge anchor " + r.purge_anchor);
  }
  return OkStatus();
}

std::string DescribeReceipt(const ExportReceipt& r) {
  if (r.complete) {
    if (r.count == 0) return "complete: the tenant retains no event";
    return "complete: every retained event, tenant_seq " +
           Range(r.retained_from_tenant_seq, r.head_tenant_seq);
  }
  std::string out = "partial:";
  std::string sep = " leaves out";
  if (r.count == 0) {
    out += " holds no event of tenant_seq " + Range(r.retained_from_tenant_seq, r.head_tenant_seq);
    sep = ";";
  } else {
    if (r.first_tenant_seq > r.retained_from_tenant_seq) {
      out += sep + " the start (tenant_seq " +
             Range(r.retained_from_tenant_seq, r.first_tenant_seq - 1) + ")";
      sep = ",";
    }
    if (r.last_tenant_seq < r.head_tenant_seq) {
      out += sep + " the end (tenant_seq " + Range(r.last_tenant_seq + 1, r.head_tenant_seq) + ")";
      sep = ",";
    }
  }
  if (!r.filters.members().empty()) {
    out += sep == " leaves out" ? " filtered by" : "; filtered by";
    for (size_t i = 0; i < r.filters.members().size(); ++i) {
      out += (i ? ", " : " ") + r.filters.members()[i].first;
    }
  }
  if (out == "partial:") out += " not signed as complete";
  return out;
}

}  // namespace custos::core

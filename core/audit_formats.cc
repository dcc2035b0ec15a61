#include "core/audit_formats.h"

#include <array>

#include "core/event.h"
#include "core/internal/json_scan.h"
#include "core/json_value.h"
#include "core/json_writer.h"
#include "core/time.h"

namespace custos::core {
namespace {

// ---------------------------------------------------------------------------------------------
// Reading a stored line

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void SkipSpace(std::string_view s, size_t& pos) {
  while (pos < s.size() && IsJsonSpace(s[pos])) ++pos;
}

// Skips one value of text already known to be valid JSON (only strings can hide brackets).
bool SkipValue(std::string_view s, size_t& pos) {
  if (pos >= s.size()) return false;
  if (s[pos] == '"') return internal::SkipJsonString(s, pos);
  if (s[pos] != '{' && s[pos] != '[') {  // number or literal
    while (pos < s.size() && s[pos] != ',' && s[pos] != '}' && s[pos] != ']' &&
           !IsJsonSpace(s[pos])) {
      ++pos;
    }
    return true;
  }
  int depth = 0;
  while (pos < s.size()) {
    const char c = s[pos];
    if (c == '"') {
      if (!internal::SkipJsonString(s, pos)) return false;
      continue;
    }
    ++pos;
    if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return true;
    }
  }
  return false;
}

// The bytes of the top-level members `data` and `changes` (empty when absent), so that the
// exports carry them exactly as stored and hashed. `line` must be valid JSON. Envelope keys
// never need escapes, so comparing the raw key bytes is exact.
bool FindRawMembers(std::string_view s, std::string_view& data, std::string_view& changes) {
  size_t pos = 0;
  SkipSpace(s, pos);
  if (pos >= s.size() || s[pos] != '{') return false;
  ++pos;
  for (;;) {
    SkipSpace(s, pos);
    if (pos < s.size() && s[pos] == '}') return true;
    const size_t key_at = pos;
    if (!internal::SkipJsonString(s, pos)) return false;
    const std::string_view key = s.substr(key_at + 1, pos - key_at - 2);
    SkipSpace(s, pos);
    if (pos >= s.size() || s[pos] != ':') return false;
    ++pos;
    SkipSpace(s, pos);
    const size_t value_at = pos;
    if (!SkipValue(s, pos)) return false;
    const std::string_view value = s.substr(value_at, pos - value_at);
    if (key == "data") {
      data = value;
    } else if (key == "changes") {
      changes = value;
    }
    SkipSpace(s, pos);
    if (pos >= s.size()) return false;
    if (s[pos] == '}') return true;
    if (s[pos] != ',') return false;
    ++pos;
  }
}

// The string member `key` of `object`, or empty when the object or the member is absent or
// the member is not a string. Views into the JsonValue.
std::string_view StringMember(const JsonValue* object, std::string_view key) {
  if (object == nullptr) return {};
  const JsonValue* v = object->Find(key);
  return v != nullptr && v->is_string() ? std::string_view(v->text()) : std::string_view();
}

const JsonValue* ObjectMember(const JsonValue* object, std::string_view key) {
  if (object == nullptr) return nullptr;
  const JsonValue* v = object->Find(key);
  return v != nullptr && v->is_object() ? v : nullptr;
}

// One stored line, read for rendering. Filled in place and never moved: the pointers and
// `request_id` point into `doc`, the other views into the line.
struct StoredEvent {
  LineFields fields;      // framing: id, seq, tenant, tenant_seq, type, time
  std::string time_text;  // `time` as the line has it (ParseLineFields checks the round trip)
  JsonValue doc;          // the line without data and changes: actor, target, request_id
  JsonValue data_doc;     // `data`, parsed only when asked for
  const JsonValue* actor = nullptr;
  const JsonValue* target = nullptr;  // nullptr when the event has none
  const JsonValue* data = nullptr;    // nullptr unless asked for
  std::string_view raw_data;          // the bytes of `data` in the line
  std::string_view raw_changes;       // the bytes of `changes`, or empty
  std::string_view request_id;
};

// Reads the line's framing and members. `data` (usually the bulk of a line) is parsed only
// with `parse_data`; the rest is parsed from a copy of the line in which the values of `data`
// and `changes` are `{}`.
// `fields` are the line's framing, as ParseLineFields read it.
Status ReadStoredEvent(std::string_view line, const LineFields& fields, StoredEvent& e,
                       bool parse_data) {
  e.fields = fields;
  e.time_text = FormatTime(e.fields.time);
  if (!FindRawMembers(line, e.raw_data, e.raw_changes) || e.raw_data.empty() ||
      e.raw_data.front() != '{') {
    return Corruption("not a stored event line: \"data\" must be an object");
  }
  std::string head;
  head.reserve(line.size() - e.raw_data.size() - e.raw_changes.size() + 4);
  size_t at = 0;
  for (std::string_view skip : {e.raw_data, e.raw_changes}) {
    if (skip.empty()) continue;
    const auto from = static_cast<size_t>(skip.data() - line.data());
    if (from < at) return Corruption("not a stored event line: \"changes\" before \"data\"");
    head.append(line.substr(at, from - at)).append("{}");
    at = from + skip.size();
  }
  head.append(line.substr(at));
  Result<JsonValue> doc = ParseJson(head);
  if (!doc.ok()) return Corruption("not a stored event line: " + doc.error().message);
  e.doc = std::move(doc).value();
  e.actor = ObjectMember(&e.doc, "actor");
  if (e.actor == nullptr || StringMember(e.actor, "type").empty() ||
      StringMember(e.actor, "id").empty()) {
    return Corruption("not a stored event line: \"actor\" must be an object with type and id");
  }
  if (const JsonValue* target = e.doc.Find("target"); target != nullptr) {
    if (!target->is_object()) return Corruption("not a stored event line: \"target\"");
    e.target = target;
  }
  if (parse_data) {
    Result<JsonValue> data = ParseJson(e.raw_data);
    if (!data.ok() || !data->is_object()) {
      return Corruption("not a stored event line: \"data\" must be an object");
    }
    e.data_doc = std::move(data).value();
    e.data = &e.data_doc;
  }
  e.request_id = StringMember(&e.doc, "request_id");
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
// CSV

constexpr std::string_view kCsvHeader =
    "id,seq,tenant_seq,time,type,actor_type,actor_id,actor_name,target_type,target_id,"
    "target_name,request_id,data\r\n";

// ---------------------------------------------------------------------------------------------
// OCSF classification

constexpr int kAccountChange = 3001;
constexpr int kAuthentication = 3002;
constexpr int kUserAccess = 3005;
constexpr int kGroupManagement = 3006;
constexpr int kApiActivity = 6003;
// OCSF 1.3 has no activity for some of our facts (no Update in the IAM classes, no Unlock
// before 1.4); those are Other, and activity_name says what happened.
constexpr int kOther = 99;

struct CatalogEntry {
  std::string_view type;
  OcsfActivity activity;
};

// Every catalog type of ../shared/spec/EVENTS.md, explicitly: the verb alone would map
// `user.unlocked` or `invitation.expired` wrongly, and a new catalog type should be a deliberate
// choice here. Assign/Revoke Privileges (3005) are used only when some principal's effective
// permissions change: a new role is bound to nobody yet, and an updated one may gain and lose.
constexpr std::array kCatalog = {
    // Account Change (3001): 1 Create, 2 Enable, 3 Password Change, 4 Password Reset,
    // 5 Disable, 6 Delete, 7 Attach Policy, 8 Detach Policy, 9 Lock, 10/11 MFA Factor
    // Enable/Disable.
    CatalogEntry{"user.created", {kAccountChange, 1, "Create"}},
    CatalogEntry{"user.activated", {kAccountChange, 2, "Enable"}},
    CatalogEntry{"user.password_changed", {kAccountChange, 3, "Password Change"}},
    CatalogEntry{"user.password_reset", {kAccountChange, 4, "Password Reset"}},
    CatalogEntry{"user.deactivated", {kAccountChange, 5, "Disable"}},
    CatalogEntry{"user.suspended", {kAccountChange, 5, "Disable"}},
    CatalogEntry{"user.deleted", {kAccountChange, 6, "Delete"}},
    CatalogEntry{"user.locked", {kAccountChange, 9, "Lock"}},
    CatalogEntry{"user.unlocked", {kAccountChange, kOther, "Unlock"}},
    CatalogEntry{"user.updated", {kAccountChange, kOther, "Update"}},
    CatalogEntry{"user.tag_set", {kAccountChange, kOther, "Update"}},
    CatalogEntry{"user.tag_removed", {kAccountChange, kOther, "Update"}},
    CatalogEntry{"user.mfa_enrolled", {kAccountChange, 10, "MFA Factor Enable"}},
    CatalogEntry{"user.mfa_removed", {kAccountChange, 11, "MFA Factor Disable"}},
    CatalogEntry{"user.provisioned", {kAccountChange, 1, "Create"}},
    // Authentication (3002): 1 Logon, 2 Logoff. A client-credentials token is the API
    // client's logon; revoking a token ends the session it carried.
    CatalogEntry{"auth.login_succeeded", {kAuthentication, 1, "Logon"}},
    CatalogEntry{"auth.login_failed", {kAuthentication, 1, "Logon"}},
    CatalogEntry{"auth.mfa_succeeded", {kAuthentication, 1, "Logon"}},
    CatalogEntry{"auth.mfa_failed", {kAuthentication, 1, "Logon"}},
    CatalogEntry{"auth.sso_login_succeeded", {kAuthentication, 1, "Logon"}},
    CatalogEntry{"auth.sso_login_failed", {kAuthentication, 1, "Logon"}},
    CatalogEntry{"auth.token_issued", {kAuthentication, 1, "Logon"}},
    CatalogEntry{"auth.logout", {kAuthentication, 2, "Logoff"}},
    CatalogEntry{"auth.token_revoked", {kAuthentication, 2, "Logoff"}},
    // User Access Management (3005): 1 Assign Privileges, 2 Revoke Privileges.
    CatalogEntry{"binding.created", {kUserAccess, 1, "Assign Privileges"}},
    CatalogEntry{"binding.deleted", {kUserAccess, 2, "Revoke Privileges"}},
    CatalogEntry{"role.activated", {kUserAccess, 1, "Assign Privileges"}},
    CatalogEntry{"role.deactivated", {kUserAccess, 2, "Revoke Privileges"}},
    CatalogEntry{"role.deleted", {kUserAccess, 2, "Revoke Privileges"}},
    CatalogEntry{"role.created", {kUserAccess, kOther, "Create"}},
    CatalogEntry{"role.updated", {kUserAccess, kOther, "Update"}},
    // Group Management (3006): 1/2 Assign/Revoke Privileges, 3 Add User, 4 Remove User,
    // 5 Delete, 6 Create.
    CatalogEntry{"group.created", {kGroupManagement, 6, "Create"}},
    CatalogEntry{"group.deleted", {kGroupManagement, 5, "Delete"}},
    CatalogEntry{"group.member_added", {kGroupManagement, 3, "Add User"}},
    CatalogEntry{"group.member_removed", {kGroupManagement, 4, "Remove User"}},
    CatalogEntry{"group.updated", {kGroupManagement, kOther, "Update"}},
    // API Activity (6003): 1 Create, 2 Read, 3 Update, 4 Delete.
    CatalogEntry{"tenant.created", {kApiActivity, 1, "Create"}},
    CatalogEntry{"tenant.updated", {kApiActivity, 3, "Update"}},
    CatalogEntry{"tenant.plan_changed", {kApiActivity, 3, "Update"}},
    CatalogEntry{"tenant.legal_hold_changed", {kApiActivity, 3, "Update"}},
    CatalogEntry{"tenant.sso_configured", {kApiActivity, 3, "Update"}},
    CatalogEntry{"tenant.sso_removed", {kApiActivity, 3, "Update"}},
    CatalogEntry{"property.defined", {kApiActivity, 1, "Create"}},
    CatalogEntry{"property.removed", {kApiActivity, 4, "Delete"}},
    CatalogEntry{"user.exported", {kApiActivity, 2, "Read"}},
    CatalogEntry{"api_client.created", {kApiActivity, 1, "Create"}},
    CatalogEntry{"api_client.updated", {kApiActivity, 3, "Update"}},
    CatalogEntry{"api_client.activated", {kApiActivity, 3, "Update"}},
    CatalogEntry{"api_client.deactivated", {kApiActivity, 3, "Update"}},
    CatalogEntry{"api_client.deleted", {kApiActivity, 4, "Delete"}},
    CatalogEntry{"api_client.secret_created", {kApiActivity, 1, "Create"}},
    CatalogEntry{"api_client.secret_revoked", {kApiActivity, 4, "Delete"}},
    CatalogEntry{"invitation.created", {kApiActivity, 1, "Create"}},
    CatalogEntry{"invitation.resent", {kApiActivity, 3, "Update"}},
    CatalogEntry{"invitation.revoked", {kApiActivity, 4, "Delete"}},
    CatalogEntry{"invitation.accepted", {kApiActivity, 3, "Update"}},
    CatalogEntry{"invitation.expired", {kApiActivity, 3, "Update"}},
    CatalogEntry{"environment.created", {kApiActivity, 1, "Create"}},
    CatalogEntry{"environment.updated", {kApiActivity, 3, "Update"}},
    CatalogEntry{"environment.deleted", {kApiActivity, 4, "Delete"}},
    CatalogEntry{"project.created", {kApiActivity, 1, "Create"}},
    CatalogEntry{"project.updated", {kApiActivity, 3, "Update"}},
    CatalogEntry{"project.deleted", {kApiActivity, 4, "Delete"}},
    CatalogEntry{"folder.created", {kApiActivity, 1, "Create"}},
    CatalogEntry{"folder.updated", {kApiActivity, 3, "Update"}},
    CatalogEntry{"folder.deleted", {kApiActivity, 4, "Delete"}},
    CatalogEntry{"resource.created", {kApiActivity, 1, "Create"}},
    CatalogEntry{"resource.updated", {kApiActivity, 3, "Update"}},
    CatalogEntry{"resource.deleted", {kApiActivity, 4, "Delete"}},
    CatalogEntry{"audit.exported", {kApiActivity, 2, "Read"}},
    CatalogEntry{"audit.retention_purged", {kApiActivity, 4, "Delete"}},
};

// Application events: API Activity by the last word of the type (`workflow.step_deleted` →
// "deleted"). Verbs that neither create, read nor delete (executed, failed, changed…) change
// state, so they are Update.
OcsfActivity ApplicationActivity(std::string_view type) {
  const std::string_view verb = type.substr(type.find_last_of("._") + 1);
  if (verb == "created" || verb == "added") return {kApiActivity, 1, "Create"};
  if (verb == "read" || verb == "exported" || verb == "viewed") return {kApiActivity, 2, "Read"};
  if (verb == "deleted" || verb == "removed" || verb == "revoked") {
    return {kApiActivity, 4, "Delete"};
  }
  return {kApiActivity, 3, "Update"};
}

std::string_view ClassName(int class_uid) {
  switch (class_uid) {
    case kAccountChange:
      return "Account Change";
    case kAuthentication:
      return "Authentication";
    case kUserAccess:
      return "User Access Management";
    case kGroupManagement:
      return "Group Management";
    default:
      return "API Activity";
  }
}

std::string_view CategoryName(int category_uid) {
  return category_uid == 3 ? "Identity & Access Management" : "Application Activity";
}

// A single failed login is routine (Low); a lockout means the failures reached the tenant's
// threshold, worth a look (Medium). Everything else is Informational.
int SeverityId(std::string_view type) {
  if (type == "user.locked") return 3;
  if (type == "auth.login_failed" || type == "auth.mfa_failed" || type == "auth.sso_login_failed") {
    return 2;
  }
  // Who may sign in, and with which groups, changed.
  if (type == "tenant.sso_configured" || type == "tenant.sso_removed") return 3;
  // A second factor turned off weakens an account: worth a look.
  if (type == "user.mfa_removed") return 3;
  return 1;
}

std::string_view SeverityName(int severity_id) {
  switch (severity_id) {
    case 2:
      return "Low";
    case 3:
      return "Medium";
    default:
      return "Informational";
  }
}

// OCSF user.type_id: 1 User, 2 Admin, 3 System, 99 Other (api_client, group subjects); `type`
// keeps our own word so nothing is lost.
int UserTypeId(std::string_view type) {
  if (type == "user") return 1;
  if (type == "root") return 2;
  if (type == "system") return 3;
  return 99;
}

// ---------------------------------------------------------------------------------------------
// OCSF rendering

struct UserFields {
  std::string_view uid;
  std::string_view name;
  std::string_view type;
  std::string_view email;
};

void WriteUser(JsonWriter& w, const UserFields& u) {
  w.BeginObject();
  if (!u.uid.empty()) w.Key("uid").String(u.uid);
  if (!u.name.empty()) w.Key("name").String(u.name);
  if (!u.email.empty()) w.Key("email_addr").String(u.email);
  if (!u.type.empty()) w.Key("type").String(u.type).Key("type_id").Int(UserTypeId(u.type));
  w.EndObject();
}

UserFields TargetUser(const StoredEvent& e) {
  return {StringMember(e.target, "id"), StringMember(e.target, "name"),
          StringMember(e.target, "type")};
}

UserFields ActorUser(const StoredEvent& e) {
  return {StringMember(e.actor, "id"), StringMember(e.actor, "name"),
          StringMember(e.actor, "type")};
}

// A `{"type","id"}` subject in data (a binding's subject, a group's member).
UserFields SubjectUser(const JsonValue* subject) {
  return {StringMember(subject, "id"), {}, StringMember(subject, "type")};
}

void WriteMetadata(JsonWriter& w, const StoredEvent& e, std::string_view product_version) {
  w.Key("metadata").BeginObject();
  w.Key("version").String(kOcsfSchemaVersion);
  w.Key("product").BeginObject().Key("name").String("Custos").Key("vendor_name").String("Custos");
  if (!product_version.empty()) w.Key("version").String(product_version);
  w.EndObject();
  w.Key("uid").String(e.fields.id);
  w.Key("event_code").String(e.fields.type);
  w.Key("log_name").String("audit");
  w.Key("original_time").String(e.time_text);
  w.Key("tenant_uid").String(e.fields.tenant);
  w.Key("sequence").UInt(e.fields.tenant_seq);
  // One request may append several events; the request id ties them together.
  if (!e.request_id.empty()) w.Key("correlation_uid").String(e.request_id);
  w.EndObject();
}

// The objects each class requires or recommends about whom the event concerns.
void WriteClassObjects(JsonWriter& w, const StoredEvent& e, const OcsfActivity& a) {
  switch (a.class_uid) {
    case kAccountChange: {
      UserFields user = TargetUser(e);
      if (user.uid.empty()) user.uid = StringMember(e.data, "user_id");
      w.Key("user");
      WriteUser(w, user);
      break;
    }
    case kAuthentication: {
      // A failed login for an unknown email has no target; the email is all there is.
      UserFields user = TargetUser(e);
      user.email = StringMember(e.data, "email");
      w.Key("user");
      WriteUser(w, user);
      // The service authenticated against (OCSF wants it or dst_endpoint).
      w.Key("service").BeginObject().Key("name").String("custos").EndObject();
      if (const std::string_view reason = StringMember(e.data, "reason"); !reason.empty()) {
        w.Key("status_detail").String(reason);
      }
      break;
    }
    case kUserAccess: {
      // A binding's subject gains or loses the role; a role event concerns the role itself.
      const JsonValue* subject = ObjectMember(e.data, "subject");
      w.Key("user");
      WriteUser(w, subject != nullptr ? SubjectUser(subject) : TargetUser(e));
      if (const std::string_view role = StringMember(e.data, "role_id"); !role.empty()) {
        w.Key("privileges").BeginArray().String(role).EndArray();
      }
      break;
    }
    case kGroupManagement: {
      w.Key("group").BeginObject();
      std::string_view uid = StringMember(e.target, "id");
      if (uid.empty()) uid = StringMember(e.data, "group_id");
      if (!uid.empty()) w.Key("uid").String(uid);
      if (const std::string_view name = StringMember(e.target, "name"); !name.empty()) {
        w.Key("name").String(name);
      }
      w.EndObject();
      if (const JsonValue* member = ObjectMember(e.data, "member"); member != nullptr) {
        w.Key("user");
        WriteUser(w, SubjectUser(member));
      }
      break;
    }
    default: {
      w.Key("api").BeginObject().Key("operation").String(e.fields.type);
      w.Key("service").BeginObject().Key("name").String("custos").EndObject();
      if (!e.request_id.empty()) {
        w.Key("request").BeginObject().Key("uid").String(e.request_id).EndObject();
      }
      w.EndObject();
      if (e.target != nullptr) {
        const UserFields t = TargetUser(e);  // the same three members
        w.Key("resources").BeginArray().BeginObject();
        w.Key("uid").String(t.uid).Key("type").String(t.type);
        if (!t.name.empty()) w.Key("name").String(t.name);
        w.EndObject().EndArray();
      }
      break;
    }
  }
}

}  // namespace

namespace {
bool LooksLikeFormula(std::string_view field) {
  return !field.empty() &&
         std::string_view("=+-@\t\r").find(field.front()) != std::string_view::npos;
}
}  // namespace

void AppendCsvField(std::string& out, std::string_view field) {
  const bool formula = LooksLikeFormula(field);
  // A leading byte order mark is quoted too: at the start of a file a reader drops it.
  const bool quote =
      field.find_first_of(",\"\r\n") != std::string_view::npos || field.starts_with("\xEF\xBB\xBF");
  if (!quote) {
    if (formula) out += '\'';
    out += field;
    return;
  }
  out += '"';
  if (formula) out += '\'';
  for (const char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string CsvSafeValue(std::string_view field) {
  return LooksLikeFormula(field) ? "'" + std::string(field) : std::string(field);
}

std::string_view AuditCsvHeader() { return kCsvHeader; }

Result<std::string> AuditCsvRow(std::string_view line) {
  StoredEvent e;
  CUSTOS_ASSIGN_OR_RETURN(LineFields fields, ParseLineFields(line));
  CUSTOS_RETURN_IF_ERROR(ReadStoredEvent(line, fields, e, /*parse_data=*/false));
  std::string row;
  row.reserve(line.size() + 16);
  auto field = [&row](std::string_view value) {
    AppendCsvField(row, value);
    row += ',';
  };
  field(e.fields.id);
  field(std::to_string(e.fields.seq));
  field(std::to_string(e.fields.tenant_seq));
  field(e.time_text);
  field(e.fields.type);
  field(StringMember(e.actor, "type"));
  field(StringMember(e.actor, "id"));
  field(StringMember(e.actor, "name"));
  field(StringMember(e.target, "type"));
  field(StringMember(e.target, "id"));
  field(StringMember(e.target, "name"));
  field(e.request_id);
  AppendCsvField(row, e.raw_data);
  row += "\r\n";
  return row;
}

OcsfActivity OcsfActivityOf(std::string_view type) {
  for (const CatalogEntry& entry : kCatalog) {
    if (entry.type == type) return entry.activity;
  }
  return ApplicationActivity(type);
}

Result<std::string> AuditOcsfRecord(std::string_view line, std::string_view product_version) {
  CUSTOS_ASSIGN_OR_RETURN(LineFields fields, ParseLineFields(line));
  return AuditOcsfRecord(line, fields, product_version);
}

Result<std::string> AuditOcsfRecord(std::string_view line, const LineFields& fields,
                                    std::string_view product_version) {
  // Only the identity classes read members of `data`; API Activity keeps it verbatim.
  const OcsfActivity a = OcsfActivityOf(fields.type);
  StoredEvent e;
  // An application event reported for another actor keeps its reporter in data.reported_by
  // (set by the server alone): the reporter is OCSF's actor, the claimed one goes apart, so
  // that a reported "system" never passes for the real actor.
  const bool maybe_reported = line.find("\"reported_by\"") != std::string_view::npos;
  CUSTOS_RETURN_IF_ERROR(
      ReadStoredEvent(line, fields, e, a.class_uid != kApiActivity || maybe_reported));
  const JsonValue* reporter = e.data != nullptr ? ObjectMember(e.data, "reported_by") : nullptr;
  if (reporter != nullptr &&
      (StringMember(reporter, "type").empty() || StringMember(reporter, "id").empty())) {
    reporter = nullptr;
  }
  const JsonValue* who = reporter != nullptr ? reporter : e.actor;
  const int category_uid = a.class_uid / 1000;
  const int severity_id = SeverityId(e.fields.type);
  const bool failed = e.fields.type == "auth.login_failed" || e.fields.type == "auth.mfa_failed" ||
                      e.fields.type == "auth.sso_login_failed";

  JsonWriter w(512 + line.size());
  w.BeginObject();
  w.Key("class_uid").Int(a.class_uid).Key("class_name").String(ClassName(a.class_uid));
  w.Key("category_uid").Int(category_uid).Key("category_name").String(CategoryName(category_uid));
  w.Key("activity_id").Int(a.activity_id).Key("activity_name").String(a.activity_name);
  w.Key("type_uid").Int(int64_t{a.class_uid} * 100 + a.activity_id);
  std::string type_name(ClassName(a.class_uid));
  type_name += ": ";
  type_name += a.activity_name;
  w.Key("type_name").String(type_name);
  w.Key("severity_id").Int(severity_id).Key("severity").String(SeverityName(severity_id));
  w.Key("status_id").Int(failed ? 2 : 1).Key("status").String(failed ? "Failure" : "Success");
  // OCSF Authentication's is_mfa: the second step of a login.
  if (e.fields.type.starts_with("auth.mfa_")) w.Key("is_mfa").Bool(true);
  // A single sign-on login: OCSF's auth_protocol_id 4, OpenID.
  if (e.fields.type.starts_with("auth.sso_")) {
    w.Key("auth_protocol_id").Int(4).Key("auth_protocol").String("OpenID");
  }
  w.Key("time").Int(ToUnixMillis(e.fields.time));
  w.Key("message").String(e.fields.type);
  WriteMetadata(w, e, product_version);

  w.Key("actor").BeginObject().Key("user");
  WriteUser(
      w, UserFields{StringMember(who, "id"), StringMember(who, "name"), StringMember(who, "type")});
  w.EndObject();
  // Required by API Activity even when empty: system work has no address.
  w.Key("src_endpoint").BeginObject();
  if (const std::string_view ip = StringMember(who, "ip"); !ip.empty()) {
    w.Key("ip").String(ip);
  }
  w.EndObject();
  if (const std::string_view ua = StringMember(who, "user_agent"); !ua.empty()) {
    w.Key("http_request").BeginObject().Key("user_agent").String(ua).EndObject();
  }
  WriteClassObjects(w, e, a);

  // What OCSF has no place for stays verbatim, so the record loses nothing of the event.
  w.Key("unmapped").BeginObject().Key("data").Raw(e.raw_data);
  if (!e.raw_changes.empty()) w.Key("changes").Raw(e.raw_changes);
  if (reporter != nullptr) {
    w.Key("reported_actor");
    WriteUser(w, ActorUser(e));
  }
  w.EndObject();
  w.EndObject();
  return w.Take();
}

}  // namespace custos::core

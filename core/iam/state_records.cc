// TenantState's records: the dirty ones taken for a write, every one for a snapshot or a
// digest, and one loaded at start. Keys are "<kind>/<id>" (docs/events.md "State records").
#include <algorithm>
#include <cstdlib>

#include "core/fields.h"
#include "core/iam/events.h"
#include "core/iam/internal/state_parts.h"
#include "core/iam/names.h"
#include "core/iam/state.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/sha256.h"

namespace custos::core::iam {
namespace internal {

bool ParseMemberKey(std::string_view key, std::string_view& group_id, Subject& member) {
  if (!key.starts_with("m/")) return false;
  key.remove_prefix(2);
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) return false;
  group_id = key.substr(0, slash);
  const std::string_view subject = key.substr(slash + 1);
  const size_t colon = subject.find(':');
  if (colon == std::string_view::npos) return false;
  member.id = std::string(subject.substr(colon + 1));
  return FromString(subject.substr(0, colon), member.type);
}

std::string GroupRecord(const Group& g) {
  JsonWriter w(256);
  w.BeginObject();
  w.Key("id").String(g.id).Key("name").String(g.name).Key("description").String(g.description);
  w.Key("type").String(ToString(g.type)).Key("scope").String(g.scope);
  w.Key("members").BeginArray().EndArray();
  w.Key("created_at");
  WriteValue(w, g.created_at);
  w.Key("updated_at");
  WriteValue(w, g.updated_at);
  w.Key("version").Int(g.version);
  w.EndObject();
  return w.Take();
}

}  // namespace internal

using internal::FindIn;
using internal::GroupRecord;
using internal::MemberKey;
using internal::ParseMemberKey;
using internal::RecordKey;
using internal::RevokedToken;

std::map<std::string, std::optional<std::string>> TenantState::TakeDirty() {
  std::map<std::string, std::optional<std::string>> out;
  for (const std::string& key : dirty_) {
    std::optional<std::string> value;
    const std::string_view id = key.size() > 2 ? std::string_view(key).substr(2) : "";
    switch (key[0]) {
      case 't':
        if (exists_) value = ToJson(tenant_);
        break;
      case 'u':
        if (const User* u = FindUser(id)) value = ToJson(*u);
        break;
      case 'r':
        if (const Role* r = FindRole(id)) value = ToJson(*r);
        break;
      case 'g':
        if (const Group* g = FindGroup(id)) value = GroupRecord(*g);
        break;
      case 'm': {
        std::string_view group_id;
        Subject member;
        if (!ParseMemberKey(key, group_id, member)) break;
        const Group* g = FindGroup(group_id);
        if (g != nullptr && std::binary_search(g->members.begin(), g->members.end(), member)) {
          value = "{}";
        }
        break;
      }
      case 'b':
        if (const Binding* b = FindBinding(id)) value = ToJson(*b);
        break;
      case 'c':
        if (const ApiClient* c = FindClient(id)) value = ToJson(*c);
        break;
      case 'i':
        if (const Invitation* i = FindInvitation(id)) value = ToJson(*i);
        break;
      case 'n':
        if (const Node* n = FindIn(nodes_, id)) value = ToJson(*n);
        break;
      case 'p':
        if (const PropertyDefinition* p = FindProperty(id)) value = ToJson(*p);
        break;
      case 'x':
        if (std::optional<Time> t = RevokedTokenExpiry(id)) {
          value = ToJson(RevokedToken{std::string(id), *t});
        }
        break;
      default:
        // Only this state makes dirty keys, each of a kind above: another is a bug, and
        // writing it as a delete would lose a record. Stop before anything is written; the log
        // is the truth and the next start loads the state as it was.
        core::log::Error("a state record of an unknown kind was marked dirty; stopping",
                         {{"tenant", tenant_id_}, {"key", key}});
        std::abort();
    }
    out.emplace(key, std::move(value));
  }
  dirty_.clear();
  return out;
}

void TenantState::ForEachRecord(
    const std::function<void(const std::string&, const std::string&)>& fn) const {
  std::map<std::string, std::string> records;
  if (exists_) records.emplace("t", ToJson(tenant_));
  for (const auto& [id, u] : users_) records.emplace(RecordKey('u', id), ToJson(u));
  for (const auto& [id, r] : roles_) records.emplace(RecordKey('r', id), ToJson(r));
  for (const auto& [id, g] : groups_) {
    records.emplace(RecordKey('g', id), GroupRecord(g));
    for (const Subject& m : g.members) records.emplace(MemberKey(id, m), "{}");
  }
  for (const auto& [id, b] : bindings_) records.emplace(RecordKey('b', id), ToJson(b));
  for (const auto& [id, c] : clients_) records.emplace(RecordKey('c', id), ToJson(c));
  for (const auto& [id, i] : invitations_) records.emplace(RecordKey('i', id), ToJson(i));
  for (const auto& [id, n] : nodes_) records.emplace(RecordKey('n', id), ToJson(n));
  for (const auto& [key, p] : properties_) records.emplace(RecordKey('p', key), ToJson(p));
  for (const auto& [jti, t] : revoked_tokens_) {
    records.emplace(RecordKey('x', jti), ToJson(RevokedToken{jti, t}));
  }
  for (const auto& [key, value] : records) fn(key, value);
}

Status TenantState::LoadRecord(std::string_view key, std::string_view value) {
  auto bad = [&](const Error& e) {
    return Corruption("state record " + tenant_id_ + "/" + std::string(key) + ": " + e.message);
  };
  auto load = [&](auto& entity) -> Status {
    Status s = FromJson(value, entity);
    return s.ok() ? s : Status(bad(s.error()));
  };
  if (key.empty()) return Corruption("empty state record key");
  switch (key[0]) {
    case 't': {
      CUSTOS_RETURN_IF_ERROR(load(tenant_));
      exists_ = true;
      return OkStatus();
    }
    case 'u': {
      User u;
      CUSTOS_RETURN_IF_ERROR(load(u));
      if (u.status != UserStatus::kDeleted) email_index_[Lower(u.profile.email)] = u.id;
      IndexDue(u);
      seats_used_ += TakesASeat(u);
      users_[u.id] = std::move(u);
      return OkStatus();
    }
    case 'r': {
      Role r;
      CUSTOS_RETURN_IF_ERROR(load(r));
      role_names_[NameKey(r.name)] = r.id;
      for (const std::string& inc : r.includes) included_by_[inc].insert(r.id);
      roles_[r.id] = std::move(r);
      return OkStatus();
    }
    case 'g': {
      Group g;
      CUSTOS_RETURN_IF_ERROR(load(g));
      IndexGroup(g);
      groups_[g.id] = std::move(g);
      return OkStatus();
    }
    case 'm': {
      std::string_view group_id;
      Subject member;
      Group* g = nullptr;
      if (ParseMemberKey(key, group_id, member)) g = FindIn(groups_, group_id);
      if (g == nullptr) {
        return Corruption("membership record " + tenant_id_ + "/" + std::string(key) +
                          " without its group");
      }
      g->members.insert(std::lower_bound(g->members.begin(), g->members.end(), member), member);
      member_of_[member.Key()].insert(g->id);
      return OkStatus();
    }
    case 'b': {
      Binding b;
      CUSTOS_RETURN_IF_ERROR(load(b));
      IndexBinding(b);
      bindings_[b.id] = std::move(b);
      return OkStatus();
    }
    case 'c': {
      ApiClient c;
      CUSTOS_RETURN_IF_ERROR(load(c));
      client_names_[NameKey(c.name)] = c.id;
      clients_[c.id] = std::move(c);
      return OkStatus();
    }
    case 'i': {
      Invitation i;
      CUSTOS_RETURN_IF_ERROR(load(i));
      IndexDue(i);
      invitations_[i.id] = std::move(i);
      return OkStatus();
    }
    case 'n': {
      Node n;
      CUSTOS_RETURN_IF_ERROR(load(n));
      IndexNode(n);
      nodes_[n.id] = std::move(n);
      return OkStatus();
    }
    case 'p': {
      PropertyDefinition p;
      CUSTOS_RETURN_IF_ERROR(load(p));
      properties_[p.key] = std::move(p);
      return OkStatus();
    }
    case 'x': {
      RevokedToken t;
      CUSTOS_RETURN_IF_ERROR(load(t));
      revoked_tokens_[t.jti] = t.expires_at;
      return OkStatus();
    }
    default:
      return Corruption("unknown state record " + tenant_id_ + "/" + std::string(key));
  }
}

std::string StateDigest(const TenantState& state) {
  Sha256 hasher;
  state.ForEachRecord([&](const std::string& key, const std::string& value) {
    hasher.Update(key);
    hasher.Update("\n");
    hasher.Update(value);
    hasher.Update("\n");
  });
  return DigestHex(hasher.Finish());
}

}  // namespace custos::core::iam

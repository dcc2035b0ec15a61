// TenantState's records: the dirty ones taken for a write, every one for a snapshot or a
// digest, and one loaded at start — all three through one table of record kinds. Keys are
// "<kind>/<id>" (docs/events.md "State records").
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

// The kinds of state record, by the key's first character: how a record is encoded from the
// state (nullopt once its entity is gone), decoded into it with its indexes, and listed. The
// three record paths — TakeDirty, ForEachRecord, LoadRecord — go through this one table.
struct RecordKinds {
  using Each = std::function<void(const std::string&, const std::string&)>;
  struct Kind {
    char prefix;
    std::optional<std::string> (*encode)(const TenantState&, std::string_view key);
    Status (*decode)(TenantState&, std::string_view key, std::string_view value);
    void (*each)(const TenantState&, const Each&);
  };

  static const std::vector<Kind>& All();
  static const Kind* Find(std::string_view key) {
    if (key.empty()) return nullptr;
    for (const Kind& k : All()) {
      if (k.prefix == key[0]) return &k;
    }
    return nullptr;
  }

 private:
  static std::string_view IdOf(std::string_view key) {
    return key.size() > 2 ? key.substr(2) : std::string_view();
  }
  template <class E>
  static Status Load(const TenantState& s, std::string_view key, std::string_view value, E& out) {
    Status loaded = FromJson(value, out);
    if (loaded.ok()) return loaded;
    return Corruption("state record " + s.tenant_id_ + "/" + std::string(key) + ": " +
                      loaded.error().message);
  }
  // A kind whose records are one map's entities, each as its JSON; `index` adds a loaded
  // entity to the state's indexes and map.
  template <char kPrefix, auto kMap, class Entity>
  static Kind EntityKind(Status (*decode)(TenantState&, std::string_view, std::string_view)) {
    return Kind{kPrefix,
                [](const TenantState& s, std::string_view key) -> std::optional<std::string> {
                  const Entity* e = FindIn(s.*kMap, IdOf(key));
                  return e == nullptr ? std::nullopt : std::optional<std::string>(ToJson(*e));
                },
                decode,
                [](const TenantState& s, const Each& fn) {
                  for (const auto& [id, e] : s.*kMap) fn(RecordKey(kPrefix, id), ToJson(e));
                }};
  }
};

const std::vector<RecordKinds::Kind>& RecordKinds::All() {
  using S = TenantState;
  static const std::vector<Kind> kinds = {
      Kind{'t',
           [](const S& s, std::string_view) -> std::optional<std::string> {
             return s.exists_ ? std::optional<std::string>(ToJson(s.tenant_)) : std::nullopt;
           },
           [](S& s, std::string_view key, std::string_view value) -> Status {
             CUSTOS_RETURN_IF_ERROR(Load(s, key, value, s.tenant_));
             s.exists_ = true;
             return OkStatus();
           },
           [](const S& s, const Each& fn) {
             if (s.exists_) fn("t", ToJson(s.tenant_));
           }},
      EntityKind<'u', &S::users_, User>(
          [](S& s, std::string_view key, std::string_view value) -> Status {
            User u;
            CUSTOS_RETURN_IF_ERROR(Load(s, key, value, u));
            if (u.status != UserStatus::kDeleted) s.email_index_[Lower(u.profile.email)] = u.id;
            s.IndexDue(u);
            s.seats_used_ += S::TakesASeat(u);
            s.users_[u.id] = std::move(u);
            return OkStatus();
          }),
      EntityKind<'r', &S::roles_, Role>(
          [](S& s, std::string_view key, std::string_view value) -> Status {
            Role r;
            CUSTOS_RETURN_IF_ERROR(Load(s, key, value, r));
            s.role_names_[NameKey(r.name)] = r.id;
            for (const std::string& inc : r.includes) s.included_by_[inc].insert(r.id);
            s.roles_[r.id] = std::move(r);
            return OkStatus();
          }),
      // A group's record is everything but its members; each membership is a record.
      Kind{'g',
           [](const S& s, std::string_view key) -> std::optional<std::string> {
             const Group* g = FindIn(s.groups_, IdOf(key));
             return g == nullptr ? std::nullopt : std::optional<std::string>(GroupRecord(*g));
           },
           [](S& s, std::string_view key, std::string_view value) -> Status {
             Group g;
             CUSTOS_RETURN_IF_ERROR(Load(s, key, value, g));
             s.IndexGroup(g);
             s.groups_[g.id] = std::move(g);
             return OkStatus();
           },
           [](const S& s, const Each& fn) {
             for (const auto& [id, g] : s.groups_) fn(RecordKey('g', id), GroupRecord(g));
           }},
      Kind{'m',
           [](const S& s, std::string_view key) -> std::optional<std::string> {
             std::string_view group_id;
             Subject member;
             if (!ParseMemberKey(key, group_id, member)) return std::nullopt;
             const Group* g = FindIn(s.groups_, group_id);
             if (g == nullptr ||
                 !std::binary_search(g->members.begin(), g->members.end(), member)) {
               return std::nullopt;
             }
             return "{}";
           },
           [](S& s, std::string_view key, std::string_view) -> Status {
             std::string_view group_id;
             Subject member;
             Group* g = nullptr;
             if (ParseMemberKey(key, group_id, member)) g = FindIn(s.groups_, group_id);
             if (g == nullptr) {
               return Corruption("membership record " + s.tenant_id_ + "/" + std::string(key) +
                                 " without its group");
             }
             g->members.insert(std::lower_bound(g->members.begin(), g->members.end(), member),
                               member);
             s.member_of_[member.Key()].insert(g->id);
             return OkStatus();
           },
           [](const S& s, const Each& fn) {
             for (const auto& [id, g] : s.groups_) {
               for (const Subject& m : g.members) fn(MemberKey(id, m), "{}");
             }
           }},
      EntityKind<'b', &S::bindings_, Binding>(
          [](S& s, std::string_view key, std::string_view value) -> Status {
            Binding b;
            CUSTOS_RETURN_IF_ERROR(Load(s, key, value, b));
            s.IndexBinding(b);
            s.bindings_[b.id] = std::move(b);
            return OkStatus();
          }),
      EntityKind<'c', &S::clients_, ApiClient>(
          [](S& s, std::string_view key, std::string_view value) -> Status {
            ApiClient c;
            CUSTOS_RETURN_IF_ERROR(Load(s, key, value, c));
            s.client_names_[NameKey(c.name)] = c.id;
            s.clients_[c.id] = std::move(c);
            return OkStatus();
          }),
      EntityKind<'i', &S::invitations_, Invitation>(
          [](S& s, std::string_view key, std::string_view value) -> Status {
            Invitation i;
            CUSTOS_RETURN_IF_ERROR(Load(s, key, value, i));
            s.IndexDue(i);
            s.invitations_[i.id] = std::move(i);
            return OkStatus();
          }),
      EntityKind<'n', &S::nodes_, Node>(
          [](S& s, std::string_view key, std::string_view value) -> Status {
            Node n;
            CUSTOS_RETURN_IF_ERROR(Load(s, key, value, n));
            s.IndexNode(n);
            s.nodes_[n.id] = std::move(n);
            return OkStatus();
          }),
      EntityKind<'p', &S::properties_, PropertyDefinition>(
          [](S& s, std::string_view key, std::string_view value) -> Status {
            PropertyDefinition p;
            CUSTOS_RETURN_IF_ERROR(Load(s, key, value, p));
            s.properties_[p.key] = std::move(p);
            return OkStatus();
          }),
      // Revoked tokens, until they expire: jti → expiry.
      Kind{'x',
           [](const S& s, std::string_view key) -> std::optional<std::string> {
             const std::optional<Time> t = s.RevokedTokenExpiry(IdOf(key));
             if (!t) return std::nullopt;
             return ToJson(RevokedToken{std::string(IdOf(key)), *t});
           },
           [](S& s, std::string_view key, std::string_view value) -> Status {
             RevokedToken t;
             CUSTOS_RETURN_IF_ERROR(Load(s, key, value, t));
             s.revoked_tokens_[t.jti] = t.expires_at;
             return OkStatus();
           },
           [](const S& s, const Each& fn) {
             for (const auto& [jti, t] : s.revoked_tokens_) {
               fn(RecordKey('x', jti), ToJson(RevokedToken{jti, t}));
             }
           }},
  };
  return kinds;
}

}  // namespace internal

using internal::RecordKinds;

std::map<std::string, std::optional<std::string>> TenantState::TakeDirty() {
  std::map<std::string, std::optional<std::string>> out;
  for (const std::string& key : dirty_) {
    const RecordKinds::Kind* kind = RecordKinds::Find(key);
    if (kind == nullptr) {
      // Only this state makes dirty keys, each of a kind in the table: another is a bug, and
      // writing it as a delete would lose a record. Stop before anything is written; the log
      // is the truth and the next start loads the state as it was.
      core::log::Error("a state record of an unknown kind was marked dirty; stopping",
                       {{"tenant", tenant_id_}, {"key", key}});
      std::abort();
    }
    out.emplace(key, kind->encode(*this, key));
  }
  dirty_.clear();
  return out;
}

void TenantState::ForEachRecord(
    const std::function<void(const std::string&, const std::string&)>& fn) const {
  std::map<std::string, std::string> records;
  for (const RecordKinds::Kind& kind : RecordKinds::All()) {
    kind.each(*this, [&](const std::string& key, const std::string& value) {
      records.emplace(key, value);
    });
  }
  for (const auto& [key, value] : records) fn(key, value);
}

Status TenantState::LoadRecord(std::string_view key, std::string_view value) {
  if (key.empty()) return Corruption("empty state record key");
  const RecordKinds::Kind* kind = RecordKinds::Find(key);
  if (kind == nullptr) {
    return Corruption("unknown state record " + tenant_id_ + "/" + std::string(key));
  }
  return kind->decode(*this, key, value);
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

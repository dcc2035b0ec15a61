// TenantState: the current identity state of one tenant — users, roles, groups, bindings,
// API clients, invitations, the resource tree, property definitions, revoked tokens — with
// the indexes checks need (email, names, bindings by subject and role, group membership,
// tree children). It changes only by Apply(event), which is the same for a live command and
// for a replay, and it remembers which records changed so that the projection can persist
// exactly those (TakeDirty).
//
// Records: every entity is one record, its key relative to the tenant ("u/usr_…", "r/…",
// "g/…", "b/…", "c/…", "i/…", "n/…", "p/<key>", "x/<jti>", "t" for the tenant) and its
// value the entity's canonical JSON; a group's members are records of their own
// ("m/<group>/<type>:<id>"), so a membership change writes a few bytes. ForEachRecord lists them in
// key order (the digest); LoadRecord rebuilds the state from them.
//
// Thread-safety: the owner guards it — Apply, LoadRecord, TakeDirty and FinishLoad under its
// exclusive lock (IdentityService: the tenant slot's shared_mutex); const methods may run
// concurrently under a shared lock (GrantsOf's cache has a mutex of its own).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/iam/model.h"
#include "core/json_value.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::core::iam {

namespace internal {
class Applier;
struct RecordKinds;
}  // namespace internal

// Hash maps keyed by std::string that look up by std::string_view without allocating.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// A role's expanded permissions: its own and every active included role's, each distinct
// permission once, as pointers into the roles' own lists — shared, not copied per role, so
// memory follows the distinct permissions (../shared/spec/ACCESS.md rule 7 bounds them at 1,000 a
// role).
using PermissionRefs = std::vector<const Permission*>;

// One binding that reaches a subject, directly or through a group, with its role's expanded
// permissions (active roles only).
struct SubjectGrant {
  const Binding* binding = nullptr;
  const Group* via_group = nullptr;
  const PermissionRefs* permissions = nullptr;
};

// A subject's grants, grouped by the scope they are bound at.
struct SubjectGrants {
  std::vector<std::pair<std::string_view, std::vector<SubjectGrant>>> by_scope;
};

class TenantState {
 public:
  explicit TenantState(std::string tenant_id);
  ~TenantState();
  TenantState(TenantState&&) noexcept;
  TenantState& operator=(TenantState&&) noexcept;

  [[nodiscard]] const std::string& tenant_id() const { return tenant_id_; }
  // False until tenant.created has been applied.
  [[nodiscard]] bool exists() const { return exists_; }
  [[nodiscard]] const Tenant& tenant() const { return tenant_; }

  [[nodiscard]] const User* FindUser(std::string_view id) const;
  // Not deleted users only; case-insensitive.
  [[nodiscard]] const User* FindUserByEmail(std::string_view email) const;
  [[nodiscard]] const Role* FindRole(std::string_view id) const;
  [[nodiscard]] const Role* FindRoleByName(std::string_view name) const;
  [[nodiscard]] const Group* FindGroup(std::string_view id) const;
  [[nodiscard]] const Group* FindGroupByName(std::string_view name) const;
  [[nodiscard]] const Binding* FindBinding(std::string_view id) const;
  [[nodiscard]] const ApiClient* FindClient(std::string_view id) const;
  [[nodiscard]] const ApiClient* FindClientByName(std::string_view name) const;
  [[nodiscard]] const Invitation* FindInvitation(std::string_view id) const;
  // A user's display name, a group's or client's name; "" when unknown.
  [[nodiscard]] std::string NameOf(const Subject& subject) const;
  // Includes the root node ("root", type "tenant").
  [[nodiscard]] const Node* FindNode(std::string_view id) const;
  [[nodiscard]] const Node* FindProjectByName(std::string_view name) const;
  [[nodiscard]] const PropertyDefinition* FindProperty(std::string_view key) const;
  // The token's expiry if it was revoked (and has not expired as of the last event).
  [[nodiscard]] std::optional<Time> RevokedTokenExpiry(std::string_view jti) const;

  [[nodiscard]] const StringMap<User>& users() const { return users_; }
  [[nodiscard]] const StringMap<Role>& roles() const { return roles_; }
  [[nodiscard]] const StringMap<Group>& groups() const { return groups_; }
  [[nodiscard]] const StringMap<Binding>& bindings() const { return bindings_; }
  [[nodiscard]] const StringMap<ApiClient>& clients() const { return clients_; }
  [[nodiscard]] const StringMap<Invitation>& invitations() const { return invitations_; }
  [[nodiscard]] const StringMap<Node>& nodes() const { return nodes_; }
  [[nodiscard]] const std::map<std::string, PropertyDefinition, std::less<>>& properties() const {
    return properties_;
  }

  // Binding ids of a subject (its own, not its groups'), of a role, at a scope.
  [[nodiscard]] const std::set<std::string>& BindingsOf(const Subject& subject) const;
  [[nodiscard]] const std::set<std::string>& BindingsOfRole(std::string_view role_id) const;
  [[nodiscard]] const std::set<std::string>& BindingsAt(std::string_view scope) const;
  // Group ids the subject is a direct member of.
  [[nodiscard]] const std::set<std::string>& GroupsOf(const Subject& subject) const;
  [[nodiscard]] const std::set<std::string>& ChildrenOf(std::string_view node_id) const;
  // Groups whose scope is the node (system and app groups of an environment or project).
  [[nodiscard]] const std::set<std::string>& GroupsScopedTo(std::string_view node_id) const;

  // A role's permissions with those of its included roles (transitively; an inactive included
  // role contributes nothing). Kept current by Apply; empty for an unknown role.
  [[nodiscard]] const PermissionRefs& ExpandedPermissions(std::string_view role_id) const;

  // The subject's own bindings and its groups' (active roles only), computed once per change
  // of bindings, groups or roles and shared by concurrent readers. Valid while the state is
  // not written (the caller holds the read lock).
  [[nodiscard]] std::shared_ptr<const SubjectGrants> GrantsOf(const Subject& subject) const;

  // Applies one event of this tenant. kCorruption if it does not fit the state (an event
  // for an unknown entity, a malformed payload): the log and the state disagree.
  [[nodiscard]] Status Apply(std::string_view type, const JsonValue& data, Time time);
  [[nodiscard]] Status Apply(std::string_view type, std::string_view data_json, Time time);

  // Records changed since the last call: key → new value, or nullopt when removed.
  [[nodiscard]] std::map<std::string, std::optional<std::string>> TakeDirty();

  // What runs out by itself and is still to be recorded — pending invitations past their
  // expiry, timed locks past their end — as ("i/<id>" | "u/<id>") keys, oldest first, at most
  // `max`. An entry may be stale (already recorded otherwise); the caller checks the entity.
  [[nodiscard]] std::vector<std::string> DueBy(Time now, size_t max) const;

  // Users that count against the seat limit: neither deactivated, deleted nor support.
  [[nodiscard]] size_t seats_used() const { return seats_used_; }
  [[nodiscard]] static bool TakesASeat(const User& u);

  // Every record, in key order.
  void ForEachRecord(
      const std::function<void(const std::string& key, const std::string& value)>& fn) const;
  // The key of the tenant's own record (present once tenant.created is applied), and the
  // prefix of its API clients' records ("c/<client id>").
  static constexpr std::string_view kTenantRecordKey = "t";
  static constexpr std::string_view kClientRecordPrefix = "c/";
  // Restores one record written by ForEachRecord/TakeDirty; call FinishLoad after the last.
  [[nodiscard]] Status LoadRecord(std::string_view key, std::string_view value);
  [[nodiscard]] Status FinishLoad();

 private:
  friend class internal::Applier;       // Apply, by event type (apply*.cc)
  friend struct internal::RecordKinds;  // the record kinds (state_records.cc)

  void Touch(std::string key) { dirty_.insert(std::move(key)); }

  void IndexBinding(const Binding& b);
  void UnindexBinding(const Binding& b);
  void IndexGroup(const Group& g);
  void UnindexGroup(const Group& g);
  void IndexNode(const Node& n);
  void UnindexNode(const Node& n);
  void PruneRevokedTokens(Time now);
  // Keeps `due_` true for one user or invitation after it changed (or was loaded).
  void IndexDue(const User& u);
  void IndexDue(const Invitation& inv);
  void SetDue(std::string key, std::optional<Time> when);
  void UnindexInclude(const std::string& role_id, const std::string& included);
  [[nodiscard]] PermissionRefs Expand(const std::string& role_id) const;
  void RecomputeExpansions(const std::string& role_id);

  std::string tenant_id_;
  bool exists_ = false;
  Tenant tenant_;
  Node root_;

  size_t seats_used_ = 0;
  std::set<std::pair<Time, std::string>> due_;  // (when, "i/<id>" | "u/<id>")
  StringMap<Time> due_at_;                      // key → its entry in due_
  StringMap<User> users_;
  StringMap<std::string> email_index_;  // lower email → user id
  StringMap<Role> roles_;
  StringMap<std::string> role_names_;
  StringMap<Group> groups_;
  StringMap<std::string> group_names_;
  StringMap<Binding> bindings_;
  StringMap<std::set<std::string>> bindings_by_subject_;
  StringMap<std::set<std::string>> bindings_by_role_;
  StringMap<std::set<std::string>> bindings_by_scope_;
  StringMap<std::set<std::string>> member_of_;  // subject key → groups
  StringMap<std::set<std::string>> groups_by_scope_;
  StringMap<ApiClient> clients_;
  StringMap<std::string> client_names_;
  StringMap<Invitation> invitations_;
  StringMap<Node> nodes_;
  StringMap<std::set<std::string>> children_;
  StringMap<std::string> project_names_;
  std::map<std::string, PropertyDefinition, std::less<>> properties_;
  std::map<std::string, Time, std::less<>> revoked_tokens_;  // jti → expiry
  StringMap<std::set<std::string>> included_by_;             // role → includers
  StringMap<PermissionRefs> expanded_;                       // derived, not stored

  std::set<std::string> dirty_;

  // Derived, for readers: bumped by every change that can alter a subject's grants.
  uint64_t generation_ = 0;
  struct GrantsCache;
  std::unique_ptr<GrantsCache> grants_cache_;
};

// SHA-256 (hex) over the tenant's records in key order: "key\nvalue\n" each. Two states
// are the same iff their digests are (credentials are not part of the state).
[[nodiscard]] std::string StateDigest(const TenantState& state);

}  // namespace custos::core::iam

// Decider: the implementation of Decide, one method per command, spread over
// decide_*.cc by area. Private to core/iam.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/iam/access.h"
#include "core/iam/authority.h"
#include "core/iam/decide.h"

namespace custos::core::iam::internal {

class Decider {
 public:
  Decider(const TenantState& state, CommandContext& ctx)
      : s_(state), ctx_(ctx), auth_(state, ctx.now, ctx.caller) {}

  Result<Decision> operator()(const CreateTenant& c);
  Result<Decision> operator()(const UpdateTenant& c);
  Result<Decision> operator()(const SetLegalHold& c);
  Result<Decision> operator()(const CreateUser& c);
  Result<Decision> operator()(const UpdateUser& c);
  Result<Decision> operator()(const ChangeUserStatus& c);
  Result<Decision> operator()(const ResetPassword& c);
  Result<Decision> operator()(const SetUserTag& c);
  Result<Decision> operator()(const RemoveUserTag& c);
  Result<Decision> operator()(const ChangePassword& c);
  Result<Decision> operator()(const RecordLogin& c);
  Result<Decision> operator()(const EnrollMfa& c);
  Result<Decision> operator()(const RemoveMfa& c);
  Result<Decision> operator()(const RecordMfa& c);
  Result<Decision> operator()(const ImportUsers& c);
  Result<Decision> operator()(const RecordUserExport& c);
  Result<Decision> operator()(const DefineProperty& c);
  Result<Decision> operator()(const RemoveProperty& c);
  Result<Decision> operator()(const CreateRole& c);
  Result<Decision> operator()(const UpdateRole& c);
  Result<Decision> operator()(const ChangeRoleStatus& c);
  Result<Decision> operator()(const DeleteRole& c);
  Result<Decision> operator()(const CreateGroup& c);
  Result<Decision> operator()(const UpdateGroup& c);
  Result<Decision> operator()(const DeleteGroup& c);
  Result<Decision> operator()(const AddGroupMembers& c);
  Result<Decision> operator()(const RemoveGroupMember& c);
  Result<Decision> operator()(const CreateBinding& c);
  Result<Decision> operator()(const DeleteBinding& c);
  Result<Decision> operator()(const CreateClient& c);
  Result<Decision> operator()(const UpdateClient& c);
  Result<Decision> operator()(const ChangeClientStatus& c);
  Result<Decision> operator()(const DeleteClient& c);
  Result<Decision> operator()(const CreateClientSecret& c);
  Result<Decision> operator()(const RevokeClientSecret& c);
  Result<Decision> operator()(const RecordTokenIssued& c);
  Result<Decision> operator()(const RevokeToken& c);
  Result<Decision> operator()(const CreateInvitation& c);
  Result<Decision> operator()(const ResendInvitation& c);
  Result<Decision> operator()(const RevokeInvitation& c);
  Result<Decision> operator()(const AcceptInvitation& c);
  Result<Decision> operator()(const ExpireDue& c);
  Result<Decision> operator()(const CreateNode& c);
  Result<Decision> operator()(const UpdateNode& c);
  Result<Decision> operator()(const DeleteNode& c);
  Result<Decision> operator()(const ConfigureOidc& c);
  Result<Decision> operator()(const RemoveOidc& c);
  Result<Decision> operator()(const RecordSsoLogin& c);

 private:
  template <Reflected P>
  void Emit(std::string_view type, const P& payload, std::optional<Target> target,
            std::string changes = {}) {
    d_.events.push_back(MakeEvent(type, payload, std::move(target), std::move(changes)));
  }
  Result<Decision> Done() { return std::move(d_); }

  [[nodiscard]] Status CheckIfMatch(int64_t version) const;
  [[nodiscard]] bool IsRoot() const { return !ctx_.caller.has_value(); }

  // Checks the grants a command asks for: roles and scopes exist, and the caller may bind
  // each (escalation rule). `field` names the list ("bindings").
  [[nodiscard]] Status CheckGrants(const std::vector<Grant>& grants, const std::string& field);
  // Giving bindings or memberships while creating a principal needs what the bindings and
  // members routes need: admin on iam.binding, update on iam.group.
  [[nodiscard]] Status RequireGrantRights(bool bindings, bool groups) const;
  // Rules 1-2 for each group a new principal is put in (`known_by`: who knows its credential).
  [[nodiscard]] Status CheckNewMember(const std::vector<std::string>& group_ids,
                                      const Subject& member, const std::vector<Subject>& known_by,
                                      const std::string& field) const;
  // Rule 4: how a credential of a principal goes out — in the response when the caller
  // outranks it, else by notification alone; with no channel, 409.
  // `addressed`: the credential's message has a mail address (a user's or an invitee's), so a
  // mailer can take it; an API client's secret has none and needs the topic.
  [[nodiscard]] Result<CredentialDelivery> DeliveryFor(bool outranks, std::string_view what,
                                                       bool addressed = true) const;
  [[nodiscard]] bool CanNotify(bool addressed) const;
  // The tenant principals a credential shown in a response becomes known to: the caller.
  [[nodiscard]] std::vector<Subject> KnownTo(CredentialDelivery delivery) const;
  [[nodiscard]] Status CheckGroupIds(const std::vector<std::string>& ids,
                                     const std::string& field) const;
  [[nodiscard]] Status CheckProperties(const std::map<std::string, JsonValue>& properties,
                                       const std::string& field) const;
  // Every failing field of a role's permissions and includes into `checks`.
  void CheckPermissions(const std::vector<Permission>& permissions, FieldChecks& checks) const;
  void CheckIncludes(const std::string& role_id, const std::vector<std::string>& includes,
                     FieldChecks& checks) const;
  // A group name must not be in use by any group (nor by one made in this decision).
  [[nodiscard]] Status CheckGroupNameFree(const std::string& name, std::string_view except_id,
                                          const std::string& field);

  // One more consecutive failed login (a password or a second factor) of `u`: user.locked
  // when it reaches the tenant's threshold.
  void LockIfDue(const User& u, const Target& target);

  void EmitBinding(const Subject& subject, const std::string& role_id, const std::string& scope,
                   bool system);
  void EmitBindingDeleted(const Binding& b);
  // The four system groups of an environment or project (or the tenant's five), bound to the
  // built-in roles at the node.
  [[nodiscard]] Status EmitSystemGroups(const std::string& node_id, const std::string& name);
  // Removes a subject's bindings and group memberships (as events).
  void EmitSubjectRemoval(const Subject& subject);
  void EmitGroupDeletion(const Group& g);
  // A new temporary password for the user: its hash to the credential store, the clear
  // value to the mailer's notification and to the caller (returned).
  std::string IssueTemporaryPassword(const std::string& user_id, const std::string& email,
                                     const std::string& name, Time expires_at);
  // A message to a user (not an API client) whose membership of `g` changed ("added" or
  // "removed"), if it can still sign in (neither deactivated nor deleted).
  void NotifyMembership(const Group& g, const Subject& member, std::string_view change);
  // A new client secret: its hash to the credential store, the clear value to the caller or
  // (rule 4) to the notification channel alone.
  void IssueClientSecret(const std::string& client_id, const std::string& name,
                         const std::string& key_id, CredentialDelivery delivery);
  [[nodiscard]] Target RoleTarget(const Role& r) const { return Target{"role", r.id, r.name}; }
  [[nodiscard]] Target GroupTarget(const Group& g) const { return Target{"group", g.id, g.name}; }
  // An API client's owner: a user of the tenant, not deleted (422 on owner_id).
  [[nodiscard]] Status CheckOwner(const std::optional<std::string>& owner) const;
  // One more user that counts against the tenant's seat limit in this decision; 409 past it.
  [[nodiscard]] Status TakeSeat();
  // Deactivates the active API clients `user_id` owns (off-boarding), each outranked.
  [[nodiscard]] Status DeactivateOwnedClients(const std::string& user_id);
  [[nodiscard]] Target ClientTarget(const ApiClient& c) const {
    return Target{"api_client", c.id, c.name};
  }
  [[nodiscard]] std::string SubjectName(const Subject& s) const;

  const TenantState& s_;
  CommandContext& ctx_;
  Authority auth_;
  Decision d_;
  bool import_row_ = false;  // a row of ImportUsers: its password goes by notification only
  size_t seats_taken_ = 0;   // users this decision adds against the seat limit
  std::set<std::string> new_group_names_;            // NameKey form, made in this decision
  std::map<std::string, std::string> new_builtins_;  // role name → id, made in this decision
};

// Field checks shared by the decide files.
// RequireText, and the name rules (names.h): no control or bidirectional characters.
[[nodiscard]] Status RequireName(const std::string& value, const std::string& field,
                                 size_t max_length);
// The same for an optional name ("" passes).
[[nodiscard]] Status LimitName(const std::string& value, const std::string& field,
                               size_t max_length);
[[nodiscard]] Status RequireText(const std::string& value, const std::string& field,
                                 size_t max_length);
[[nodiscard]] Status LimitText(const std::string& value, const std::string& field,
                               size_t max_length);

// Collects {"field":{"from":…,"to":…}} for the fields that differ.
class ChangeSet {
 public:
  template <class T>
  void Add(std::string_view field, const T& from, const T& to) {
    if (from == to) return;
    w_.Key(field).BeginObject().Key("from");
    WriteValue(w_, from);
    w_.Key("to");
    WriteValue(w_, to);
    w_.EndObject();
    empty_ = false;
  }
  [[nodiscard]] bool empty() const { return empty_; }
  [[nodiscard]] std::string Take() {
    if (empty_) return {};
    w_.EndObject();
    return w_.Take();
  }

 private:
  JsonWriter w_ = [] {
    JsonWriter w;
    w.BeginObject();
    return w;
  }();
  bool empty_ = true;
};

}  // namespace custos::core::iam::internal

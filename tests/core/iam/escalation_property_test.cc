// The escalation rules of ../shared/spec/ACCESS.md held as a property, the way SpiceDB tests
// itself: random tenants (a tree with overrides and apps, roles with includes, system, configured
// and app groups, users of both kinds, clients, bindings, invitations) and random command sequences
// issued by random non-root principals through Decide. After every accepted command, an
// independent and deliberately naive reading of the rules, written here from
// ../shared/spec/ACCESS.md and sharing no code with core's Authority or AccessEvaluator, checks:
//   - every grant any subject gained passes CanBind for the caller on the state before the
//     command, or rule 2's delegation (a system group's own grant, to another user that
//     neither controls the caller nor is controlled by it, nor shares a controller with it —
//     who saw whose credential is tracked here from the decisions, not from state);
//   - no credential reached the caller for a principal it does not outrank (rule 4), and
//     emails change only by callers that outrank (rule 4); rank counts latent grants (roles
//     deactivated now) too;
//   - admin kind is made or unmade only by root or admin kind (rule 3);
//   - acting on principals (status, kind, memberships — removed, or their group or binding
//     deleted — secrets) only with rank (rule 5);
//   - inherit, app, moves and deletes only with the level on the node itself, and no change
//     at all to a node the caller cannot read (rule 6);
//   - every role within 1,000 expanded permissions and 8 levels of includes (rule 7);
//   - tokens revoked only by their owner or a caller that outranks it (rule 8).
// The caller's own grants growing only by what it could bind is the first check with the
// caller as the subject (delegation never applies to itself).
//
// CUSTOS_PROPERTY_SEED=N reproduces a run (the failing seed is printed);
// CUSTOS_PROPERTY_COMMANDS=N changes how many commands (100,000 by default).
//
// Built a second time with CUSTOS_GUARD_MUTATION (tests/CMakeLists.txt: escalation_mutation),
// it switches each guard of core/iam/authority.h off in turn and requires the property to
// find a violation: no guard is dead weight, and the property can fail.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "core/iam/authority.h"
#include "tests/support/iam_fixture.h"

namespace custos::core::iam {
namespace {

// ---------------------------------------------------------------------------------------
// The reference: ../shared/spec/ACCESS.md read naively over a plain copy of the tenant.

struct World {
  struct RoleR {
    std::vector<Permission> perms;
    std::vector<std::string> includes;
    bool active = true;
  };
  struct GroupR {
    GroupType type = GroupType::kConfigured;
    std::string scope;
    std::set<Subject> members;
  };
  struct BindingR {
    Subject subject;
    std::string role;
    std::string scope;
    bool system = false;
  };
  struct NodeR {
    std::string parent;
    bool inherit = true;
    std::string type;
    std::string app;
    std::string name;
  };
  struct UserR {
    bool admin = false;
    UserStatus status = UserStatus::kActive;
    std::optional<Time> locked_until;
    std::string email;
    bool mfa = false;  // has a second factor
    bool sso = false;  // linked to an identity provider's account
  };
  // The tenant's identity provider: configured, and by whom (absent: root).
  bool sso_configured = false;
  std::optional<Subject> sso_by;
  struct ClientR {
    bool active = true;
    size_t secrets = 0;
  };
  struct InvitationR {
    std::vector<Grant> bindings;
    std::vector<std::string> groups;
    InvitationStatus status = InvitationStatus::kPending;
    std::optional<Subject> invited_by;
  };
  std::map<std::string, RoleR> roles;
  std::map<std::string, GroupR> groups;
  std::map<std::string, BindingR> bindings;
  std::map<std::string, NodeR> nodes;
  std::map<std::string, UserR> users;
  std::map<std::string, ClientR> clients;
  std::map<std::string, InvitationR> invitations;
  Time now;
  mutable std::map<std::string, std::set<Permission>> expanded;  // memo
};

World Snapshot(const TenantState& s, Time now) {
  World w;
  w.now = now;
  for (const auto& [id, r] : s.roles()) {
    w.roles[id] = {r.permissions, r.includes, r.status == ActiveStatus::kActive};
  }
  for (const auto& [id, g] : s.groups()) {
    w.groups[id] = {g.type, g.scope, std::set<Subject>(g.members.begin(), g.members.end())};
  }
  for (const auto& [id, b] : s.bindings())
    w.bindings[id] = {b.subject, b.role_id, b.scope, b.system};
  w.nodes["root"] = {"", true, "tenant", "", ""};
  for (const auto& [id, n] : s.nodes()) {
    w.nodes[id] = {n.parent_id, n.inherit, n.type, n.app, n.name};
  }
  for (const auto& [id, u] : s.users()) {
    w.users[id] = {u.profile.kind == UserKind::kAdmin,
                   u.status,
                   u.locked_until,
                   u.profile.email,
                   u.mfa.has_value(),
                   u.sso.has_value()};
  }
  for (const auto& [id, c] : s.clients()) {
    w.clients[id] = {c.status == ActiveStatus::kActive, c.secrets.size()};
  }
  for (const auto& [id, i] : s.invitations()) {
    w.invitations[id] = {i.bindings, i.group_ids, i.status, i.invited_by};
  }
  if (s.tenant().oidc) {
    w.sso_configured = true;
    w.sso_by = s.tenant().oidc->configured_by;
  }
  return w;
}

bool IsIam(const std::string& type) { return type.rfind("iam.", 0) == 0; }

// A role's permissions and, recursively, those of the active roles it includes.
const std::set<Permission>& Expand(const World& w, const std::string& role) {
  auto memo = w.expanded.find(role);
  if (memo != w.expanded.end()) return memo->second;
  std::set<Permission> out;
  std::set<std::string> seen;
  std::function<void(const std::string&)> walk = [&](const std::string& id) {
    if (!seen.insert(id).second) return;
    auto it = w.roles.find(id);
    if (it == w.roles.end()) return;
    out.insert(it->second.perms.begin(), it->second.perms.end());
    for (const std::string& inc : it->second.includes) {
      auto r = w.roles.find(inc);
      if (r != w.roles.end() && r->second.active) walk(inc);
    }
  };
  walk(role);
  return w.expanded[role] = std::move(out);
}

// Everything a role would grant were every role active: its permissions and every included
// role's, whatever their status.
std::set<Permission> LatentExpand(const World& w, const std::string& role) {
  std::set<Permission> out;
  std::set<std::string> seen;
  std::function<void(const std::string&)> walk = [&](const std::string& id) {
    if (!seen.insert(id).second) return;
    auto it = w.roles.find(id);
    if (it == w.roles.end()) return;
    out.insert(it->second.perms.begin(), it->second.perms.end());
    for (const std::string& inc : it->second.includes) walk(inc);
  };
  walk(role);
  return out;
}

struct RefGrant {
  Permission p;
  std::string scope;
  std::string group;  // "" when bound to the subject itself
  bool system = false;
};

// What a subject holds, whatever its status: its own bindings and its groups', active roles
// (with `latent`: every role, whatever its status — what it would hold were they active).
std::vector<RefGrant> Grants(const World& w, const Subject& s, bool latent = false) {
  std::vector<RefGrant> out;
  for (const auto& [id, b] : w.bindings) {
    const bool direct = b.subject == s;
    bool via = false;
    if (b.subject.type == SubjectType::kGroup && s.type != SubjectType::kGroup) {
      auto g = w.groups.find(b.subject.id);
      via = g != w.groups.end() && g->second.members.count(s) != 0;
    }
    if (!direct && !via) continue;
    auto r = w.roles.find(b.role);
    if (r == w.roles.end() || (!latent && !r->second.active)) continue;
    for (const Permission& p : latent ? LatentExpand(w, b.role) : Expand(w, b.role)) {
      out.push_back({p, b.scope, via ? b.subject.id : "", via && b.system});
    }
  }
  return out;
}

// What an invited user would hold, latent grants included.
std::vector<RefGrant> InvitationGrants(const World& w, const World::InvitationR& inv) {
  std::vector<RefGrant> out;
  for (const Grant& g : inv.bindings) {
    if (w.roles.count(g.role_id) == 0) continue;
    for (const Permission& p : LatentExpand(w, g.role_id)) out.push_back({p, g.scope, "", false});
  }
  for (const std::string& gid : inv.groups) {
    for (const auto& [id, b] : w.bindings) {
      if (b.subject != Subject{SubjectType::kGroup, gid} || w.roles.count(b.role) == 0) continue;
      for (const Permission& p : LatentExpand(w, b.role))
        out.push_back({p, b.scope, gid, b.system});
    }
  }
  return out;
}

bool Active(const World& w, const Subject& s) {
  if (s.type == SubjectType::kUser) {
    auto u = w.users.find(s.id);
    if (u == w.users.end()) return false;
    if (u->second.status == UserStatus::kActive) return true;
    return u->second.status == UserStatus::kLocked && u->second.locked_until &&
           w.now >= *u->second.locked_until;
  }
  auto c = w.clients.find(s.id);
  return c != w.clients.end() && c->second.active;
}

bool AdminKind(const World& w, const Subject& s) {
  if (s.type != SubjectType::kUser) return false;
  auto u = w.users.find(s.id);
  return u != w.users.end() && u->second.admin;
}

// The node and its ancestors whose bindings reach it: up to the first inherit: false.
std::vector<std::string> Reach(const World& w, const std::string& node) {
  std::vector<std::string> out;
  std::string at = node;
  for (int hops = 0; hops < 100; ++hops) {
    auto n = w.nodes.find(at);
    if (n == w.nodes.end()) break;
    out.push_back(at);
    if (!n->second.inherit || at == "root") break;
    at = n->second.parent;
  }
  return out;
}

bool TypeCovers(const std::string& pattern, const std::string& type) {
  return pattern == type || (pattern == "*" && !IsIam(type)) || (pattern == "iam.*" && IsIam(type));
}

Level LevelAt(const World& w, const Subject& s, const std::string& node, const std::string& type,
              const std::string& app, const std::string& resource) {
  if (!Active(w, s)) return Level::kNone;
  if (AdminKind(w, s)) return Level::kAdmin;
  const std::vector<std::string> reach = Reach(w, node);
  Level level = Level::kNone;
  for (const RefGrant& g : Grants(w, s)) {
    if (std::find(reach.begin(), reach.end(), g.scope) == reach.end()) continue;
    if (g.p.app != "*" && g.p.app != app) continue;
    if (!TypeCovers(g.p.resource_type, type)) continue;
    if (g.p.resource != "*" && (resource.empty() || g.p.resource != resource)) continue;
    level = std::max(level, g.p.level);
  }
  return level;
}

bool Covers(const Permission& q, const Permission& p) {
  return q.level >= p.level && (q.app == "*" || q.app == p.app) &&
         TypeCovers(q.resource_type, p.resource_type) &&
         (q.resource == "*" || q.resource == p.resource);
}

using Caller = std::optional<Subject>;  // none: root

bool CanBind(const World& w, const Caller& a, const Permission& p, const std::string& scope) {
  if (!a) return true;
  if (!Active(w, *a)) return false;
  if (AdminKind(w, *a)) return true;
  const std::vector<std::string> reach = Reach(w, scope);
  for (const RefGrant& g : Grants(w, *a)) {
    if (std::find(reach.begin(), reach.end(), g.scope) != reach.end() && Covers(g.p, p)) {
      return true;
    }
  }
  return false;
}

bool Delegates(const World& w, const Caller& a, const std::string& group) {
  auto g = w.groups.find(group);
  if (g == w.groups.end() || g->second.type != GroupType::kSystem) return false;
  if (!a) return true;
  return LevelAt(w, *a, g->second.scope, "iam.group", "iam", "") >= Level::kAdmin;
}

bool Outranks(const World& w, const Caller& a, const Subject& p,
              const std::vector<RefGrant>& grants, bool p_admin, bool delegated_pass) {
  if (!a) return true;
  if (!Active(w, *a) || *a == p) return false;
  if (p_admin && !AdminKind(w, *a)) return false;
  if (AdminKind(w, *a)) return true;
  for (const RefGrant& g : grants) {
    if (delegated_pass && !g.group.empty() && g.system && Delegates(w, a, g.group)) continue;
    if (!CanBind(w, a, g.p, g.scope)) return false;
  }
  return true;
}

bool OutranksNow(const World& w, const Caller& a, const Subject& p, bool delegated_pass = false) {
  return Outranks(w, a, p, Grants(w, p, /*latent=*/true), AdminKind(w, p), delegated_pass);
}

// Rule 7's measures, whatever the statuses.
std::pair<size_t, int> Shape(const World& w, const std::string& role) {
  std::set<Permission> perms;
  std::function<int(const std::string&, int)> depth = [&](const std::string& id, int guard) {
    auto r = w.roles.find(id);
    if (r == w.roles.end() || guard > 20) return 0;
    perms.insert(r->second.perms.begin(), r->second.perms.end());
    int d = 0;
    for (const std::string& inc : r->second.includes) d = std::max(d, 1 + depth(inc, guard + 1));
    return d;
  };
  const int d = depth(role, 0);
  return {perms.size(), d};
}

std::string Name(const Subject& s) { return std::string(ToString(s.type)) + ":" + s.id; }
std::string Describe(const Permission& p) {
  return std::string(ToString(p.level)) + "/" + p.app + "/" + p.resource_type + "/" + p.resource;
}
constexpr const char* kIssuer = "https://idp.example.com";

std::string Lowered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---------------------------------------------------------------------------------------
// A scenario: one random tenant and a random command sequence.

// Per command kind: refused, accepted (non-root and root callers alike).
std::map<std::string, std::pair<int, int>>& Stats() {
  static std::map<std::string, std::pair<int, int>> stats;
  return stats;
}

class Scenario {
 public:
  explicit Scenario(uint64_t seed) : rng_(seed), f_("t" + std::to_string(seed % 100000)) {}

  // Runs `commands` random commands; the first violation, or "".
  std::string Run(int commands, int* ran) {
    Setup();
    for (int i = 0; i < commands; ++i) {
      std::string v = Step(i);
      ++*ran;
      if (!v.empty()) return v;
    }
    return "";
  }

 private:
  // ---- random picks ----
  size_t Below(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <class Map>
  std::string AnyKey(const Map& m) {
    if (m.empty()) return "none";
    auto it = m.begin();
    std::advance(it, static_cast<long>(Below(m.size())));
    return it->first;
  }
  const TenantState& S() { return f_.state(); }
  std::string AnyUser() { return AnyKey(S().users()); }
  std::string AnyClient() { return AnyKey(S().clients()); }
  std::string AnyRole() { return AnyKey(S().roles()); }
  std::string AnyGroup() { return AnyKey(S().groups()); }
  std::string AnyBinding() { return AnyKey(S().bindings()); }
  std::string AnyInvitation() { return AnyKey(S().invitations()); }
  std::string AnyNode() { return Chance(0.15) ? std::string("root") : AnyKey(S().nodes()); }
  std::string AnyNodeOfType(std::initializer_list<std::string_view> types) {
    std::vector<std::string> ids;
    for (const auto& [id, n] : S().nodes()) {
      if (std::find(types.begin(), types.end(), n.type) != types.end() ||
          (n.id.rfind("res_", 0) == 0 &&
           std::find(types.begin(), types.end(), "resource") != types.end())) {
        ids.push_back(id);
      }
    }
    return ids.empty() ? "none" : ids[Below(ids.size())];
  }
  Subject AnyPrincipal() {
    if (Chance(0.3) && !S().clients().empty()) return {SubjectType::kApiClient, AnyClient()};
    return {SubjectType::kUser, AnyUser()};
  }
  Subject AnyBindingSubject() {
    const double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (r < 0.25) return {SubjectType::kGroup, AnyGroup()};
    return AnyPrincipal();
  }

  Permission AnyPermission() {
    static const char* kTypes[] = {
        "*",           "iam.*",          "workflow",       "connection", "project",
        "folder",      "environment",    "iam.user",       "iam.group",  "iam.role",
        "iam.binding", "iam.api_client", "iam.invitation", "iam.audit",  "dashboard"};
    Permission p;
    const double app = std::uniform_real_distribution<double>(0, 1)(rng_);
    p.app = app < 0.8 ? "*" : app < 0.9 ? "foundation" : "iam";
    p.resource_type = kTypes[Below(std::size(kTypes))];
    if (Chance(0.15) && !IsIam(p.resource_type)) p.resource = AnyNode();
    p.level = static_cast<Level>(1 + Below(5));
    return p;
  }
  std::vector<Permission> AnyPermissions(size_t max) {
    std::vector<Permission> out;
    const size_t n = Chance(0.02) ? 300 + Below(500) : Below(max + 1);
    for (size_t i = 0; i < n; ++i) {
      Permission p = AnyPermission();
      if (n > 50) p.resource = "res_" + std::to_string(Below(1000));  // wide roles
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
    return out;
  }
  std::vector<std::string> AnyIncludes() {
    std::vector<std::string> out;
    // Lean towards the newest role, so that include chains grow deep.
    if (Chance(0.7) && !last_role_.empty()) out.push_back(last_role_);
    for (size_t i = 0, n = Chance(0.3) ? 1 + Below(2) : 0; i < n; ++i) {
      std::string r = AnyRole();
      if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
    }
    return out;
  }
  std::vector<Grant> AnyGrants(size_t max) {
    std::vector<Grant> out;
    const size_t n = Below(max + 1);
    for (size_t i = 0; i < n; ++i) out.push_back(Grant{AnyRole(), AnyNode()});
    return out;
  }
  std::vector<std::string> AnyGroups(size_t max) {
    std::vector<std::string> out;
    const size_t n = Below(max + 1);
    for (size_t i = 0; i < n; ++i) out.push_back(AnyGroup());
    return out;
  }
  CreateUser AnyNewUser() {
    CreateUser c;
    c.email = "u" + std::to_string(next_++) + "@example.com";
    c.first_name = "U";
    c.last_name = std::to_string(next_);
    c.kind = Chance(0.1) ? UserKind::kAdmin : UserKind::kUser;
    if (Chance(0.4)) c.bindings = AnyGrants(2);
    if (Chance(0.5)) c.group_ids = AnyGroups(2);
    return c;
  }

  // ---- the world ----
  void Setup() {
    f_.CreateTenant();
    const std::string prod = NodeNamed("Production");
    const std::string dev = NodeNamed("Development");
    const std::string p1 = f_.Must(CreateNode{"project", "Alpha", prod, "", "", true}).id;
    const std::string p2 = f_.Must(CreateNode{"project", "Beta", dev, "", "", true}).id;
    const std::string f1 = f_.Must(CreateNode{"folder", "Shared", p1, "", "", true}).id;
    const std::string f2 = f_.Must(CreateNode{"folder", "Vault", p1, "", "", false}).id;
    f_.Must(CreateNode{"resource", "Sync", p1, "workflow", "", true});
    f_.Must(CreateNode{"resource", "Pay", f2, "workflow", "", true});
    f_.Must(CreateNode{"resource", "Export", f1, "workflow", "foundation", true});
    f_.Must(CreateNode{"resource", "Db", p2, "connection", "", false});
    const std::string iam_admin =
        f_.Must(CreateRole{"IAM Admin", "", {{"*", "iam.*", "*", Level::kAdmin}}, {}}).id;
    const std::string iam_editor =
        f_.Must(CreateRole{"IAM Editor", "", {{"*", "iam.*", "*", Level::kEdit}}, {}}).id;
    const std::string binder = f_.Must(CreateRole{"Binder",
                                                  "",
                                                  {{"*", "iam.binding", "*", Level::kAdmin},
                                                   {"*", "iam.user", "*", Level::kEdit},
                                                   {"*", "iam.group", "*", Level::kEdit},
                                                   {"*", "iam.role", "*", Level::kEdit},
                                                   {"*", "workflow", "*", Level::kManage}},
                                                  {}})
                                   .id;
    for (int i = 0; i < 3; ++i) {
      Result<Decision> r = f_.Run(CreateRole{"R" + std::to_string(i), "", AnyPermissions(3), {}});
      if (r.ok()) last_role_ = r->id;
    }
    f_.Must(CreateGroup{"Ops", "", GroupType::kConfigured});
    f_.Must(CreateGroup{"Alpha Apps", "", GroupType::kApp, p1});
    const std::vector<Grant> powers = {{f_.RoleId("Tenant Admin"), "root"},
                                       {iam_admin, "root"},
                                       {iam_editor, "root"},
                                       {binder, "root"},
                                       {binder, p1},
                                       {f_.RoleId("Manager"), "root"},
                                       {f_.RoleId("Designer"), p1},
                                       {f_.RoleId("Manager"), f2}};
    for (int i = 0; i < 8; ++i) {
      CreateUser c = AnyNewUser();
      c.kind = i == 0 ? UserKind::kAdmin : UserKind::kUser;
      c.bindings = {powers[Below(powers.size())]};
      if (Chance(0.5)) c.bindings.push_back(powers[Below(powers.size())]);
      if (c.bindings.size() == 2 && c.bindings[0] == c.bindings[1]) c.bindings.pop_back();
      (void)f_.Run(c);
    }
    for (int i = 0; i < 3; ++i) {
      (void)f_.Run(CreateClient{"C" + std::to_string(i), "", "", {powers[Below(powers.size())]}});
    }
    // Most users enrol a second factor (each its own), so that resets have something to act on.
    std::vector<std::string> ids;
    for (const auto& [id, u] : S().users()) ids.push_back(id);
    for (const std::string& id : ids) {
      if (Chance(0.7)) {
        (void)f_.Run(EnrollMfa{id, "v1.sealed", {"h"}, 1}, f_.As(Subject{SubjectType::kUser, id}));
      }
    }
    for (int i = 0; i < 6; ++i) {
      (void)f_.Run(CreateBinding{AnyBindingSubject(), AnyRole(), AnyNode()});
    }
    for (int i = 0; i < 6; ++i) (void)f_.Run(AddGroupMembers{AnyGroup(), {AnyPrincipal()}});
    (void)f_.Run(CreateInvitation{
        "inv" + std::to_string(next_++) + "@example.com", AnyGrants(1), AnyGroups(1), {}});
  }

  std::string NodeNamed(std::string_view name) {
    for (const auto& [id, n] : S().nodes()) {
      if (n.name == name) return id;
    }
    return "none";
  }

  // A random command: what it is, and in words.
  Command AnyCommand(std::string& words) {
    std::ostringstream os;
    const size_t kind = Below(34);
    Command c;
    switch (kind) {
      case 0:
      case 1: {
        CreateBinding b{AnyBindingSubject(), AnyRole(), AnyNode()};
        os << "CreateBinding " << Name(b.subject) << " " << b.role_id << "@" << b.scope;
        c = b;
        break;
      }
      case 2:
        c = DeleteBinding{AnyBinding()};
        os << "DeleteBinding";
        break;
      case 3:
      case 4: {
        AddGroupMembers a{AnyGroup(), {AnyPrincipal()}};
        if (Chance(0.3)) a.members.push_back(AnyPrincipal());
        os << "AddGroupMembers " << a.group_id << " " << Name(a.members[0]);
        c = a;
        break;
      }
      case 5: {
        const std::string g = AnyGroup();
        const Group* group = S().FindGroup(g);
        std::string member = group && !group->members.empty()
                                 ? group->members[Below(group->members.size())].id
                                 : AnyUser();
        c = RemoveGroupMember{g, member};
        os << "RemoveGroupMember " << g << " " << member;
        break;
      }
      case 6:
      case 7: {
        CreateUser u = AnyNewUser();
        os << "CreateUser kind=" << ToString(u.kind) << " bindings=" << u.bindings.size()
           << " groups=" << u.group_ids.size();
        c = u;
        break;
      }
      case 8: {
        UpdateUser u;
        u.user_id = AnyUser();
        if (Chance(0.5)) u.email = "e" + std::to_string(next_++) + "@example.com";
        if (Chance(0.5)) u.kind = Chance(0.5) ? UserKind::kAdmin : UserKind::kUser;
        if (!u.email && !u.kind) u.department = "Sales";
        os << "UpdateUser " << u.user_id;
        c = u;
        break;
      }
      case 9:
      case 10: {
        const auto action = static_cast<UserAction>(Below(5));
        const bool owned = Below(2) == 0;  // off-boarding the clients it owns too
        c = ChangeUserStatus{AnyUser(), action, "", owned};
        os << "ChangeUserStatus " << static_cast<int>(action) << (owned ? " +owned" : "");
        break;
      }
      case 11:
        c = ResetPassword{AnyUser()};
        os << "ResetPassword";
        break;
      case 12: {
        CreateRole r{"Role" + std::to_string(next_++), "", AnyPermissions(3), AnyIncludes()};
        os << "CreateRole perms=" << r.permissions.size() << " includes=" << r.includes.size();
        c = r;
        break;
      }
      case 13:
      case 14: {
        UpdateRole r;
        r.role_id = AnyRole();
        if (Chance(0.7)) r.permissions = AnyPermissions(3);
        if (Chance(0.4)) r.includes = AnyIncludes();
        os << "UpdateRole " << r.role_id;
        c = r;
        break;
      }
      case 15:
        c = ChangeRoleStatus{AnyRole(), Chance(0.5)};
        os << "ChangeRoleStatus";
        break;
      case 16:
        c = DeleteRole{AnyRole()};
        os << "DeleteRole";
        break;
      case 17:
        c = CreateGroup{"G" + std::to_string(next_++), "",
                        Chance(0.2) ? GroupType::kApp : GroupType::kConfigured,
                        AnyNodeOfType({"project"})};
        os << "CreateGroup";
        break;
      case 18:
        c = CreateClient{"Client" + std::to_string(next_++), "", "", AnyGrants(2),
                         Below(3) == 0 ? std::optional<std::string>(AnyUser()) : std::nullopt};
        os << "CreateClient";
        break;
      case 19:
        c = CreateClientSecret{AnyClient()};
        os << "CreateClientSecret";
        break;
      case 20: {
        const std::string id = AnyClient();
        const ApiClient* client = S().FindClient(id);
        c = RevokeClientSecret{id, client && !client->secrets.empty()
                                       ? client->secrets[Below(client->secrets.size())].key_id
                                       : "key_x"};
        os << "RevokeClientSecret";
        break;
      }
      case 21:
        c = Chance(0.7) ? Command(ChangeClientStatus{AnyClient(), Chance(0.5)})
                        : Command(DeleteClient{AnyClient()});
        os << "ChangeClientStatus/DeleteClient";
        break;
      case 22:
        c = CreateInvitation{
            "inv" + std::to_string(next_++) + "@example.com", AnyGrants(2), AnyGroups(2), {}};
        os << "CreateInvitation";
        break;
      case 23:
        c = Chance(0.7) ? Command(ResendInvitation{AnyInvitation()})
                        : Command(RevokeInvitation{AnyInvitation()});
        os << "Resend/RevokeInvitation";
        break;
      case 24:
        c = AcceptInvitation{AnyInvitation(), "In", "Vitee", "$argon2id$x", 20};
        os << "AcceptInvitation";
        break;
      case 25:
        c = CreateNode{Chance(0.5) ? "resource" : "folder",  "N" + std::to_string(next_++),
                       AnyNodeOfType({"project", "folder"}), "workflow",
                       Chance(0.2) ? "foundation" : "",      !Chance(0.3)};
        os << "CreateNode";
        break;
      case 26:
      case 27: {
        UpdateNode u;
        u.node_id = AnyNode();
        if (Chance(0.5)) u.inherit = Chance(0.5);
        if (Chance(0.2)) u.app = Chance(0.5) ? "foundation" : "";
        if (Chance(0.3)) u.parent_id = AnyNodeOfType({"project", "folder", "environment"});
        if (Chance(0.2)) u.name = "Renamed" + std::to_string(next_++);
        os << "UpdateNode " << u.node_id;
        c = u;
        break;
      }
      case 28:
        c = DeleteNode{AnyNode()};
        os << "DeleteNode";
        break;
      case 29:
        c = RemoveMfa{AnyUser(), Chance(0.8)};
        os << "RemoveMfa";
        break;
      case 30: {
        // Single sign-on configured by a random caller, its claims mapped to random groups.
        ConfigureOidc o;
        o.issuer = kIssuer;
        o.client_id = "custos";
        o.sealed_client_secret = "v1.sealed";
        o.allowed_domains = {"example.com"};
        o.group_claim = "groups";
        for (size_t i = 0, n = 1 + Below(3); i < n; ++i) {
          o.group_mapping["g" + std::to_string(i)] = AnyGroup();
        }
        o.redirect_uris = {"https://app.example.com/cb"};
        c = o;
        os << "ConfigureOidc";
        break;
      }
      case 32:
        c = RemoveOidc{};
        os << "RemoveOidc";
        break;
      case 31: {
        // A login through it: an existing user's email (linked) or a new one (provisioned),
        // with random claim values.
        RecordSsoLogin r;
        r.succeeded = true;
        r.issuer = kIssuer;
        r.client_id = "custos";
        const User* u = S().FindUser(AnyUser());
        r.email = u != nullptr && Chance(0.7) ? u->profile.email
                                              : "sso" + std::to_string(next_++) + "@example.com";
        r.subject = "sub-" + Lowered(r.email);
        for (int i = 0; i < 3; ++i) {
          if (Chance(0.5)) r.groups.push_back("g" + std::to_string(i));
        }
        c = r;
        os << "RecordSsoLogin";
        break;
      }
      default: {
        if (Chance(0.5)) {
          c = RevokeToken{AnyPrincipal(), "jti" + std::to_string(next_++),
                          f_.clock().Now() + std::chrono::hours(1), false};
          os << "RevokeToken";
        } else {
          ImportUsers import;
          for (size_t i = 0, n = 1 + Below(3); i < n; ++i) import.users.push_back(AnyNewUser());
          import.all_or_nothing = Chance(0.5);
          c = import;
          os << "ImportUsers";
        }
        break;
      }
    }
    words = os.str();
    return c;
  }

  // One random command by a random principal (now and then root, to keep the world
  // moving); checked when it succeeds.
  std::string Step(int index) {
    std::string words;
    Command command = AnyCommand(words);
    Caller caller;
    if (!Chance(0.05)) caller = AnyPrincipal();
    const bool accept = std::holds_alternative<AcceptInvitation>(command);
    if (accept) caller.reset();  // the invitee, unauthenticated
    // An SSO login is recorded by the server, on the authority of the provider's configurer.
    const bool sso = std::holds_alternative<RecordSsoLogin>(command);
    Caller configurer;
    if (sso) {
      caller.reset();
      if (S().tenant().oidc) configurer = S().tenant().oidc->configured_by;
    }
    CommandContext ctx = caller ? f_.As(*caller) : f_.Root();
    ctx.notifications = !Chance(0.1);
    const World before = Snapshot(S(), ctx.now);
    Result<Decision> d = f_.Run(command, ctx);
    const std::string kind = words.substr(0, words.find(' '));
    if (!d.ok()) {
      ++Stats()[kind].first;
      return "";
    }
    ++Stats()[kind].second;
    if (std::holds_alternative<CreateRole>(command)) last_role_ = d->id;
    const World after = Snapshot(S(), ctx.now);
    // Whose authority the command used: an accepted invitation carries its inviter's.
    Caller authority = caller;
    if (accept) {
      const auto& inv = before.invitations.at(std::get<AcceptInvitation>(command).invitation_id);
      authority = inv.invited_by;
    }
    if (sso) authority = configurer;
    if (sso) {
      // How many logins got through, and gave groups (the property must see some).
      for (const DomainEvent& e : d->events) {
        if (e.type == "auth.sso_login_succeeded") ++Stats()["(sso logins)"].second;
        if (e.type == "group.member_added") ++Stats()["(sso memberships)"].second;
      }
    }
    Track(command, *d, caller, before, after);
    // Whoever configured the provider controls every SSO login from then on.
    if (sso && configurer && !d->id.empty()) known_users_[d->id].insert(*configurer);
    if (!authority) return "";
    std::string v = Check(before, after, *authority, command, *d);
    if (v.empty()) return "";
    return "command " + std::to_string(index) + " (" + words + ") by " + Name(*authority) + ": " +
           v;
  }

  // The test's own record of who saw which credential, from the decisions alone.
  void Track(const Command& c, const Decision& d, const Caller& caller, const World& before,
             const World& after) {
    const bool shown = d.secret.has_value() && caller.has_value();
    if (std::holds_alternative<CreateUser>(c)) {
      known_users_[d.id] = shown ? std::set<Subject>{*caller} : std::set<Subject>{};
    } else if (std::holds_alternative<ImportUsers>(c)) {
      for (const auto& [id, u] : after.users) {
        if (before.users.count(id) == 0) known_users_[id] = {};
      }
    } else if (const auto* r = std::get_if<ResetPassword>(&c)) {
      if (d.credential_delivery == CredentialDelivery::kNotification) {
        known_users_[r->user_id].clear();
      } else if (shown) {
        known_users_[r->user_id].insert(*caller);
      }
    } else if (std::holds_alternative<CreateClient>(c)) {
      known_clients_[d.id] = shown ? std::set<Subject>{*caller} : std::set<Subject>{};
    } else if (const auto* r = std::get_if<CreateClientSecret>(&c)) {
      if (shown) known_clients_[r->client_id].insert(*caller);
    } else if (std::holds_alternative<CreateInvitation>(c)) {
      known_invitations_[d.id] = shown ? std::set<Subject>{*caller} : std::set<Subject>{};
    } else if (const auto* r = std::get_if<ResendInvitation>(&c)) {
      if (d.credential_delivery == CredentialDelivery::kNotification) {
        known_invitations_[r->invitation_id].clear();
      } else if (shown) {
        known_invitations_[r->invitation_id].insert(*caller);
      }
    } else if (const auto* a = std::get_if<AcceptInvitation>(&c)) {
      known_users_[d.id] = known_invitations_[a->invitation_id];
    }
  }

  std::string Check(const World& before, const World& after, const Subject& a, const Command& c,
                    const Decision& d) {
    const Caller caller = a;
    // Grants gained: rule 1, or rule 2's delegation.
    std::vector<Subject> subjects;
    for (const auto& [id, u] : after.users) {
      if (u.status != UserStatus::kDeleted) subjects.push_back({SubjectType::kUser, id});
    }
    for (const auto& [id, cl] : after.clients) subjects.push_back({SubjectType::kApiClient, id});
    for (const Subject& s : subjects) {
      std::set<std::pair<Permission, std::string>> held;
      for (const RefGrant& g : Grants(before, s)) held.emplace(g.p, g.scope);
      const std::vector<RefGrant> now = Grants(after, s);
      for (const RefGrant& g : now) {
        if (held.count({g.p, g.scope}) != 0) continue;
        if (CanBind(before, caller, g.p, g.scope)) continue;
        bool delegated = false;
        const bool unrelated = !Related(a, s);
        for (const RefGrant& via : now) {
          if (via.p == g.p && via.scope == g.scope && !via.group.empty() && via.system &&
              s.type == SubjectType::kUser && s != a && unrelated &&
              Delegates(before, caller, via.group)) {
            delegated = true;
          }
        }
        if (!delegated) {
          return Name(s) + " gained " + Describe(g.p) + " at " + g.scope + " (via " +
                 (g.group.empty() ? "a binding" : g.group) +
                 "), which the caller may neither bind nor delegate";
        }
      }
    }
    // Admin kind: rule 3.
    for (const auto& [id, u] : after.users) {
      auto was = before.users.find(id);
      const bool was_admin = was != before.users.end() && was->second.admin;
      if (u.admin != was_admin && !AdminKind(before, a)) {
        return "user " + id + " changed kind without a root or admin-kind caller";
      }
      if (was != before.users.end() && u.admin != was_admin &&
          !OutranksNow(before, caller, {SubjectType::kUser, id}, true)) {
        return "user " + id + " changed kind by a caller that does not outrank it";
      }
    }
    // Credentials: rule 4.
    if (d.secret && d.credential_delivery != CredentialDelivery::kResponse) {
      return "a secret in an answer that says it went by notification";
    }
    if (d.secret) {
      Subject p{SubjectType::kUser, d.id};
      std::vector<RefGrant> grants;
      bool admin = false;
      if (std::holds_alternative<CreateUser>(c)) {
        grants = Grants(after, p, true);
        admin = AdminKind(after, p);
      } else if (std::holds_alternative<ResetPassword>(c)) {
        grants = Grants(before, p, true);
        admin = AdminKind(before, p);
      } else if (std::holds_alternative<CreateClient>(c)) {
        p.type = SubjectType::kApiClient;
        grants = Grants(after, p, true);
      } else if (std::holds_alternative<CreateClientSecret>(c)) {
        p.type = SubjectType::kApiClient;
        grants = Grants(before, p, true);
      } else if (std::holds_alternative<CreateInvitation>(c)) {
        p = {SubjectType::kUser, "(invitee)"};
        grants = InvitationGrants(after, after.invitations.at(d.id));
      } else if (std::holds_alternative<ResendInvitation>(c)) {
        p = {SubjectType::kUser, "(invitee)"};
        grants = InvitationGrants(before, before.invitations.at(d.id));
      } else {
        return "a secret from an unexpected command";
      }
      if (!Outranks(before, caller, p, grants, admin, false)) {
        return "the credential of " + Name(p) + " reached a caller that does not outrank it";
      }
    }
    // Acting on principals: rule 5 (and rule 4 for emails).
    for (const auto& [id, u] : before.users) {
      if (u.status == UserStatus::kDeleted) continue;
      const Subject p{SubjectType::kUser, id};
      const World::UserR& now = after.users.at(id);
      if (now.status != u.status && !OutranksNow(before, caller, p, true)) {
        return "user " + id + " went from " + std::string(ToString(u.status)) + " to " +
               std::string(ToString(now.status)) + " by a caller that does not outrank it";
      }
      if (Lowered(now.email) != Lowered(u.email) && !OutranksNow(before, caller, p)) {
        return "user " + id + "'s email changed by a caller that does not outrank it";
      }
      if (u.mfa && !now.mfa && p != a && !OutranksNow(before, caller, p, true)) {
        return "user " + id + "'s second factor reset by a caller that does not outrank it";
      }
      // Rule 4: an SSO login takes over an existing user only for a configurer that outranks
      // it (the provider it configured holds the login).
      if (!u.sso && now.sso && p != a && !OutranksNow(before, caller, p, true)) {
        return "user " + id + " linked to a provider configured by a caller that does not " +
               "outrank it";
      }
    }
    for (const auto& [id, cl] : before.clients) {
      const Subject p{SubjectType::kApiClient, id};
      auto now = after.clients.find(id);
      // A client may drop its own secrets; anything else done to it needs rank.
      const bool acted = now == after.clients.end() || now->second.active != cl.active ||
                         (now->second.secrets < cl.secrets && p != a);
      if (acted && !OutranksNow(before, caller, p, true)) {
        return "client " + id + " deactivated, deleted or cut off by a caller that does not " +
               "outrank it";
      }
    }
    auto still_there = [&](const Subject& m) {
      return m.type == SubjectType::kUser ? after.users.count(m.id) != 0 &&
                                                after.users.at(m.id).status != UserStatus::kDeleted
                                          : after.clients.count(m.id) != 0;
    };
    for (const auto& [gid, g] : before.groups) {
      auto now = after.groups.find(gid);
      if (now == after.groups.end()) {
        // A group deleted with its node goes with the tree; deleted by itself, it takes every
        // member's membership away.
        if (after.nodes.count(g.scope) == 0 && g.scope != "root") continue;
        for (const Subject& m : g.members) {
          if (still_there(m) && !OutranksNow(before, caller, m, true)) {
            return Name(m) + " lost group " + gid + " (deleted) to a caller that does not " +
                   "outrank it";
          }
        }
        continue;
      }
      for (const Subject& m : g.members) {
        if (now->second.members.count(m) != 0) continue;
        const bool still = m.type == SubjectType::kUser
                               ? after.users.count(m.id) != 0 &&
                                     after.users.at(m.id).status != UserStatus::kDeleted
                               : after.clients.count(m.id) != 0;
        if (still && !OutranksNow(before, caller, m, true)) {
          return Name(m) + " removed from " + gid + " by a caller that does not outrank it";
        }
      }
    }
    for (const auto& [bid, b] : before.bindings) {
      if (after.bindings.count(bid) != 0 || after.roles.count(b.role) == 0 ||
          after.nodes.count(b.scope) == 0) {
        continue;  // kept, or gone with its role or its node
      }
      std::vector<Subject> holders;
      if (b.subject.type == SubjectType::kGroup) {
        auto g = after.groups.find(b.subject.id);
        if (g == after.groups.end()) continue;  // gone with its group (checked above)
        holders.assign(g->second.members.begin(), g->second.members.end());
      } else if (still_there(b.subject)) {
        holders.push_back(b.subject);
      }
      for (const Subject& h : holders) {
        if (!OutranksNow(before, caller, h, true)) {
          return "binding " + bid + " of " + Name(h) + " deleted by a caller that does not " +
                 "outrank it";
        }
      }
    }
    // The tree: rule 6.
    for (const auto& [id, n] : before.nodes) {
      if (id == "root") continue;
      auto now = after.nodes.find(id);
      if (now == after.nodes.end()) {
        if (LevelAt(before, a, id, n.type, n.app, id) < Level::kManage) {
          return "node " + id + " deleted without manage on it";
        }
        continue;
      }
      const bool changed = now->second.inherit != n.inherit || now->second.app != n.app ||
                           now->second.parent != n.parent;
      if (changed && LevelAt(before, a, id, n.type, n.app, id) < Level::kEdit) {
        return "node " + id + "'s inherit, app or parent changed without edit on it";
      }
      if (now->second.name != n.name && LevelAt(before, a, id, n.type, n.app, id) < Level::kView) {
        return "node " + id + " renamed by a caller that cannot read it";
      }
    }
    // Bounded roles: rule 7.
    for (const auto& [id, r] : after.roles) {
      const auto [count, depth] = Shape(after, id);
      if (count > kMaxExpandedPermissions || depth > kMaxIncludeDepth) {
        return "role " + id + " has " + std::to_string(count) + " expanded permissions, " +
               std::to_string(depth) + " levels of includes";
      }
    }
    // Single sign-on: a provider holds every SSO login, so it changes hands (or goes) only by
    // its configurer, one that outranks it, or — root's — root or admin kind (rule 4).
    if ((std::holds_alternative<ConfigureOidc>(c) || std::holds_alternative<RemoveOidc>(c)) &&
        before.sso_configured) {
      const bool may = !before.sso_by ? AdminKind(before, a)
                                      : *before.sso_by == a ||
                                            OutranksNow(before, caller, *before.sso_by, false);
      if (!may) return "took over the identity provider of a principal it does not outrank";
    }
    // Revocation: rule 8.
    if (const auto* r = std::get_if<RevokeToken>(&c)) {
      if (r->subject != a && !OutranksNow(before, caller, r->subject)) {
        return "revoked a token of " + Name(r->subject) + ", which the caller does not outrank";
      }
    }
    return "";
  }

  std::mt19937_64 rng_;
  testing::IamFixture f_;
  std::map<std::string, std::set<Subject>> known_users_;
  std::map<std::string, std::set<Subject>> known_clients_;
  std::map<std::string, std::set<Subject>> known_invitations_;

  // Who controls a principal: whoever saw its credential, whoever saw theirs, and so on.
  std::set<Subject> Controllers(const Subject& s) {
    std::set<Subject> out;
    std::vector<Subject> todo = {s};
    while (!todo.empty()) {
      const Subject at = todo.back();
      todo.pop_back();
      auto& known = at.type == SubjectType::kUser ? known_users_ : known_clients_;
      for (const Subject& k : known[at.id]) {
        if (out.insert(k).second) todo.push_back(k);
      }
    }
    return out;
  }
  // Whether a and s control one another or share a controller.
  bool Related(const Subject& a, const Subject& s) {
    const std::set<Subject> of_s = Controllers(s);
    const std::set<Subject> of_a = Controllers(a);
    if (of_s.count(a) != 0 || of_a.count(s) != 0) return true;
    for (const Subject& c : of_s) {
      if (of_a.count(c) != 0) return true;
    }
    return false;
  }
  std::string last_role_;
  int next_ = 0;
};

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

constexpr int kCommandsPerTenant = 400;

// Runs scenarios from `seed` on until `commands` commands ran or one failed; the failure
// (with its seed), or "".
std::string RunProperty(uint64_t seed, int commands, int* ran) {
  *ran = 0;
  for (uint64_t s = seed; *ran < commands; ++s) {
    Scenario scenario(s);
    std::string v = scenario.Run(std::min(kCommandsPerTenant, commands - *ran), ran);
    if (!v.empty()) return "seed " + std::to_string(s) + ", " + v;
  }
  return "";
}

#ifndef CUSTOS_GUARD_MUTATION

TEST(EscalationPropertyTest, NoCommandOfANonRootCallerEscalates) {
  const uint64_t seed = EnvOr("CUSTOS_PROPERTY_SEED", std::random_device{}());
  const int commands = static_cast<int>(EnvOr("CUSTOS_PROPERTY_COMMANDS", 100'000));
  int ran = 0;
  const std::string violation = RunProperty(seed, commands, &ran);
  EXPECT_EQ(violation, "") << "reproduce with CUSTOS_PROPERTY_SEED=<the seed above>";
  EXPECT_GE(ran, commands);
  if (commands >= 10'000) {
    EXPECT_GT(Stats()["(sso logins)"].second, 0) << "no SSO login got through";
    EXPECT_GT(Stats()["(sso memberships)"].second, 0) << "no SSO mapping gave a group";
  }
  std::printf("escalation property: %d commands from seed %llu (refused/accepted by kind:", ran,
              static_cast<unsigned long long>(seed));
  for (const auto& [kind, counts] : Stats()) {
    std::printf(" %s %d/%d", kind.c_str(), counts.first, counts.second);
  }
  std::printf(")\n");
}

#else

// Every guard of authority.h switched off in turn: the property must catch each.
TEST(EscalationMutationTest, EveryGuardIsNeeded) {
  const int budget = static_cast<int>(EnvOr("CUSTOS_MUTATION_COMMANDS", 400'000));
  for (int g = 0; g < static_cast<int>(Guard::kCount); ++g) {
    const auto guard = static_cast<Guard>(g);
    SwitchOffGuard(guard);
    int ran = 0;
    const std::string violation = RunProperty(1, budget, &ran);
    SwitchOffGuard(std::nullopt);
    EXPECT_NE(violation, "") << "with guard " << ToString(guard)
                             << " off, the property found nothing in " << ran << " commands";
    std::printf("guard %-22s off: caught after %d commands: %s\n",
                std::string(ToString(guard)).c_str(), ran, violation.substr(0, 160).c_str());
  }
}

#endif

}  // namespace
}  // namespace custos::core::iam

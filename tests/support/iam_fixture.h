// A tenant's identity state driven the way the server drives it: decide a command, then
// apply its events in order (through their JSON data, as a replay would). For the core
// identity tests.
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/iam/decide.h"
#include "core/iam/state.h"
#include "core/random.h"

namespace custos::testing {

// A deterministic source for ids and secrets in tests.
class SeededRandom final : public core::Random {
 public:
  explicit SeededRandom(uint64_t seed = 42) : rng_(seed) {}
  void Fill(unsigned char* out, size_t n) override {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<unsigned char>(rng_());
  }

 private:
  std::mt19937_64 rng_;
};

class IamFixture {
 public:
  explicit IamFixture(std::string tenant = "acme")
      : state_(tenant), clock_(core::FromUnixMillis(1795521600000)) {}

  core::iam::TenantState& state() { return state_; }
  core::FakeClock& clock() { return clock_; }

  core::iam::CommandContext Root() {
    core::iam::CommandContext ctx;
    ctx.actor = core::Actor{"root", "root", "", "", ""};
    ctx.now = clock_.Now();
    ctx.random = &random_;
    ctx.notifications = true;  // as with Kafka on: credentials may go by notification
    return ctx;
  }
  core::iam::CommandContext As(const core::iam::Subject& caller) {
    core::iam::CommandContext ctx = Root();
    ctx.actor = core::Actor{std::string(core::iam::ToString(caller.type)), caller.id, "", "", ""};
    ctx.caller = caller;
    return ctx;
  }

  // Decides and, on success, applies the events.
  core::Result<core::iam::Decision> Run(const core::iam::Command& command,
                                        core::iam::CommandContext ctx) {
    core::Result<core::iam::Decision> d = core::iam::Decide(state_, command, ctx);
    if (!d.ok()) return d;
    for (const core::iam::DomainEvent& e : d->events) {
      core::Status s = state_.Apply(e.type, e.data, ctx.now);
      EXPECT_TRUE(s.ok()) << e.type << ": " << s.error().message;
    }
    return d;
  }
  core::Result<core::iam::Decision> Run(const core::iam::Command& command) {
    return Run(command, Root());
  }
  // Runs a command that must succeed; returns the decision.
  core::iam::Decision Must(const core::iam::Command& command) { return Must(command, Root()); }
  core::iam::Decision Must(const core::iam::Command& command, core::iam::CommandContext ctx) {
    core::Result<core::iam::Decision> d = Run(command, std::move(ctx));
    EXPECT_TRUE(d.ok()) << d.error().ToString();
    return d.ok() ? std::move(d).value() : core::iam::Decision{};
  }

  // The standard tenant: Production and Development.
  void CreateTenant() {
    Must(
        core::iam::CreateTenant{state_.tenant_id(), "Acme", {}, {}, {"Production", "Development"}});
  }

  std::string RoleId(std::string_view name) {
    const core::iam::Role* r = state_.FindRoleByName(name);
    EXPECT_NE(r, nullptr) << name;
    return r == nullptr ? "" : r->id;
  }
  std::string GroupId(std::string_view name) {
    const core::iam::Group* g = state_.FindGroupByName(name);
    EXPECT_NE(g, nullptr) << name;
    return g == nullptr ? "" : g->id;
  }
  std::string NodeIdByName(std::string_view name) {
    for (const auto& [id, n] : state_.nodes()) {
      if (n.name == name) return id;
    }
    ADD_FAILURE() << "no node " << name;
    return "";
  }
  std::string NewUser(const std::string& first, std::vector<core::iam::Grant> grants = {},
                      std::vector<std::string> groups = {}) {
    core::iam::CreateUser c;
    c.email = first + "@example.com";
    c.first_name = first;
    c.last_name = "Tester";
    c.bindings = std::move(grants);
    c.group_ids = std::move(groups);
    return Must(c).id;
  }

 private:
  core::iam::TenantState state_;
  core::FakeClock clock_;
  SeededRandom random_;
};

// The types of a decision's events, in order.
inline std::vector<std::string> Types(const core::iam::Decision& d) {
  std::vector<std::string> out;
  for (const auto& e : d.events) out.push_back(e.type);
  return out;
}

// The field of a failed decision's first field error ("" if none).
inline std::string FieldOf(const core::Result<core::iam::Decision>& r) {
  if (r.ok() || r.error().fields.empty()) return "";
  return r.error().fields[0].field;
}

}  // namespace custos::testing

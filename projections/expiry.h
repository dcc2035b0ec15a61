// Expiry: the system's job that records what runs out by itself — pending invitations past
// their expiry (invitation.expired) and timed locks past their end (user.unlocked, "lock
// expired") — so that the trail says when, not only the state. Each tenant's due entries come
// from its state's index (TenantState::DueBy); a tenant with nothing due costs one look.
//
// Thread-safety: SweepAll may run from any thread; Start runs it on a thread of its own.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/clock.h"
#include "core/result.h"
#include "projections/identity_service.h"
#include "projections/internal/periodic.h"

namespace custos::projections {

class Expiry {
 public:
  Expiry(IdentityService& identity, const core::Clock& clock)
      : identity_(identity), clock_(clock) {}
  ~Expiry() { Stop(); }
  Expiry(const Expiry&) = delete;
  Expiry& operator=(const Expiry&) = delete;

  // Records every tenant's due expiries as of now; the number of events written.
  [[nodiscard]] core::Result<uint64_t> SweepAll();

  // Runs SweepAll every `interval` until Stop (or destruction).
  void Start(std::chrono::milliseconds interval);
  void Stop() { periodic_.Stop(); }

 private:
  IdentityService& identity_;
  const core::Clock& clock_;
  internal::Periodic periodic_;
};

}  // namespace custos::projections

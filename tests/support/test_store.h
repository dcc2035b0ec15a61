// The store of a test: a real RocksDB under DIR/db, on the test's clock. Reopening the same
// dir sees what was written before (the store must be closed first).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "core/clock.h"
#include "core/event.h"
#include "storage/rocks_store.h"
#include "tests/support/test_support.h"

namespace custos::testing {

// Opens into `store` (call through ASSERT_NO_FATAL_FAILURE).
inline void OpenTestStore(const TempDir& dir, const core::Clock& clock,
                          std::unique_ptr<storage::RocksStore>& store) {
  storage::StoreOptions options;
  options.path = dir.File("db");
  options.clock = &clock;
  auto opened = storage::RocksStore::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  store = std::move(opened).value();
}

// Appends `n` application events round-robin over `tenants` tenants (t0, t1, …), one append
// each (call through ASSERT_NO_FATAL_FAILURE).
inline void AppendRoundRobin(storage::RocksStore& store, int n, int tenants) {
  for (int i = 0; i < n; ++i) {
    core::EventDraft d;
    d.type = i % 3 == 0 ? "workflow.executed" : "connector.changed";
    d.actor = core::Actor{"user", "usr_" + std::to_string(i % 7), "", "", ""};
    d.data = "{\"i\":" + std::to_string(i) + "}";
    core::AppendRequest r;
    r.tenant = core::TenantId("t" + std::to_string(i % tenants));
    r.events.push_back(core::RenderDraft(d).value());
    auto appended = store.Append(std::move(r));
    ASSERT_TRUE(appended.ok()) << appended.error().message;
  }
}

}  // namespace custos::testing

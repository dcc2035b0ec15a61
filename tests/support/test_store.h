// The store of a test: a real RocksDB under DIR/db, on the test's clock. Reopening the same
// dir sees what was written before (the store must be closed first).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "core/clock.h"
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

}  // namespace custos::testing

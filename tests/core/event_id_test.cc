#include "core/event_id.h"

#include <gtest/gtest.h>

namespace custos::core {
namespace {

TEST(EventIdTest, IsEvtPrefixedUuidV7) {
  EventIdGenerator gen;
  const Time now = FromUnixMillis(1795521600123);
  EventId id = gen.Next(now);
  EXPECT_EQ(id.value().size(), 36u);
  EXPECT_TRUE(IsValidEventId(id.value())) << id.value();
  EXPECT_EQ(EventIdTime(id.value()), now);
}

TEST(EventIdTest, MonotonicWithinAMillisecondAndWhenTheClockStepsBack) {
  EventIdGenerator gen;
  std::string last;
  Time t = FromUnixMillis(1795521600000);
  for (int i = 0; i < 200000; ++i) {
    if (i == 100000) t -= std::chrono::seconds(5);  // wall clock steps back
    EventId id = gen.Next(t);
    ASSERT_TRUE(IsValidEventId(id.value()));
    ASSERT_LT(last, id.value()) << "at " << i;
    last = id.value();
  }
}

TEST(EventIdTest, RejectsMalformedIds) {
  EXPECT_FALSE(IsValidEventId("evt_0192f1c2a3b47c3d8e9f0a1b2c3d4e5"));   // short
  EXPECT_FALSE(IsValidEventId("usr_0192f1c2a3b47c3d8e9f0a1b2c3d4e5f"));  // prefix
  EXPECT_FALSE(IsValidEventId("evt_0192f1c2a3b44c3d8e9f0a1b2c3d4e5f"));  // version 4
  EXPECT_FALSE(IsValidEventId("evt_0192f1c2a3b47c3d0e9f0a1b2c3d4e5f"));  // variant
  EXPECT_FALSE(IsValidEventId("evt_0192F1C2A3B47C3D8E9F0A1B2C3D4E5F"));  // uppercase
  EXPECT_TRUE(IsValidEventId("evt_0192f1c2a3b47c3d8e9f0a1b2c3d4e5f"));
}

}  // namespace
}  // namespace custos::core

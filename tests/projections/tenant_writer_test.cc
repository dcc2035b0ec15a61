#include "projections/tenant_writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "storage/rocks_store.h"
#include "tests/support/failing_log.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace custos::projections {
namespace {

using namespace std::chrono_literals;

// A read model that counts the tenant's events: changed before an append is durable, and
// reloaded from the log's head after a failed one.
struct CountSlot final : TenantWriter::Slot {
  CountSlot(const core::TenantId& tenant, const core::EventLog& log) : Slot(tenant), log(log) {}
  core::Status LoadStored() override {
    std::optional<core::TenantHead> head = log.Head(tenant());
    loaded = head ? head->tenant_seq.value() : 0;
    return core::OkStatus();
  }
  void InstallLoaded() override { count = loaded; }
  const core::EventLog& log;
  uint64_t count = 0;  // under mutex()
  uint64_t loaded = 0;
};

core::AppendRequest OneEvent() {
  core::AppendRequest r;
  r.events.push_back(
      core::RenderDraft(core::EventDraft{"app.thing_done", {"system", "test", "", "", ""}})
          .value());
  return r;
}

// The answers of appends, waited for with a deadline.
class Answers {
 public:
  core::AppendCallback Callback(std::function<void(const core::AppendResult&)> on = nullptr) {
    return [this, on](core::AppendResult r) {
      if (on) on(r);
      std::lock_guard lock(mu_);
      results_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  std::vector<core::AppendResult> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, 10s, [&] { return results_.size() >= n; }));
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<core::AppendResult> results_;
};

class TenantWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_)); }
  std::shared_ptr<CountSlot> SlotOf(TenantWriter& writer, core::EventLog& log,
                                    const std::string& tenant) {
    return std::static_pointer_cast<CountSlot>(writer.FindOrAdd(
        core::TenantId(tenant),
        [&log](const core::TenantId& t) { return std::make_shared<CountSlot>(t, log); }));
  }

  testing::TempDir dir_;
  core::FakeClock clock_{core::FromUnixMillis(1'700'000'000'000)};
  std::unique_ptr<storage::RocksStore> store_;
};

TEST_F(TenantWriterTest, AppendsOfATenantPipelineInTheOrderTheyWereDecided) {
  TenantWriter writer(*store_, clock_);
  auto slot = SlotOf(writer, *store_, "acme");
  Answers answers;
  for (int i = 0; i < 20; ++i) {  // none waits for the one before to be durable
    TenantWriter::Locked locked = writer.Lock(slot);
    ++slot->count;
    std::move(locked).Append(OneEvent(), answers.Callback());
  }
  std::vector<core::AppendResult> results = answers.WaitFor(20);
  ASSERT_EQ(results.size(), 20u);
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().message;
    EXPECT_EQ(results[i]->front().tenant_seq.value(), i + 1);  // answered in order
  }
  EXPECT_EQ(store_->Head(core::TenantId("acme"))->tenant_seq.value(), 20u);
}

TEST_F(TenantWriterTest, AFailedAppendIsAnsweredOnlyOnceTheModelIsReloaded) {
  testing::FailingLog failing(*store_);
  TenantWriter writer(failing, clock_);
  auto slot = SlotOf(writer, failing, "acme");
  Answers first;
  {
    TenantWriter::Locked locked = writer.Lock(slot);
    ++slot->count;
    std::move(locked).Append(OneEvent(), first.Callback());
  }
  ASSERT_TRUE(first.WaitFor(1)[0].ok());
  // The next append fails, and the one decided on it (in flight behind it) with it. Each is
  // answered with the model back at what is durable: one event. The failure is held until
  // both are in flight.
  failing.fail_next = 1;
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool both_submitted = false;
  failing.before_failing = [&] {
    std::unique_lock lock(gate_mu);
    EXPECT_TRUE(gate_cv.wait_for(lock, 10s, [&] { return both_submitted; }));
  };
  Answers failed;
  uint64_t count_when_answered[2] = {99, 99};
  for (int i = 0; i < 2; ++i) {
    TenantWriter::Locked locked = writer.Lock(slot);
    ++slot->count;
    std::move(locked).Append(OneEvent(), failed.Callback([&, i](const core::AppendResult& r) {
      EXPECT_FALSE(r.ok());
      count_when_answered[i] = slot->count;  // the recovery thread holds no lock now
    }));
  }
  {
    std::lock_guard lock(gate_mu);
    both_submitted = true;
  }
  gate_cv.notify_all();
  std::vector<core::AppendResult> results = failed.WaitFor(2);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(count_when_answered[0], 1u);
  EXPECT_EQ(count_when_answered[1], 1u);
  EXPECT_FALSE(slot->poisoned());
  // And the tenant takes appends again, at the sequence the log has.
  Answers again;
  {
    TenantWriter::Locked locked = writer.Lock(slot);
    ++slot->count;
    std::move(locked).Append(OneEvent(), again.Callback());
  }
  results = again.WaitFor(1);
  ASSERT_TRUE(results[0].ok()) << results[0].error().message;
  EXPECT_EQ(results[0]->front().tenant_seq.value(), 2u);
  EXPECT_EQ(slot->count, 2u);
}

TEST_F(TenantWriterTest, APoisonedModelIsReloadedAndRefusedUntilThen) {
  TenantWriter writer(*store_, clock_);
  auto slot = SlotOf(writer, *store_, "acme");
  {
    TenantWriter::Locked locked = writer.Lock(slot);
    slot->count = 1000;  // an effect that must not stay
    std::move(locked).Poison();
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    TenantWriter::Locked locked = writer.Lock(slot);
    if (!locked.poisoned()) break;
    EXPECT_EQ(slot->Recovering().code, core::Errc::kUnavailable);
    locked.Unlock();
    std::this_thread::sleep_for(1ms);  // the poll interval of a wait with a deadline
  }
  EXPECT_FALSE(slot->poisoned());
  EXPECT_EQ(slot->count, 0u);
}

TEST_F(TenantWriterTest, AFailureThatComesBackAfterTheWriterStoppedIsStillAnswered) {
  testing::FailingLog failing(*store_);
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool stopped = false;
  failing.before_failing = [&] {
    std::unique_lock lock(gate_mu);
    EXPECT_TRUE(gate_cv.wait_for(lock, 10s, [&] { return stopped; }));
  };
  failing.fail_next = 1;
  Answers answers;
  {
    auto writer = std::make_unique<TenantWriter>(failing, clock_);
    auto slot = SlotOf(*writer, failing, "acme");
    TenantWriter::Locked locked = writer->Lock(slot);
    std::move(locked).Append(OneEvent(), answers.Callback());
  }  // the writer stops while the append is in flight
  {
    std::lock_guard lock(gate_mu);
    stopped = true;
  }
  gate_cv.notify_all();
  std::vector<core::AppendResult> results = answers.WaitFor(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok());
}

TEST_F(TenantWriterTest, TheNextTimeNeverGoesBackWhenTheClockDoes) {
  TenantWriter writer(*store_, clock_);
  auto slot = SlotOf(writer, *store_, "acme");
  TenantWriter::Locked locked = writer.Lock(slot);
  const core::Time first = locked.NextTime();
  clock_.Advance(-5000ms);
  EXPECT_EQ(locked.NextTime(), first);
  clock_.Advance(10000ms);
  EXPECT_GT(locked.NextTime(), first);
}

}  // namespace
}  // namespace custos::projections

#include "core/event.h"

#include <gtest/gtest.h>

#include "core/json_canonical.h"
#include "core/sha256.h"

namespace custos::core {
namespace {

constexpr std::string_view kId = "evt_0192f1c2a3b47c3d8e9f0a1b2c3d4e5f";

EventDraft SampleDraft() {
  EventDraft d;
  d.type = "user.updated";
  d.actor = Actor{"user", "usr_1", "Ada \"The\" Lovelace", "203.0.113.7", "curl/8.0"};
  d.target = Target{"user", "usr_2", "Grace Hopper"};
  d.data = "{\"department\":\"Engineering\"}";
  d.changes = "{\"department\":{\"from\":\"Sales\",\"to\":\"Engineering\"}}";
  d.request_id = "req-1";
  return d;
}

EventPosition SamplePosition() {
  return EventPosition{kId, 1042, "acme", 77, FromUnixMillis(1795521600123), kZeroHash};
}

TEST(EventTest, AssemblesTheCanonicalLineInEnvelopeOrder) {
  const AssembledLine a = AssembleLine(RenderDraft(SampleDraft()).value(), SamplePosition());
  const std::string body =
      "{\"id\":\"evt_0192f1c2a3b47c3d8e9f0a1b2c3d4e5f\",\"seq\":1042,\"tenant\":\"acme\","
      "\"tenant_seq\":77,\"type\":\"user.updated\",\"time\":\"2026-11-24T12:00:00.123Z\","
      "\"actor\":{\"type\":\"user\",\"id\":\"usr_1\",\"name\":\"Ada \\\"The\\\" Lovelace\","
      "\"ip\":\"203.0.113.7\",\"user_agent\":\"curl/8.0\"},"
      "\"target\":{\"type\":\"user\",\"id\":\"usr_2\",\"name\":\"Grace Hopper\"},"
      "\"data\":{\"department\":\"Engineering\"},"
      "\"changes\":{\"department\":{\"from\":\"Sales\",\"to\":\"Engineering\"}},"
      "\"request_id\":\"req-1\",\"schema\":1,\"prev_hash\":\"" +
      std::string(kZeroHash) + "\"}";
  const std::string hash = Sha256Hex(std::string(kZeroHash) + "\n" + body);
  EXPECT_EQ(a.hash, hash);
  EXPECT_EQ(a.line, body.substr(0, body.size() - 1) + ",\"hash\":\"" + hash + "\"}");
  EXPECT_TRUE(IsCanonicalJsonObject(a.line));
}

TEST(EventTest, LeavesOutAbsentOptionalMembers) {
  EventDraft d = SampleDraft();
  d.target.reset();
  d.changes.clear();
  d.actor = Actor{"system", "retention", "", "", ""};
  const AssembledLine a = AssembleLine(RenderDraft(d).value(), SamplePosition());
  EXPECT_EQ(a.line.find("\"target\""), std::string::npos);
  EXPECT_EQ(a.line.find("\"changes\""), std::string::npos);
  EXPECT_NE(a.line.find("\"actor\":{\"type\":\"system\",\"id\":\"retention\"},\"data\""),
            std::string::npos);
  EXPECT_TRUE(VerifyLine(a.line).ok());
}

TEST(EventTest, ParsesTheFramingBack) {
  const AssembledLine a = AssembleLine(RenderDraft(SampleDraft()).value(), SamplePosition());
  Result<LineFields> f = VerifyLine(a.line);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->id, kId);
  EXPECT_EQ(f->seq, 1042u);
  EXPECT_EQ(f->tenant, "acme");
  EXPECT_EQ(f->tenant_seq, 77u);
  EXPECT_EQ(f->type, "user.updated");
  EXPECT_EQ(f->time, FromUnixMillis(1795521600123));
  EXPECT_EQ(f->schema, 1u);
  EXPECT_EQ(f->prev_hash, kZeroHash);
  EXPECT_EQ(f->hash, a.hash);
}

TEST(EventTest, ReadsTheTypeAloneFromTheFraming) {
  const AssembledLine a = AssembleLine(RenderDraft(SampleDraft()).value(), SamplePosition());
  Result<std::string_view> type = ParseLineType(a.line);
  ASSERT_TRUE(type.ok()) << type.error().message;
  EXPECT_EQ(*type, "user.updated");
  // Every cut of the framing before the type's closing quote is refused.
  const size_t end = a.line.find("\",\"time\"");
  for (size_t cut = 0; cut <= end; ++cut) {
    EXPECT_FALSE(ParseLineType(a.line.substr(0, cut)).ok()) << cut;
  }
  std::string escaped = a.line;
  escaped.insert(a.line.find("user.updated"), "\\");
  EXPECT_FALSE(ParseLineType(escaped).ok());
  EXPECT_FALSE(ParseLineType("{\"seq\":1}").ok());
}

TEST(EventTest, EveryFlippedByteFailsVerification) {
  const std::string line = AssembleLine(RenderDraft(SampleDraft()).value(), SamplePosition()).line;
  for (size_t i = 0; i < line.size(); ++i) {
    std::string bad = line;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(VerifyLine(bad).ok()) << "byte " << i << " of " << line;
  }
}

TEST(EventTest, RenderDraftRefusesAnInvalidDraftNamingTheField) {
  auto field_of = [](const EventDraft& d) {
    Result<RenderedDraft> r = RenderDraft(d);
    return r.ok() ? std::string("ok") : r.error().fields.at(0).field;
  };
  EXPECT_EQ(field_of(SampleDraft()), "ok");
  EventDraft d = SampleDraft();
  d.type = "User.Updated";
  EXPECT_EQ(field_of(d), "type");
  d = SampleDraft();
  d.actor.type = "robot";
  EXPECT_EQ(field_of(d), "actor.type");
  d = SampleDraft();
  d.actor.id.clear();
  EXPECT_EQ(field_of(d), "actor.id");
  d = SampleDraft();
  d.target->id.clear();
  EXPECT_EQ(field_of(d), "target.id");
  d = SampleDraft();
  d.type = "app." + std::string(124, 'x');  // 128 bytes: the longest type
  EXPECT_EQ(field_of(d), "ok");
  d.type += "y";
  EXPECT_EQ(field_of(d), "type");
  d = SampleDraft();
  d.data = "{\"a\": 1}";
  EXPECT_EQ(field_of(d), "data");
  d = SampleDraft();
  d.data = "[1]";
  EXPECT_EQ(field_of(d), "data");
  d = SampleDraft();
  d.changes = "{";
  EXPECT_EQ(field_of(d), "changes");
  d = SampleDraft();
  d.actor.id = "usr\"1";
  EXPECT_EQ(field_of(d), "actor.id");
  d = SampleDraft();
  d.target->id = std::string(257, 'x');
  EXPECT_EQ(field_of(d), "target.id");
  d = SampleDraft();
  d.target->type = "a\nb";
  EXPECT_EQ(field_of(d), "target.type");
}

TEST(EventTest, ParsesWhoActedAndOnWhat) {
  const AssembledLine a = AssembleLine(RenderDraft(SampleDraft()).value(), SamplePosition());
  Result<LineParties> p = ParseLineParties(a.line);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->actor_type, "user");
  EXPECT_EQ(p->actor_id, "usr_1");
  EXPECT_EQ(p->target_type, "user");
  EXPECT_EQ(p->target_id, "usr_2");

  EventDraft d = SampleDraft();
  d.target.reset();
  d.actor.name = "Eve, \"}\\ \"target\":{\"type\":\"x\",\"id\":\"y\"}";
  const AssembledLine b = AssembleLine(RenderDraft(d).value(), SamplePosition());
  p = ParseLineParties(b.line);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->actor_id, "usr_1");
  EXPECT_TRUE(p->target_id.empty());
  EXPECT_FALSE(ParseLineParties("{\"id\":1}").ok());
}

TEST(EventTest, RenderDraftsNamesTheItem) {
  EventDraft bad = SampleDraft();
  bad.actor.type = "robot";
  Result<std::vector<RenderedDraft>> r = RenderDrafts({SampleDraft(), bad});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().fields.at(0).field, "events[1].actor.type");
  EventDraft other = SampleDraft();
  other.type = "user.deleted";
  r = RenderDrafts({SampleDraft(), other});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].type(), "user.deleted");
  EXPECT_EQ((*r)[1].middle(), RenderDraft(other)->middle());
}

}  // namespace
}  // namespace custos::core

namespace custos::core {
namespace {

TEST(TraceparentTest, OnlyAWellFormedTraceparentGivesATraceId) {
  EXPECT_EQ(TraceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  // A later version's extra fields after the flags are allowed.
  EXPECT_EQ(TraceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // another version
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // all-zero trace
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // all-zero parent
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // upper case
           "00-4bf92f3577b34da6a3ce929d0e0e473\"-00f067aa0ba902b7-01",  // a quote
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
       }) {
    EXPECT_EQ(TraceIdOf(bad), "") << bad;
  }
}

TEST(TraceparentTest, ATraceIdIsStoredAfterTheRequestIdAndChecked) {
  EventDraft d;
  d.type = "job.ran";
  d.actor = Actor{"system", "cron", "", "", ""};
  d.request_id = "r1";
  Result<RenderedDraft> without = RenderDraft(d);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->middle().find("trace_id"), std::string::npos);
  d.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  Result<RenderedDraft> with = RenderDraft(d);
  ASSERT_TRUE(with.ok());
  EXPECT_NE(with->middle().find("\"request_id\":\"r1\",\"trace_id\":"
                                "\"4bf92f3577b34da6a3ce929d0e0e4736\",\"schema\":1"),
            std::string::npos)
      << with->middle();
  d.trace_id = "not-a-trace";
  Result<RenderedDraft> bad = RenderDraft(d);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().fields.at(0).field, "trace_id");
}

}  // namespace
}  // namespace custos::core

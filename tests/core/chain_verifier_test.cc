#include "core/chain_verifier.h"

#include <gtest/gtest.h>

#include <utility>

#include "core/event.h"
#include "core/event_id.h"

namespace custos::core {
namespace {

// A tenant's stream of `n` lines starting at `first` from `anchor`.
std::vector<std::string> MakeChain(const std::string& tenant, int n, uint64_t first = 1,
                                   std::string anchor = std::string(kZeroHash)) {
  EventIdGenerator ids;
  std::vector<std::string> lines;
  std::string prev = std::move(anchor);
  for (int i = 0; i < n; ++i) {
    EventDraft d;
    d.type = "workflow.executed";
    d.actor = Actor{"api_client", "cli_1", "", "", ""};
    d.data = "{\"n\":" + std::to_string(i) + "}";
    const Time t = FromUnixMillis(1795521600000 + i);
    EventId id = ids.Next(t);
    AssembledLine a =
        AssembleLine(RenderDraft(d).value(),
                     EventPosition{id.value(), 100 + first + static_cast<uint64_t>(i) * 3, tenant,
                                   first + static_cast<uint64_t>(i), t, prev});
    prev = a.hash;
    lines.push_back(std::move(a.line));
  }
  return lines;
}

// Feeds lines until one fails; returns its error message, or "" if all pass.
std::string FirstFailure(const std::vector<std::string>& lines,
                         std::optional<std::string> anchor = std::nullopt) {
  ChainVerifier v(std::move(anchor));
  for (const std::string& l : lines) {
    Status s = v.Feed(l);
    if (!s.ok()) return s.error().message;
  }
  return "";
}

TEST(ChainVerifierTest, AcceptsAnUntouchedStream) {
  std::vector<std::string> lines = MakeChain("acme", 20);
  ChainVerifier v;
  for (const std::string& l : lines) ASSERT_TRUE(v.Feed(l).ok());
  EXPECT_EQ(v.summary().checked, 20u);
  EXPECT_EQ(v.summary().tenant, "acme");
  EXPECT_EQ(v.summary().first_tenant_seq, 1u);
  EXPECT_EQ(v.summary().last_tenant_seq, 20u);
  EXPECT_EQ(v.summary().anchor, kZeroHash);
}

TEST(ChainVerifierTest, NamesTheLineOfAFlippedByte) {
  const std::vector<std::string> clean = MakeChain("acme", 6);
  for (size_t line = 0; line < clean.size(); ++line) {
    for (size_t i = 0; i < clean[line].size(); i += 7) {
      std::vector<std::string> lines = clean;
      lines[line][i] = static_cast<char>(lines[line][i] ^ 0x20);
      const std::string err = FirstFailure(lines);
      EXPECT_EQ(err.rfind("line " + std::to_string(line + 1) + ": ", 0), 0u)
          << "flip at line " << line + 1 << " byte " << i << ": " << err;
    }
  }
}

TEST(ChainVerifierTest, NamesTheLineAfterARemovedOne) {
  std::vector<std::string> lines = MakeChain("acme", 6);
  lines.erase(lines.begin() + 3);
  EXPECT_EQ(FirstFailure(lines),
            "line 4: tenant_seq 5 follows 3 (expected 4): an event is missing or out of order");
}

TEST(ChainVerifierTest, NamesTheLineOfAReorderedPair) {
  std::vector<std::string> lines = MakeChain("acme", 6);
  std::swap(lines[1], lines[2]);
  EXPECT_EQ(FirstFailure(lines).rfind("line 2: tenant_seq 3 follows 1", 0), 0u);
}

TEST(ChainVerifierTest, RejectsARemovedFirstEventWhenTheAnchorIsKnown) {
  std::vector<std::string> lines = MakeChain("acme", 4);
  lines.erase(lines.begin());
  EXPECT_EQ(FirstFailure(lines, std::string(kZeroHash)).rfind("line 1: prev_hash", 0), 0u);
  // Without an anchor the stream is taken as starting after a purge, and says from where.
  ChainVerifier v;
  for (const std::string& l : lines) ASSERT_TRUE(v.Feed(l).ok());
  EXPECT_EQ(v.summary().first_tenant_seq, 2u);
  EXPECT_NE(v.summary().anchor, kZeroHash);
}

TEST(ChainVerifierTest, ContinuesFromARetentionAnchor) {
  const std::string anchor(64, 'a');
  std::vector<std::string> lines = MakeChain("acme", 5, 1001, anchor);
  EXPECT_EQ(FirstFailure(lines, anchor), "");
  EXPECT_EQ(FirstFailure(lines, std::string(64, 'b')).rfind("line 1: prev_hash", 0), 0u);
}

TEST(ChainVerifierTest, FirstEventMustStartFromZeroHash) {
  std::vector<std::string> lines = MakeChain("acme", 2, 1, std::string(64, 'c'));
  EXPECT_EQ(FirstFailure(lines).rfind("line 1: the tenant's first event", 0), 0u);
}

TEST(ChainVerifierTest, RejectsMixedTenantsAndEmptyLines) {
  std::vector<std::string> lines = MakeChain("acme", 2);
  lines.push_back(MakeChain("other", 1)[0]);
  EXPECT_EQ(FirstFailure(lines).rfind("line 3: tenant 'other'", 0), 0u);
  lines = MakeChain("acme", 2);
  lines.insert(lines.begin() + 1, "");
  EXPECT_EQ(FirstFailure(lines), "line 2: empty line");
}

TEST(ChainVerifierTest, CatchesARewrittenEventWithARecomputedHash) {
  // Event 2 rewritten with other data and a hash recomputed from event 1: the line itself is
  // consistent, but event 3's prev_hash no longer links to it.
  std::vector<std::string> lines = MakeChain("acme", 3);
  Result<LineFields> first = ParseLineFields(lines[0]);
  Result<LineFields> second = ParseLineFields(lines[1]);
  ASSERT_TRUE(first.ok() && second.ok());
  EventDraft d;
  d.type = "workflow.executed";
  d.actor = Actor{"api_client", "cli_1", "", "", ""};
  d.data = "{\"n\":999}";
  lines[1] = AssembleLine(RenderDraft(d).value(), EventPosition{second->id, second->seq, "acme", 2,
                                                                second->time, first->hash})
                 .line;
  EXPECT_EQ(FirstFailure(lines).rfind("line 3: prev_hash does not match", 0), 0u);
}

}  // namespace
}  // namespace custos::core

// The event envelope (../shared/spec/EVENTS.md) and its canonical line: the one byte string per
// event that is stored, hashed, exported and published, produced once at append and never
// rewritten.
//
//   {"id":…,"seq":…,"tenant":…,"tenant_seq":…,"type":…,"time":…,"actor":{…},"target":{…},
//    "data":{…},"changes":{…},"request_id":…,"trace_id":…,"schema":1,"prev_hash":…,"hash":…}
//
// Members in that order, `target`, `changes` and `trace_id` left out when absent, `hash` last.
// hash = hex(SHA-256(prev_hash + "\n" + body)), body = the line with its final `,"hash":"…"`
// member removed (the bytes before `,"hash":` followed by `}`).
//
// A caller describes an event as an EventDraft; the log assigns the position (id, seq,
// tenant_seq, time, prev_hash) and calls AssembleLine. Rendering the position-free parts
// (RenderDraft, which also validates) is split off so that appenders do it on their own
// threads (application events before the tenant's lock) and the log's committing thread
// only concatenates and hashes.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::core {

inline constexpr int kEventSchemaVersion = 1;
// prev_hash of a tenant's first event.
inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct Actor {
  std::string type;        // user | api_client | root | system
  std::string id;          // required
  std::string name;        // snapshot of the display name; left out when empty
  std::string ip;          // left out when empty
  std::string user_agent;  // left out when empty
};

struct Target {
  std::string type;  // required
  std::string id;    // required
  std::string name;  // left out when empty
};

struct EventDraft {
  std::string type;
  Actor actor;
  std::optional<Target> target;
  std::string data = "{}";  // canonical JSON object (json_canonical.h); never a secret
  std::string changes;      // canonical JSON object, or empty when the event has none
  std::string request_id;
  // The W3C trace the request was part of (its traceparent's trace-id: 32 lowercase hex, not
  // all zero); empty when none. Stored as "trace_id" after request_id.
  std::string trace_id;
};

// The trace-id of a W3C `traceparent` header value (version 00:
// 00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>), or "" when it is not one.
[[nodiscard]] std::string TraceIdOf(std::string_view traceparent);

// kInvalidArgument naming the field if the draft cannot become an event: type syntax, actor
// type and id, target type and id, data and changes canonical JSON objects.
[[nodiscard]] Status ValidateDraft(const EventDraft& draft);

// The parts of a line that do not depend on the event's position in the log. Made only by
// RenderDraft, which validates the draft first: holding one is the proof that its draft was
// valid, so a draft is validated once, wherever it is rendered, and nothing downstream (the
// identity service, the log's commit) checks it again.
class RenderedDraft {
 public:
  [[nodiscard]] const std::string& type() const { return type_; }
  // ,"actor":{…}…,"request_id":"…","schema":1,"prev_hash":"
  [[nodiscard]] const std::string& middle() const { return middle_; }

 private:
  friend Result<RenderedDraft> RenderDraft(const EventDraft& draft);
  RenderedDraft() = default;
  std::string type_;
  std::string middle_;
};

// ValidateDraft, then the draft rendered.
[[nodiscard]] Result<RenderedDraft> RenderDraft(const EventDraft& draft);
// Every draft of a batch, rendered; the first failure names its item (events[i].field).
[[nodiscard]] Result<std::vector<RenderedDraft>> RenderDrafts(
    const std::vector<EventDraft>& drafts);

struct EventPosition {
  std::string_view id;
  uint64_t seq = 0;
  std::string_view tenant;
  uint64_t tenant_seq = 0;
  Time time;
  std::string_view prev_hash;  // 64 lowercase hex
};

struct AssembledLine {
  std::string line;
  std::string hash;  // 64 lowercase hex
};

[[nodiscard]] AssembledLine AssembleLine(const RenderedDraft& draft, const EventPosition& pos);

// hex(SHA-256(prev_hash + "\n" + body)).
[[nodiscard]] std::string ChainHash(std::string_view prev_hash, std::string_view body);

// The members of a stored line that the log, the verifier and consumers need, read from its
// fixed framing without a JSON parser. Views point into the parsed line.
struct LineFields {
  std::string_view id;
  uint64_t seq = 0;
  std::string_view tenant;
  uint64_t tenant_seq = 0;
  std::string_view type;
  Time time;
  uint64_t schema = 0;
  std::string_view prev_hash;
  std::string_view hash;
  std::string_view body_prefix;  // the body without its closing '}'
};

// Reads the framing of a canonical line; kCorruption naming what does not fit. This checks
// the framing only: VerifyLine also checks the whole line and its hash.
[[nodiscard]] Result<LineFields> ParseLineFields(std::string_view line);
// Only the line's type, read from the same framing with nothing else checked (what a replay
// needs to pass over the events it does not apply). A view into the line.
[[nodiscard]] Result<std::string_view> ParseLineType(std::string_view line);

// Who acted and on what, as a stored line names them (ids and types are written without
// escapes: ValidateDraft sees to it). Views into the line.
struct LineParties {
  std::string_view actor_type;
  std::string_view actor_id;
  std::string_view target_type;  // empty when the event has no target
  std::string_view target_id;
};
[[nodiscard]] Result<LineParties> ParseLineParties(std::string_view line);

// The framing, canonical JSON of the whole line, and `hash` equal to the hash of the body
// under the line's own prev_hash.
[[nodiscard]] Result<LineFields> VerifyLine(std::string_view line);
// VerifyLine without the canonical-form check: the framing and the hash. For a line whose
// whole text a caller has verified already.
[[nodiscard]] Result<LineFields> VerifyLineHash(std::string_view line);

}  // namespace custos::core

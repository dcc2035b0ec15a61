// The audit index's posting blocks (private to projections/audit_index.cc).
//
// A run is the sorted tenant_seqs of one filter value of one tenant (one actor, one type, one
// type prefix, one target) or the tenant's (time, tenant_seq) pairs. Each indexing batch adds
// one block to every run it touches, under the key
//   run prefix + BE64(the block's last tenant_seq)         (time: + BE64(last time ms) first)
// whose value holds the block's entries, ascending, as varints: the first entry, then the
// differences. Blocks of one run never overlap (a batch indexes events after the previous
// one), and a key ending in its last tenant_seq lets compaction drop a block once it lies
// wholly below its tenant's purge floor. Writing a batch costs one key per run it touches,
// not one per entry.
//
// Thread-safety: a BlockBuilder and a Posting belong to one thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/kv_store.h"
#include "core/result.h"

namespace custos::projections::internal {

void PutVarint(std::string& out, uint64_t v);
// Reads one varint off the front of `in`; false when it is cut short or too long.
bool GetVarint(std::string_view& in, uint64_t& v);

// Decodes a block's tenant_seqs (ascending) into `out`.
[[nodiscard]] core::Status DecodeBlock(std::string_view value, std::vector<uint64_t>& out);
// Decodes a time block's (time ms, tenant_seq) pairs into `out`.
[[nodiscard]] core::Status DecodeTimeBlock(std::string_view value,
                                           std::vector<std::pair<uint64_t, uint64_t>>& out);

// One batch's entries, gathered by run, then written as one block per run.
class BlockBuilder {
 public:
  // `prefix` names the run. Entries of a run must come in ascending tenant_seq (and a time
  // run's in non-decreasing time): false, and nothing added, for one that does not.
  [[nodiscard]] bool Add(std::string_view prefix, uint64_t tenant_seq);
  [[nodiscard]] bool AddTime(std::string_view prefix, uint64_t time_ms, uint64_t tenant_seq);
  // A key of its own with an empty value (an event id's).
  void AddKey(std::string key);
  // Puts every block into `batch` (space kAudit) and empties the builder.
  void WriteTo(core::KvBatch& batch);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, std::vector<uint64_t>, Hash, std::equal_to<>> runs_;
  std::unordered_map<std::string, std::vector<std::pair<uint64_t, uint64_t>>, Hash, std::equal_to<>>
      times_;
  std::vector<std::pair<std::string, std::string>> keys_;
};

// A cursor over one run, in the query's direction.
class Posting {
 public:
  Posting(std::unique_ptr<core::KvIterator> it, std::string prefix, bool descending)
      : it_(std::move(it)), prefix_(std::move(prefix)), descending_(descending) {}

  // Ascending: the first tenant_seq >= x; descending: the last <= x; nullopt when none. The
  // x of successive calls move in the query's direction.
  std::optional<uint64_t> SeekTo(uint64_t x);
  [[nodiscard]] core::Status status() const;

 private:
  // Loads the block under the iterator if it belongs to the run (block_ empty if not).
  void Load();
  std::optional<uint64_t> SeekAscending(uint64_t x);
  std::optional<uint64_t> SeekDescending(uint64_t x);

  std::unique_ptr<core::KvIterator> it_;
  std::string prefix_;
  bool descending_;
  bool exhausted_ = false;       // nothing further in the query's direction
  std::vector<uint64_t> block_;  // the loaded block's entries, ascending
  core::Status error_;           // a block that did not decode
};

}  // namespace custos::projections::internal

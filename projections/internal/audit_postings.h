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

// Blocks and keys in ascending key order, in one buffer.
class SortedBlocks {
 public:
  [[nodiscard]] size_t size() const { return items_.size(); }
  [[nodiscard]] bool empty() const { return items_.empty(); }
  [[nodiscard]] std::string_view key(size_t i) const {
    return std::string_view(bytes_).substr(items_[i].at, items_[i].key_size);
  }
  [[nodiscard]] std::string_view value(size_t i) const {
    return std::string_view(bytes_).substr(items_[i].at + items_[i].key_size, items_[i].value_size);
  }
  void Clear();

 private:
  friend class BlockBuilder;
  struct Item {
    uint64_t at;  // the key, then the value, in bytes_
    uint32_t key_size;
    uint32_t value_size;
  };
  // Starts an item: its key is what bytes_ gains until EndKey, its value what follows.
  void BeginItem();
  void EndKey();
  void EndItem();
  std::string bytes_;
  std::vector<Item> items_;
};

// One batch's entries, gathered by run, then written as one block per run (several, of at
// most `max_entries` each, for a run longer than that). Runs are interned once in a flat
// table and their entries kept in one array, so adding an entry allocates nothing.
class BlockBuilder {
 public:
  // The longest block written: a query decodes a whole block to seek into it.
  static constexpr size_t kMaxBlockEntries = 4096;

  explicit BlockBuilder(size_t max_entries = kMaxBlockEntries)
      : max_entries_(max_entries == 0 ? 1 : max_entries) {}

  // `prefix` names the run. Entries of a run must come in ascending tenant_seq (and a time
  // run's in non-decreasing time): false, and nothing added, for one that does not.
  [[nodiscard]] bool Add(std::string_view prefix, uint64_t tenant_seq);
  [[nodiscard]] bool AddTime(std::string_view prefix, uint64_t time_ms, uint64_t tenant_seq);
  // A key of its own with an empty value (an event id's).
  void AddKey(std::string_view key);
  // Puts every block into `batch` (space kAudit) and empties the builder.
  void WriteTo(core::KvBatch& batch);
  // Every block and key, in ascending key order, into `out` (replacing what it held); empties
  // the builder.
  void Finish(SortedBlocks& out);
  [[nodiscard]] bool empty() const { return runs_.empty() && key_sizes_.empty(); }

 private:
  struct Run {
    uint64_t prefix_at;  // in prefixes_
    uint32_t prefix_size;
    bool time;
    uint64_t hash;
    uint64_t last_seq = 0;
    uint64_t last_time = 0;
    uint64_t entries = 0;
  };
  struct Entry {
    uint32_t run;
    uint64_t seq;
    uint64_t time;
  };
  // The run named `prefix` (of the time kind or not), made if new.
  Run& RunOf(std::string_view prefix, bool time, uint32_t& index);
  [[nodiscard]] std::string_view PrefixOf(const Run& run) const {
    return std::string_view(prefixes_).substr(run.prefix_at, run.prefix_size);
  }
  void Clear();

  size_t max_entries_;
  std::string prefixes_;
  std::vector<Run> runs_;
  std::vector<uint32_t> slots_;  // open addressing: run index + 1, 0 when free
  std::vector<Entry> entries_;
  std::string keys_;  // the keys of AddKey, one after another
  std::vector<uint32_t> key_sizes_;
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
  // The last entry of the block under the iterator (its key says it), if it is the run's.
  [[nodiscard]] std::optional<uint64_t> LastEntryHere() const;
  std::optional<uint64_t> Exhausted();

  std::unique_ptr<core::KvIterator> it_;
  std::string prefix_;
  bool descending_;
  bool exhausted_ = false;       // nothing further in the query's direction
  std::vector<uint64_t> block_;  // the loaded block's entries, ascending
  core::Status error_;           // a block that did not decode
};

}  // namespace custos::projections::internal

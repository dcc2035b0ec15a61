#include <algorithm>

#include "core/kv_store.h"
#include "projections/internal/audit_postings.h"

namespace custos::projections::internal {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (size_t i = 0; i < in.size() && i < 10; ++i) {
    const auto byte = static_cast<uint8_t>(in[i]);
    v |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in.remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

core::Status DecodeBlock(std::string_view value, std::vector<uint64_t>& out) {
  out.clear();
  uint64_t at = 0;
  while (!value.empty()) {
    uint64_t delta = 0;
    // Strictly ascending, from 1, without wrapping around.
    if (!GetVarint(value, delta) || delta == 0 || at + delta < at) {
      return core::Corruption("an audit index block does not decode");
    }
    at += delta;
    out.push_back(at);
  }
  if (out.empty()) return core::Corruption("an empty audit index block");
  return core::OkStatus();
}

core::Status DecodeTimeBlock(std::string_view value,
                             std::vector<std::pair<uint64_t, uint64_t>>& out) {
  out.clear();
  uint64_t time = 0;
  uint64_t seq = 0;
  while (!value.empty()) {
    uint64_t dt = 0;
    uint64_t ds = 0;
    // Seqs strictly ascending from 1, times never decreasing, neither wrapping around.
    if (!GetVarint(value, dt) || !GetVarint(value, ds) || ds == 0 || seq + ds < seq ||
        time + dt < time) {
      return core::Corruption("an audit index time block does not decode");
    }
    time += dt;
    seq += ds;
    out.emplace_back(time, seq);
  }
  if (out.empty()) return core::Corruption("an empty audit index time block");
  return core::OkStatus();
}

void SortedBlocks::BeginItem() { items_.push_back(Item{bytes_.size(), 0, 0}); }
void SortedBlocks::EndKey() {
  items_.back().key_size = static_cast<uint32_t>(bytes_.size() - items_.back().at);
}
void SortedBlocks::EndItem() {
  Item& item = items_.back();
  item.value_size = static_cast<uint32_t>(bytes_.size() - item.at - item.key_size);
}

void SortedBlocks::Clear() {
  bytes_.clear();
  items_.clear();
}

namespace {

uint64_t HashOf(std::string_view s, bool time) {
  // FNV-1a: run prefixes are short.
  uint64_t h = time ? 0x84222325cbf29ce4ULL : 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h ^ (h >> 29);
}

}  // namespace

BlockBuilder::Run& BlockBuilder::RunOf(std::string_view prefix, bool time, uint32_t& index) {
  const uint64_t hash = HashOf(prefix, time);
  if (slots_.empty() || (runs_.size() + 1) * 2 > slots_.size()) {
    // Grow (at most half full) and place every run again.
    slots_.assign(std::max<size_t>(64, slots_.size() * 2), 0);
    const size_t mask = slots_.size() - 1;
    for (size_t r = 0; r < runs_.size(); ++r) {
      size_t at = runs_[r].hash & mask;
      while (slots_[at] != 0) at = (at + 1) & mask;
      slots_[at] = static_cast<uint32_t>(r + 1);
    }
  }
  const size_t mask = slots_.size() - 1;
  size_t at = hash & mask;
  while (slots_[at] != 0) {
    Run& run = runs_[slots_[at] - 1];
    if (run.hash == hash && run.time == time && PrefixOf(run) == prefix) {
      index = slots_[at] - 1;
      return run;
    }
    at = (at + 1) & mask;
  }
  index = static_cast<uint32_t>(runs_.size());
  slots_[at] = index + 1;
  runs_.push_back(Run{prefixes_.size(), static_cast<uint32_t>(prefix.size()), time, hash});
  prefixes_.append(prefix);
  return runs_.back();
}

bool BlockBuilder::Add(std::string_view prefix, uint64_t tenant_seq) {
  uint32_t index = 0;
  Run& run = RunOf(prefix, false, index);
  if (tenant_seq == 0 || tenant_seq <= run.last_seq) return false;
  run.last_seq = tenant_seq;
  ++run.entries;
  entries_.push_back(Entry{index, tenant_seq, 0});
  return true;
}

bool BlockBuilder::AddTime(std::string_view prefix, uint64_t time_ms, uint64_t tenant_seq) {
  uint32_t index = 0;
  Run& run = RunOf(prefix, true, index);
  if (tenant_seq == 0 || tenant_seq <= run.last_seq ||
      (run.entries > 0 && time_ms < run.last_time)) {
    return false;
  }
  run.last_seq = tenant_seq;
  run.last_time = time_ms;
  ++run.entries;
  entries_.push_back(Entry{index, tenant_seq, time_ms});
  return true;
}

void BlockBuilder::AddKey(std::string_view key) {
  keys_.append(key);
  key_sizes_.push_back(static_cast<uint32_t>(key.size()));
}

void BlockBuilder::Clear() {
  prefixes_.clear();
  runs_.clear();
  slots_.clear();
  entries_.clear();
  keys_.clear();
  key_sizes_.clear();
}

void BlockBuilder::Finish(SortedBlocks& out) {
  out.Clear();
  // The entries by run (a counting sort: each run's entries keep their order, ascending).
  std::vector<uint64_t> first(runs_.size() + 1, 0);
  for (size_t r = 0; r < runs_.size(); ++r) first[r + 1] = first[r] + runs_[r].entries;
  std::vector<const Entry*> by_run(entries_.size());
  {
    std::vector<uint64_t> next(first.begin(), first.end() - 1);
    for (const Entry& e : entries_) by_run[next[e.run]++] = &e;
  }
  out.items_.reserve(runs_.size() + key_sizes_.size());
  out.bytes_.reserve(prefixes_.size() + runs_.size() * 16 + entries_.size() * 3 + keys_.size());
  for (size_t r = 0; r < runs_.size(); ++r) {
    const Run& run = runs_[r];
    for (uint64_t at = first[r]; at < first[r + 1]; at += max_entries_) {
      const uint64_t end = std::min<uint64_t>(first[r + 1], at + max_entries_);
      const Entry& last = *by_run[end - 1];
      out.BeginItem();
      out.bytes_.append(PrefixOf(run));
      if (run.time) core::PutBE64(out.bytes_, last.time);
      core::PutBE64(out.bytes_, last.seq);
      out.EndKey();
      uint64_t last_seq = 0;
      uint64_t last_time = 0;
      for (uint64_t i = at; i < end; ++i) {
        const Entry& e = *by_run[i];
        if (run.time) PutVarint(out.bytes_, e.time - last_time);  // never decreasing
        PutVarint(out.bytes_, e.seq - last_seq);
        last_seq = e.seq;
        last_time = e.time;
      }
      out.EndItem();
    }
  }
  const size_t blocks = out.items_.size();
  size_t at = 0;
  for (uint32_t size : key_sizes_) {
    out.BeginItem();
    out.bytes_.append(keys_, at, size);
    out.EndKey();
    out.EndItem();
    at += size;
  }
  // In key order: the blocks sorted, the keys too (an event's key mostly follows the one
  // before it already: ids grow with time), then the two merged.
  const std::string_view bytes = out.bytes_;
  auto less = [&](const SortedBlocks::Item& a, const SortedBlocks::Item& b) {
    return bytes.substr(a.at, a.key_size) < bytes.substr(b.at, b.key_size);
  };
  const auto middle = out.items_.begin() + static_cast<std::ptrdiff_t>(blocks);
  std::sort(out.items_.begin(), middle, less);
  if (!std::is_sorted(middle, out.items_.end(), less)) std::sort(middle, out.items_.end(), less);
  std::inplace_merge(out.items_.begin(), middle, out.items_.end(), less);
  Clear();
}

void BlockBuilder::WriteTo(core::KvBatch& batch) {
  SortedBlocks sorted;
  Finish(sorted);
  // In key order: the store inserts a sorted batch into its memtable without searching it
  // again for each key.
  for (size_t i = 0; i < sorted.size(); ++i) {
    batch.Put(core::Space::kAudit, sorted.key(i), sorted.value(i));
  }
}

void Posting::Load() {
  block_.clear();
  const std::optional<uint64_t> last = LastEntryHere();
  if (!last) return;
  core::Status decoded = DecodeBlock(it_->value(), block_);
  if (decoded.ok() && block_.back() != *last) {
    decoded = core::Corruption("an audit index block does not end where its key says");
  }
  if (!decoded.ok()) {
    if (error_.ok()) error_ = std::move(decoded);
    block_.clear();
  }
}

std::optional<uint64_t> Posting::SeekTo(uint64_t x) {
  if (exhausted_) return std::nullopt;
  return descending_ ? SeekDescending(x) : SeekAscending(x);
}

std::optional<uint64_t> Posting::SeekAscending(uint64_t x) {
  // The loaded block holds the first entry >= every x since the seek that loaded it, up to
  // its last entry.
  if (!block_.empty() && x > block_.back()) {
    // The next block first: a walk through a run (a sparse one has a block per entry or so)
    // steps to it instead of seeking again; a jump past it (its key, the block's last entry,
    // says so before it is decoded) seeks.
    it_->Next();
    const std::optional<uint64_t> last = LastEntryHere();
    if (!last) return Exhausted();
    if (*last >= x) {
      Load();
      if (block_.empty()) return Exhausted();
      return *std::lower_bound(block_.begin(), block_.end(), x);
    }
    block_.clear();
  }
  if (block_.empty() || x > block_.back()) {
    std::string key = prefix_;
    core::PutBE64(key, x);
    it_->Seek(key);  // the first block whose last entry is >= x
    Load();
    if (block_.empty()) {
      exhausted_ = true;
      return std::nullopt;
    }
  }
  return *std::lower_bound(block_.begin(), block_.end(), x);
}

std::optional<uint64_t> Posting::SeekDescending(uint64_t x) {
  // The loaded block holds the last entry <= every x since the seek that loaded it, down to
  // its first entry.
  if (!block_.empty() && x < block_.front()) {
    // The block before first (one Prev instead of a Seek and a Prev); a jump past it seeks.
    it_->Prev();
    Load();
    if (block_.empty()) return Exhausted();
    if (block_.front() <= x) return *(std::upper_bound(block_.begin(), block_.end(), x) - 1);
  }
  if (block_.empty() || x < block_.front()) {
    std::string key = prefix_;
    core::PutBE64(key, x);
    it_->Seek(key);             // the first block whose last entry is >= x: it may start above x
    if (!it_->status().ok()) {  // kept before SeekForPrev below clears it
      if (error_.ok()) error_ = it_->status();
      exhausted_ = true;
      return std::nullopt;
    }
    Load();
    if (block_.empty() || block_.front() > x) {
      // Then the answer is the previous block's last entry (< x, as its key is < x).
      if (it_->Valid()) {
        it_->Prev();
      } else {
        it_->SeekForPrev(key);
      }
      Load();
      if (block_.empty()) {
        exhausted_ = true;
        return std::nullopt;
      }
    }
  }
  return *(std::upper_bound(block_.begin(), block_.end(), x) - 1);
}

std::optional<uint64_t> Posting::LastEntryHere() const {
  if (!it_->Valid()) return std::nullopt;
  const std::string_view key = it_->key();
  if (key.size() != prefix_.size() + 8 || !key.starts_with(prefix_)) return std::nullopt;
  return core::GetBE64(key.substr(prefix_.size()));
}

std::optional<uint64_t> Posting::Exhausted() {
  // Past the run's last block in the walk's direction, or an iterator that failed: either
  // way nothing further (status() tells which).
  exhausted_ = true;
  return std::nullopt;
}

core::Status Posting::status() const {
  if (!error_.ok()) return error_;
  return it_->status();
}

}  // namespace custos::projections::internal

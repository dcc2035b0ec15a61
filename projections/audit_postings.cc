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

bool BlockBuilder::Add(std::string_view prefix, uint64_t tenant_seq) {
  auto it = runs_.find(prefix);
  if (it == runs_.end()) it = runs_.emplace(std::string(prefix), std::vector<uint64_t>()).first;
  if (tenant_seq == 0 || (!it->second.empty() && tenant_seq <= it->second.back())) return false;
  it->second.push_back(tenant_seq);
  return true;
}

bool BlockBuilder::AddTime(std::string_view prefix, uint64_t time_ms, uint64_t tenant_seq) {
  auto it = times_.find(prefix);
  if (it == times_.end()) {
    it = times_.emplace(std::string(prefix), std::vector<std::pair<uint64_t, uint64_t>>()).first;
  }
  if (tenant_seq == 0 || (!it->second.empty() && (tenant_seq <= it->second.back().second ||
                                                  time_ms < it->second.back().first))) {
    return false;
  }
  it->second.emplace_back(time_ms, tenant_seq);
  return true;
}

void BlockBuilder::AddKey(std::string key) { keys_.emplace_back(std::move(key), std::string()); }

void BlockBuilder::WriteTo(core::KvBatch& batch) {
  std::vector<std::pair<std::string, std::string>>& out = keys_;
  out.reserve(out.size() + runs_.size() + times_.size());
  for (auto& [prefix, seqs] : runs_) {
    std::string value;
    uint64_t last = 0;
    for (uint64_t s : seqs) {
      PutVarint(value, s - last);
      last = s;
    }
    std::string key = prefix;
    core::PutBE64(key, last);
    out.emplace_back(std::move(key), std::move(value));
  }
  for (auto& [prefix, entries] : times_) {
    std::string value;
    uint64_t last_time = 0;
    uint64_t last_seq = 0;
    for (const auto& [time, seq] : entries) {
      PutVarint(value, time - last_time);  // time never decreases within a tenant
      PutVarint(value, seq - last_seq);
      last_time = time;
      last_seq = seq;
    }
    std::string key = prefix;
    core::PutBE64(key, last_time);
    core::PutBE64(key, last_seq);
    out.emplace_back(std::move(key), std::move(value));
  }
  // In key order: the store inserts a sorted batch into its memtable without searching it
  // again for each key.
  std::sort(out.begin(), out.end());
  for (const auto& [key, value] : out) batch.Put(core::Space::kAudit, key, value);
  runs_.clear();
  times_.clear();
  keys_.clear();
}

void Posting::Load() {
  block_.clear();
  if (!it_->Valid()) return;
  const std::string_view key = it_->key();
  if (key.size() != prefix_.size() + 8 || !key.starts_with(prefix_)) return;
  core::Status decoded = DecodeBlock(it_->value(), block_);
  if (decoded.ok() && block_.back() != core::GetBE64(key.substr(prefix_.size()))) {
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

core::Status Posting::status() const {
  if (!error_.ok()) return error_;
  return it_->status();
}

}  // namespace custos::projections::internal

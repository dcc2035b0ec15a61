// TenantPrefixTransform: the prefix of an events key up to and including its \0 — the
// tenant. Given to RocksDB as the events family's memtable insert hint, so that appends,
// which are sequential within each tenant, insert without a full skip-list search. Private
// to storage/.
#pragma once

#include <rocksdb/slice_transform.h>

#include <cstring>

namespace custos::storage::internal {

class TenantPrefixTransform final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "custos.TenantPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* nul = std::memchr(key.data(), '\0', key.size());
    return rocksdb::Slice(key.data(), static_cast<const char*>(nul) - key.data() + 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

// RunPrefixTransform: an audit-index key without its final BE64(tenant_seq) — one run of
// the index (a tenant's actor, type, prefix, target, id or time). Each run grows at its end
// as events are indexed, so as a memtable insert hint it spares most of the skip-list search
// for the index's many keys per event. Keys without a \0 (the bounds of a range delete) are
// outside its domain: RocksDB shares a prefix's hint between point and range-deletion lists.
class RunPrefixTransform final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "custos.RunPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - 8);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() > 8 && std::memchr(key.data(), '\0', key.size() - 8) != nullptr;
  }
};

}  // namespace custos::storage::internal

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

}  // namespace custos::storage::internal

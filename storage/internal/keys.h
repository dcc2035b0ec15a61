// Key and value encodings of the RocksDB store. Private to storage/.
//
// Column families:
//   events  tenant \0 BE64(tenant_seq)  → the canonical line, byte for byte
//   groups  BE64(first seq of a commit group)
//                                       → for each event of the group in seq order:
//                                         u8 tenant length, tenant, BE64(tenant_seq)
//           (the log's global order: one record per fsync, not one per event)
//   checkpoints  consumer name          → BE64(seq)            (core::Space::kCheckpoint)
//   state, credentials, index           → owned by their projections (core::Space), except
//           index: purge-anchor \0 tenant → BE64(last purged tenant_seq) hash (64 hex), written
//           with the purge's range delete
// Tenant ids never contain \0, so one tenant's events are one contiguous key range, and a
// tenant's chain head is its last event: nothing else needs writing per append.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/kv_store.h"

namespace custos::storage::internal {

using core::GetBE64;
using core::PutBE64;

inline std::string PurgeAnchorKey(std::string_view tenant) {
  std::string k("purge-anchor");
  k.push_back('\0');
  k.append(tenant);
  return k;
}

inline std::string PurgeAnchorValue(uint64_t last_purged, std::string_view hash) {
  std::string v;
  PutBE64(v, last_purged);
  v.append(hash);
  return v;
}

inline std::string EventKey(std::string_view tenant, uint64_t tenant_seq) {
  std::string k;
  k.reserve(tenant.size() + 9);
  k.append(tenant);
  k.push_back('\0');
  PutBE64(k, tenant_seq);
  return k;
}

// The tenant's prefix of the events family: tenant \0.
inline std::string TenantPrefix(std::string_view tenant) {
  std::string k(tenant);
  k.push_back('\0');
  return k;
}

// The first key after every key of the tenant: tenant \1.
inline std::string TenantEnd(std::string_view tenant) {
  std::string k(tenant);
  k.push_back('\1');
  return k;
}

// Splits an events key; false if it is not one.
inline bool SplitEventKey(std::string_view key, std::string_view& tenant, uint64_t& tenant_seq) {
  if (key.size() < 10 || key[key.size() - 9] != '\0') return false;
  tenant = key.substr(0, key.size() - 9);
  tenant_seq = GetBE64(key.substr(key.size() - 8));
  return true;
}

inline std::string SeqKey(uint64_t seq) {
  std::string k;
  k.reserve(8);
  PutBE64(k, seq);
  return k;
}

// One event's entry in a group record.
inline void AppendGroupEntry(std::string& record, std::string_view tenant, uint64_t tenant_seq) {
  record.push_back(static_cast<char>(tenant.size()));
  record.append(tenant);
  PutBE64(record, tenant_seq);
}

struct GroupEntry {
  std::string_view tenant;
  uint64_t tenant_seq = 0;
};

// Decodes a group record; false if it is malformed.
inline bool DecodeGroup(std::string_view record, std::vector<GroupEntry>& out) {
  out.clear();
  size_t pos = 0;
  while (pos < record.size()) {
    const auto len = static_cast<unsigned char>(record[pos++]);
    if (len == 0 || pos + len + 8 > record.size()) return false;
    out.push_back(GroupEntry{record.substr(pos, len), GetBE64(record.substr(pos + len, 8))});
    pos += len + 8;
  }
  return !out.empty();
}

}  // namespace custos::storage::internal

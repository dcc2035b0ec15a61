// What the parts of TenantState share (state.cc: lookups, indexes and the grant cache;
// apply*.cc: events applied; state_records.cc: state records written and loaded): the record
// keys and small helpers. Not part of the interface.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/iam/model.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::core::iam::internal {

inline const std::set<std::string>& EmptySet() {
  static const std::set<std::string> empty;
  return empty;
}

template <class Map>
const std::set<std::string>& SetIn(const Map& map, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? EmptySet() : it->second;
}

template <class Map>
auto* FindIn(Map& map, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

struct RevokedToken {
  std::string jti;
  Time expires_at;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("jti", s.jti);
    v("expires_at", s.expires_at);
  }
};

inline Error Unknown(std::string_view type, std::string_view what, std::string_view id) {
  return Corruption(std::string(type) + " for unknown " + std::string(what) + " " +
                    std::string(id));
}

// Adds `more` to the sorted set `known`.
inline void MergeKnown(std::vector<Subject>& known, const std::vector<Subject>& more) {
  for (const Subject& s : more) {
    auto at = std::lower_bound(known.begin(), known.end(), s);
    if (at == known.end() || *at != s) known.insert(at, s);
  }
}

template <class Entity>
void Bump(Entity& e, Time time) {
  ++e.version;
  e.updated_at = time;
}

// The key of an entity record: "<prefix>/<id>".
inline std::string RecordKey(char prefix, std::string_view id) {
  std::string key(1, prefix);
  key += '/';
  key += id;
  return key;
}

// A membership is a record of its own ("m/<group>/<type>:<id>"), so that adding one member
// to a large group writes a few bytes, not the whole member list.
inline std::string MemberKey(std::string_view group_id, const Subject& member) {
  std::string key = "m/";
  key += group_id;
  key += '/';
  key += member.Key();
  return key;
}

bool ParseMemberKey(std::string_view key, std::string_view& group_id, Subject& member);

// A group's record: everything but its members (those have records of their own).
std::string GroupRecord(const Group& g);

}  // namespace custos::core::iam::internal

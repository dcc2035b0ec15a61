// Strong types for identifiers, so that a TenantId cannot be passed where a UserId is
// expected, nor a tenant_seq where a log seq is.
//
// Thread-safety: plain values.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace custos::core {

// A string identifier of one kind, told apart by Tag. Construction does not validate; each
// id kind offers a Parse function where input comes from outside.
template <class Tag>
class StringId {
 public:
  StringId() = default;
  explicit StringId(std::string value) : value_(std::move(value)) {}

  [[nodiscard]] const std::string& value() const { return value_; }
  [[nodiscard]] bool empty() const { return value_.empty(); }

  friend auto operator<=>(const StringId&, const StringId&) = default;
  friend bool operator==(const StringId&, const StringId&) = default;

 private:
  std::string value_;
};

// An unsigned counter of one kind (log positions), told apart by Tag.
template <class Tag>
class Counter {
 public:
  constexpr Counter() = default;
  constexpr explicit Counter(uint64_t value) : value_(value) {}

  [[nodiscard]] constexpr uint64_t value() const { return value_; }
  [[nodiscard]] constexpr Counter Next() const { return Counter(value_ + 1); }

  friend constexpr auto operator<=>(Counter, Counter) = default;

 private:
  uint64_t value_ = 0;
};

}  // namespace custos::core

template <class Tag>
struct std::hash<custos::core::StringId<Tag>> {
  size_t operator()(const custos::core::StringId<Tag>& id) const noexcept {
    return std::hash<std::string_view>{}(id.value());
  }
};

template <class Tag>
struct std::hash<custos::core::Counter<Tag>> {
  size_t operator()(custos::core::Counter<Tag> c) const noexcept {
    return std::hash<uint64_t>{}(c.value());
  }
};

#include "core/iam/identity_events.h"

#include <string>
#include <unordered_map>
#include <utility>

#include "core/fields.h"

namespace custos::core::iam {
namespace {

using Parser = Result<IdentityEvent> (*)(std::string_view type, const JsonValue& data);

template <class E>
Result<IdentityEvent> ParseAs(std::string_view type, const JsonValue& data) {
  E event;
  Status s = ReadValue(data, event.data, "");
  if (!s.ok()) return Corruption(std::string(type) + " with bad data: " + s.error().message);
  return IdentityEvent(std::move(event));
}

template <class E>
concept HasFixedType = requires {
  E::type();
};

// Type → parser for every alternative with a fixed type (the node events are matched by verb).
template <size_t... I>
std::unordered_map<std::string_view, Parser> MakeParsers(std::index_sequence<I...>) {
  std::unordered_map<std::string_view, Parser> parsers;
  auto add = [&]<class E>(E*) {
    if constexpr (HasFixedType<E>) parsers.emplace(E::type(), &ParseAs<E>);
  };
  (add(static_cast<std::variant_alternative_t<I, IdentityEvent>*>(nullptr)), ...);
  return parsers;
}

bool IsNodeKind(std::string_view domain) {
  return domain == "environment" || domain == "project" || domain == "folder" ||
         domain == "resource";
}

}  // namespace

bool ChangesIdentityState(std::string_view type) {
  return IsCatalogType(type) && !type.starts_with("audit.");
}

Result<IdentityEvent> ParseIdentityEvent(std::string_view type, const JsonValue& data) {
  static const std::unordered_map<std::string_view, Parser> parsers =
      MakeParsers(std::make_index_sequence<std::variant_size_v<IdentityEvent>>());
  if (auto it = parsers.find(type); it != parsers.end()) return it->second(type, data);
  const size_t dot = type.find('.');
  if (dot != std::string_view::npos && IsNodeKind(type.substr(0, dot))) {
    const std::string_view verb = type.substr(dot + 1);
    if (verb == "created") return ParseAs<NodeCreated>(type, data);
    if (verb == "updated") return ParseAs<NodeUpdated>(type, data);
    if (verb == "deleted") return ParseAs<NodeDeleted>(type, data);
  }
  return Corruption("unknown event type " + std::string(type));
}

}  // namespace custos::core::iam

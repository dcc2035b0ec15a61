#include "core/result.h"

namespace custos::core {

std::string_view ErrcName(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return "invalid_argument";
    case Errc::kNotFound:
      return "not_found";
    case Errc::kConflict:
      return "conflict";
    case Errc::kUnauthenticated:
      return "unauthenticated";
    case Errc::kPermissionDenied:
      return "permission_denied";
    case Errc::kPreconditionFailed:
      return "precondition_failed";
    case Errc::kGone:
      return "gone";
    case Errc::kUnavailable:
      return "unavailable";
    case Errc::kCorruption:
      return "corruption";
    case Errc::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Error::ToString() const {
  std::string out(ErrcName(code));
  out += ": ";
  out += message;
  for (const FieldError& f : fields) {
    out += "; ";
    out += f.field;
    out += ": ";
    out += f.message;
  }
  return out;
}

Error InvalidArgument(std::string message) {
  return Error{Errc::kInvalidArgument, std::move(message), {}};
}
Error InvalidField(std::string field, std::string message) {
  std::string summary = field + ": " + message;
  return Error{Errc::kInvalidArgument,
               std::move(summary),
               {FieldError{std::move(field), std::move(message)}}};
}
Error NotFound(std::string message) { return Error{Errc::kNotFound, std::move(message), {}}; }
Error Conflict(std::string message) { return Error{Errc::kConflict, std::move(message), {}}; }
Error Unavailable(std::string message) { return Error{Errc::kUnavailable, std::move(message), {}}; }
Error Corruption(std::string message) { return Error{Errc::kCorruption, std::move(message), {}}; }
Error Internal(std::string message) { return Error{Errc::kInternal, std::move(message), {}}; }

}  // namespace custos::core

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
Error AtItem(Error e, std::string_view list, size_t i) {
  const std::string where = std::string(list) + "[" + std::to_string(i) + "].";
  for (FieldError& f : e.fields) f.field.insert(0, where);
  e.message.insert(0, where);
  return e;
}

void FieldChecks::Add(Status s) {
  if (s.ok()) return;
  Error e = std::move(s).error();
  if (e.code == Errc::kInvalidArgument && !e.fields.empty()) {
    if (fields_.empty()) first_message_ = e.message;
    for (FieldError& f : e.fields) {
      if (fields_.size() < kMaxListed) {
        fields_.push_back(std::move(f));
      } else {
        ++unlisted_;
      }
    }
  } else if (!other_) {
    other_ = std::move(e);
  }
}

Status FieldChecks::Take() && {
  if (fields_.size() == 1 && unlisted_ == 0) {
    return Error{Errc::kInvalidArgument, first_message_, fields_};
  }
  if (!fields_.empty()) {
    std::string message = std::to_string(fields_.size() + unlisted_) + " fields are invalid:";
    for (size_t i = 0; i < fields_.size(); ++i) {
      message += (i == 0 ? " " : ", ") + fields_[i].field;
    }
    if (unlisted_ > 0) message += " and " + std::to_string(unlisted_) + " more";
    return Error{Errc::kInvalidArgument, std::move(message), std::move(fields_)};
  }
  if (other_) return std::move(*other_);
  return OkStatus();
}

Error NotFound(std::string message) { return Error{Errc::kNotFound, std::move(message), {}}; }
Error Conflict(std::string message) { return Error{Errc::kConflict, std::move(message), {}}; }
Error Unavailable(std::string message) { return Error{Errc::kUnavailable, std::move(message), {}}; }
Error Corruption(std::string message) { return Error{Errc::kCorruption, std::move(message), {}}; }
Error Internal(std::string message) { return Error{Errc::kInternal, std::move(message), {}}; }

}  // namespace custos::core

#include "api/problem.h"

#include "core/json_writer.h"

namespace custos::api {
namespace {

std::string_view Title(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

HttpResponse Build(int status, std::string_view detail,
                   const std::vector<core::FieldError>& fields) {
  core::JsonWriter w;
  w.BeginObject();
  w.Key("type").String("https://custos.dev/problems/" + std::to_string(status));
  w.Key("title").String(Title(status));
  w.Key("status").Int(status);
  w.Key("detail").String(detail);
  if (!fields.empty()) {
    w.Key("errors").BeginArray();
    for (const core::FieldError& f : fields) {
      w.BeginObject().Key("field").String(f.field).Key("message").String(f.message).EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = w.Take();
  return r;
}

}  // namespace

int HttpStatus(const core::Error& error) {
  switch (error.code) {
    case core::Errc::kInvalidArgument:
      return error.fields.empty() ? 400 : 422;
    case core::Errc::kNotFound:
      return 404;
    case core::Errc::kConflict:
      return 409;
    case core::Errc::kUnauthenticated:
      return 401;
    case core::Errc::kPermissionDenied:
      return 403;
    case core::Errc::kPreconditionFailed:
      return 412;
    case core::Errc::kGone:
      return 410;
    case core::Errc::kUnavailable:
      return 503;
    case core::Errc::kCorruption:
    case core::Errc::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse Problem(const core::Error& error) {
  const int status = HttpStatus(error);
  // Internal details stay in the server's log, not in the answer.
  HttpResponse r = Build(
      status, status >= 500 && status != 503 ? "the request failed" : error.message, error.fields);
  if (status == 401) r.Header("WWW-Authenticate", "Bearer");
  if (status == 503) r.Header("Retry-After", "1");  // storage unavailable or recovering
  return r;
}

HttpResponse Problem(int status, std::string_view detail) { return Build(status, detail, {}); }

HttpResponse Unauthorized(std::string_view detail) {
  HttpResponse r = Build(401, detail, {});
  r.Header("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace custos::api

// Errors over HTTP: the one table from core::Errc to an HTTP status, and
// application/problem+json bodies {"type","title","status","detail","errors":[{field,message}]}.
#pragma once

#include <string_view>

#include "api/http.h"
#include "core/result.h"

namespace custos::api {

// Errc → status. kInvalidArgument is 422 when the error names fields (a field failed
// validation) and 400 otherwise (malformed JSON, query or request).
[[nodiscard]] int HttpStatus(const core::Error& error);

[[nodiscard]] HttpResponse Problem(const core::Error& error);
[[nodiscard]] HttpResponse Problem(int status, std::string_view detail);

// 401 with WWW-Authenticate: Bearer.
[[nodiscard]] HttpResponse Unauthorized(std::string_view detail);

}  // namespace custos::api

#include "api/router.h"

#include <algorithm>

namespace custos::api {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/') return out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

}  // namespace

size_t Router::Add(RouteSpec spec) {
  std::vector<std::string> segments;
  for (std::string_view s : Split(spec.pattern)) segments.emplace_back(s);
  segments_.push_back(std::move(segments));
  routes_.push_back(std::move(spec));
  return routes_.size() - 1;
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match best;
  const std::vector<std::string_view> parts = Split(path);
  for (size_t r = 0; r < routes_.size(); ++r) {
    const std::vector<std::string>& pattern = segments_[r];
    if (pattern.size() != parts.size()) continue;
    PathParams params;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      const std::string& p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (parts[i].empty()) ok = false;
        params.emplace_back(p.substr(1, p.size() - 2), std::string(parts[i]));
      } else {
        ok = p == parts[i];
      }
    }
    if (!ok) continue;
    if (routes_[r].method != method) {
      best.method_mismatch = true;
      if (std::find(best.allowed.begin(), best.allowed.end(), routes_[r].method) ==
          best.allowed.end()) {
        best.allowed.push_back(routes_[r].method);
      }
      continue;
    }
    best.route = static_cast<int>(r);
    best.method_mismatch = false;
    best.allowed.clear();
    best.params = std::move(params);
    return best;
  }
  return best;
}

}  // namespace custos::api

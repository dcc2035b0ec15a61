// api/openapi.yaml describes exactly the routes the server has: same paths, same methods.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/api/api_fixture.h"

namespace custos::testing {
namespace {

std::set<std::string> RoutesInFile(const std::string& path) {
  std::ifstream in(path);
  std::set<std::string> out;
  std::string line;
  std::string current;
  bool in_paths = false;
  const std::regex path_line(R"re(^  "?(/[^"]*)"?:\s*$)re");
  const std::regex method_line(R"(^    (get|put|post|patch|delete|head|options):\s*$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (in_paths && !line.empty() && line[0] != ' ') break;  // the next top-level key
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_line)) {
      current = m[1];
    } else if (std::regex_match(line, m, method_line)) {
      std::string method = m[1];
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.insert(method + " " + current);
    }
  }
  return out;
}

// "METHOD /path" → the names of its `in: query` parameters, as the file lists them.
std::map<std::string, std::set<std::string>> QueryParametersInFile(const std::string& path) {
  std::ifstream in(path);
  std::map<std::string, std::set<std::string>> out;
  std::string line;
  std::string current_path;
  std::string current;
  std::string last_name;
  bool in_paths = false;
  const std::regex path_line(R"re(^  "?(/[^"]*)"?:\s*$)re");
  const std::regex method_line(R"(^    (get|put|post|patch|delete):\s*$)");
  const std::regex name_line(R"(^\s+- name: (\S+)\s*$)");
  const std::regex query_line(R"(^\s+in: query\s*$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (in_paths && !line.empty() && line[0] != ' ') break;
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_line)) {
      current_path = m[1];
      current.clear();
    } else if (std::regex_match(line, m, method_line)) {
      std::string method = m[1];
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      current = method + " " + current_path;
      out[current];
    } else if (std::regex_match(line, m, name_line)) {
      last_name = m[1];
    } else if (std::regex_match(line, query_line) && !current.empty()) {
      out[current].insert(last_name);
    }
  }
  return out;
}

// ../shared/spec/API.md: an unknown query parameter is 400; so what a route reads is what the file
// says it takes, no more and no less.
TEST_F(ApiTest, OpenApiFileListsEachRoutesQueryParameters) {
  const auto documented = QueryParametersInFile(CUSTOS_SOURCE_DIR "/api/openapi.yaml");
  for (const api::RouteSpec& r : api_->routes()) {
    std::set<std::string> served;
    std::istringstream names{std::string(r.query)};
    for (std::string name; names >> name;) served.insert(name);
    auto it = documented.find(r.method + " " + r.pattern);
    if (it == documented.end()) continue;  // the test above names it
    EXPECT_EQ(served, it->second) << r.method << " " << r.pattern;
  }
}

TEST_F(ApiTest, OpenApiFileListsExactlyTheServersRoutes) {
  const std::set<std::string> documented = RoutesInFile(CUSTOS_SOURCE_DIR "/api/openapi.yaml");
  std::set<std::string> served;
  for (const api::RouteSpec& r : api_->routes()) served.insert(r.method + " " + r.pattern);
  ASSERT_GT(served.size(), 80u);
  for (const std::string& r : served) {
    EXPECT_TRUE(documented.count(r)) << "served but not in api/openapi.yaml: " << r;
  }
  for (const std::string& r : documented) {
    EXPECT_TRUE(served.count(r)) << "in api/openapi.yaml but not served: " << r;
  }
}

}  // namespace
}  // namespace custos::testing

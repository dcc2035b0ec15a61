// api/openapi.yaml describes exactly the routes the server has: same paths, same methods.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

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

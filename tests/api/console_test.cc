// The console's files at /console/ (api/console_files.h, ../shared/spec/CONSOLE.md): the
// headers the spec lists, long-lived caching for hashed assets only, deep links that load the
// app, and nothing outside the directory.
#include <filesystem>
#include <fstream>

#include "api/console_files.h"
#include "tests/api/api_fixture.h"

namespace custos::testing {
namespace {

void Write(const std::string& path, const std::string& body) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << body;
}

class ConsoleTest : public ApiTest {
 protected:
  void SetUp() override {
    Write(files_.File("index.html"), "<!doctype html><title>Custos</title>");
    Write(files_.File("assets/app-ABCD1234.js"), "console.log(1)");
    Write(files_.File("assets/app-ABCD1234.css"), "body{}");
    Write(files_.File("favicon.svg"), "<svg/>");
    Write(files_.File(".hidden"), "secret");
    std::filesystem::create_symlink("/etc/passwd", files_.File("assets/passwd"));
    console_dir_ = files_.path();
    Start();
  }
  TempDir files_;
};

void ExpectSecurityHeaders(const HttpReply& r) {
  EXPECT_NE(r.Header("content-security-policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(r.Header("content-security-policy").find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.Header("referrer-policy"), "no-referrer");
}

TEST_F(ConsoleTest, ServesTheAppWithItsHeaders) {
  HttpReply index = client_->Send("GET", "/console/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.body, "<!doctype html><title>Custos</title>");
  EXPECT_EQ(index.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.Header("cache-control"), "no-cache");
  ExpectSecurityHeaders(index);

  HttpReply js = client_->Send("GET", "/console/assets/app-ABCD1234.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(js.Header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.Header("cache-control"), "public, max-age=31536000, immutable");
  ExpectSecurityHeaders(js);
  EXPECT_EQ(client_->Send("GET", "/console/assets/app-ABCD1234.css").Header("content-type"),
            "text/css; charset=utf-8");

  // A revalidation of what has not changed is 304 with no body.
  HttpReply again =
      client_->Send("GET", "/console/", {{"If-None-Match", index.Header("etag")}}, "");
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  // A list, a weak tag or "*" (RFC 9110) revalidate as well; another tag does not.
  for (const std::string& tags :
       {"\"x\", " + index.Header("etag"), "W/" + index.Header("etag"), std::string("*")}) {
    EXPECT_EQ(client_->Send("GET", "/console/", {{"If-None-Match", tags}}, "").status, 304) << tags;
  }
  EXPECT_EQ(client_->Send("GET", "/console/", {{"If-None-Match", "\"x\""}}, "").status, 200);
}

TEST_F(ConsoleTest, APagesAddressLoadsTheAppAndATopLevelFileIsItself) {
  EXPECT_EQ(client_->Send("GET", "/console/users").body, "<!doctype html><title>Custos</title>");
  EXPECT_EQ(client_->Send("GET", "/console/users/usr_1").body,
            "<!doctype html><title>Custos</title>");
  HttpReply icon = client_->Send("GET", "/console/favicon.svg");
  EXPECT_EQ(icon.body, "<svg/>");
  EXPECT_EQ(icon.Header("content-type"), "image/svg+xml");
  // The app's own parameter is taken; any other is refused like everywhere else.
  EXPECT_EQ(client_->Send("GET", "/console/access?subject=user:usr_1").status, 200);
  EXPECT_EQ(client_->Send("GET", "/console/access?x=1").status, 400);
  HttpReply bare = client_->Send("GET", "/console");
  EXPECT_EQ(bare.status, 308);
  EXPECT_EQ(bare.Header("location"), "/console/");
}

TEST_F(ConsoleTest, NothingOutsideTheBuiltFiles) {
  EXPECT_EQ(client_->Send("GET", "/console/assets/missing.js").status, 404);
  EXPECT_EQ(client_->Send("GET", "/console/assets/passwd").status, 404);  // a symlink
  EXPECT_EQ(client_->Send("GET", "/console/assets/..%2F..%2Fetc%2Fpasswd").status, 404);
  EXPECT_EQ(client_->Send("GET", "/console/assets/.hidden").status, 404);
  // A dot file at the top is not served as itself (the app answers its address).
  EXPECT_EQ(client_->Send("GET", "/console/.hidden").body, "<!doctype html><title>Custos</title>");
  EXPECT_EQ(client_->Send("POST", "/console/", {{"Content-Type", "application/json"}}, "{}").status,
            405);
}

TEST(ConsoleFilesTest, TooDeepIsRefused) {
  TempDir dir;
  Write(dir.File("index.html"), "x");
  Write(dir.File("a/b/c/d/e.js"), "x");
  auto loaded = api::ConsoleFiles::Load(dir.path());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("deeper"), std::string::npos);
}

TEST(ConsoleFilesTest, ADirectoryWithoutAnIndexIsRefused) {
  TempDir dir;
  Write(dir.File("assets/app.js"), "x");
  auto loaded = api::ConsoleFiles::Load(dir.path());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("no index.html"), std::string::npos);
  EXPECT_FALSE(api::ConsoleFiles::Load(dir.File("nothing-here")).ok());
}

}  // namespace
}  // namespace custos::testing

// A real server on 127.0.0.1 (port 0) over a fresh data dir, with a fake clock, for the API
// tests: the same tools::Node that `custos serve` runs (no Kafka, no background jobs, a cheap
// password hasher); a real HTTP client talks to it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/api.h"
#include "api/server.h"
#include "core/clock.h"
#include "core/json_value.h"
#include "storage/sodium_password_hasher.h"
#include "tests/support/http_client.h"
#include "tests/support/test_support.h"
#include "tools/node.h"

namespace custos::testing {

// A parsed JSON answer, read by dotted paths ("items.0.id").
class J {
 public:
  explicit J(const std::string& text) {
    core::Result<core::JsonValue> v = core::ParseJson(text);
    if (v.ok()) v_ = std::move(v).value();
  }
  [[nodiscard]] const core::JsonValue* At(const std::string& path) const {
    const core::JsonValue* cur = &v_;
    size_t start = 0;
    while (cur != nullptr && start <= path.size()) {
      const size_t dot = path.find('.', start);
      const std::string part = path.substr(start, dot - start);
      if (cur->is_array()) {
        const size_t i = std::stoul(part);
        cur = i < cur->items().size() ? &cur->items()[i] : nullptr;
      } else {
        cur = cur->Find(part);
      }
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return cur;
  }
  [[nodiscard]] std::string S(const std::string& path) const {
    const core::JsonValue* v = At(path);
    return v == nullptr ? "<missing>" : v->is_null() ? "<null>" : v->text();
  }
  [[nodiscard]] size_t Size(const std::string& path) const {
    const core::JsonValue* v = At(path);
    return v == nullptr ? 0 : v->is_array() ? v->items().size() : v->members().size();
  }
  [[nodiscard]] bool B(const std::string& path) const {
    const core::JsonValue* v = At(path);
    return v != nullptr && v->is_bool() && v->bool_value();
  }

 private:
  core::JsonValue v_;
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void TearDown() override { Stop(); }

  void Start() {
    tools::NodeOptions options;
    options.data_dir = dir_.path();
    options.clock = &clock_;
    options.workers = server_threads_;
    options.api = api_options_;
    options.password_hasher = &hasher_;
    options.warming = warming_;
    options.issuer = fixed_issuer_;
    options.console_dir = console_dir_;
    auto node = tools::Node::Open(options);
    ASSERT_TRUE(node.ok()) << node.error().message;
    node_ = std::move(node).value();
    // The root client's secret is known only to the Open that made it: kept across restarts.
    if (!node_->root().client_secret.empty()) root_ = node_->root();
    store_ = &node_->store();
    identity_ = &node_->identity();
    audit_ = &node_->audit();
    checkpoints_ = &node_->checkpoints();
    audit_key_ = &checkpoints_->signer();
    retention_ = &node_->retention();
    signer_ = &node_->tokens();
    api_ = &node_->api();
    server_ = &node_->server();
    issuer_ = fixed_issuer_.value_or("http://127.0.0.1:" + std::to_string(node_->port()));
    ASSERT_TRUE(node_->Serve().ok());
    client_ = std::make_unique<HttpClient>(node_->port());
  }

  void Stop() {
    store_ = nullptr;
    identity_ = nullptr;
    audit_ = nullptr;
    checkpoints_ = nullptr;
    audit_key_ = nullptr;
    retention_ = nullptr;
    signer_ = nullptr;
    api_ = nullptr;
    server_ = nullptr;
    node_.reset();
  }

  // A token by client credentials ("" on failure).
  std::string Token(const std::string& id, const std::string& secret) {
    HttpReply r = client_->Send(
        "POST", "/oauth/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
        "grant_type=client_credentials&client_id=" + id + "&client_secret=" + secret);
    return r.status == 200 ? J(r.body).S("access_token") : "";
  }
  std::string RootToken() { return Token(root_.client_id, root_.client_secret); }

  // Makes tenant `id` as root.
  void CreateTenant(const std::string& id) {
    HttpReply r = client_->Json("POST", "/v1/tenants", RootToken(),
                                "{\"id\":\"" + id + "\",\"name\":\"" + id + "\"}");
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // A role id by name in a tenant, read by root.
  std::string RoleId(const std::string& tenant, const std::string& name) {
    HttpReply r = client_->Json("GET", "/v1/tenants/" + tenant + "/roles?limit=1000", RootToken());
    J j(r.body);
    for (size_t i = 0; i < j.Size("items"); ++i) {
      if (j.S("items." + std::to_string(i) + ".name") == name) {
        return j.S("items." + std::to_string(i) + ".id");
      }
    }
    return "";
  }
  std::string GroupId(const std::string& tenant, const std::string& name) {
    HttpReply r = client_->Json("GET", "/v1/tenants/" + tenant + "/groups?limit=1000", RootToken());
    J j(r.body);
    for (size_t i = 0; i < j.Size("items"); ++i) {
      if (j.S("items." + std::to_string(i) + ".name") == name) {
        return j.S("items." + std::to_string(i) + ".id");
      }
    }
    return "";
  }

  // A user made by root from the members of a JSON body after email, first and last name
  // (`extra`, e.g. ",\"kind\":\"admin\""); returns the answer (201 expected).
  HttpReply NewUser(const std::string& tenant, const std::string& email,
                    const std::string& extra = "") {
    HttpReply r =
        client_->Json("POST", "/v1/tenants/" + tenant + "/users", RootToken(),
                      "{\"email\":\"" + email + "\",\"first_name\":\"" + email.substr(0, 1) +
                          "\",\"last_name\":\"" + email.substr(1, 1) + "\"" + extra + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return r;
  }

  // An API client with a binding to `role_id` at the root; returns {id, secret}.
  std::pair<std::string, std::string> Client(const std::string& tenant, const std::string& name,
                                             const std::string& role_id) {
    std::string body = "{\"name\":\"" + name + "\"";
    if (!role_id.empty()) body += ",\"bindings\":[{\"role_id\":\"" + role_id + "\"}]";
    body += "}";
    HttpReply r =
        client_->Json("POST", "/v1/tenants/" + tenant + "/api-clients", RootToken(), body);
    EXPECT_EQ(r.status, 201) << r.body;
    J j(r.body);
    return {j.S("client_id"), j.S("client_secret")};
  }

  int server_threads_ = 2;  // I/O threads; a test may change it, then Stop() and Start() again
  // The issuer of the tokens (default: the address, which changes with each Start): a test
  // whose tokens must outlive a restart sets it.
  std::optional<std::string> fixed_issuer_;
  // The console's files (NodeOptions::console_dir); empty: none. Set before Start().
  std::string console_dir_;
  // When a restart reads the tenants' state; a test may change it, then Stop() and Start().
  projections::IdentityService::Warming warming_ =
      projections::IdentityService::Warming::kInBackground;
  // The API's options; a test may change them, then Stop() and Start() again.
  api::ApiOptions api_options_ = [] {
    api::ApiOptions o;
    o.auth_rate_per_second = 1000;
    o.auth_burst = 1000;
    o.login_rate_per_second = 1000;
    o.login_burst = 1000;
    o.body_limit = 64 * 1024;
    return o;
  }();
  TempDir dir_;
  core::FakeClock clock_{core::FromUnixMillis(1795521600000)};
  storage::SodiumPasswordHasher hasher_{storage::SodiumPasswordHasher::Minimal()};
  std::unique_ptr<tools::Node> node_;
  // The node's parts (valid while it runs).
  storage::RocksStore* store_ = nullptr;
  projections::IdentityService* identity_ = nullptr;
  projections::AuditIndex* audit_ = nullptr;
  projections::AuditCheckpoints* checkpoints_ = nullptr;
  const core::CheckpointSigner* audit_key_ = nullptr;
  projections::Retention* retention_ = nullptr;
  const api::TokenSigner* signer_ = nullptr;
  api::Api* api_ = nullptr;
  api::HttpServer* server_ = nullptr;
  std::unique_ptr<HttpClient> client_;
  api::RootClient root_;
  std::string issuer_;
};

}  // namespace custos::testing

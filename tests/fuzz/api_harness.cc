#include "tests/fuzz/api_harness.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "api/http.h"
#include "core/json_value.h"
#include "tools/node.h"

namespace custos::fuzz {

struct ApiHarness::Impl {
  core::SystemClock clock;
  std::unique_ptr<tools::Node> node;
  std::string token;
};

namespace {

std::string Member(const std::string& json, std::string_view name) {
  auto v = core::ParseJson(json);
  if (!v.ok()) return "";
  const core::JsonValue* m = v->Find(name);
  return m != nullptr && m->is_string() ? m->text() : "";
}

}  // namespace

ApiHarness& ApiHarness::Get() {
  static ApiHarness* harness = new ApiHarness();  // lives as long as the process
  return *harness;
}

ApiHarness::ApiHarness() : impl_(new Impl) {
  const std::string dir = "/dev/shm/custos-fuzz-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  tools::NodeOptions options;
  options.data_dir = dir;
  options.clock = &impl_->clock;
  options.block_cache_bytes = size_t{8} << 20;
  auto node = tools::Node::Open(options);
  if (!node.ok()) {
    std::fprintf(stderr, "fuzz: cannot open a node: %s\n", node.error().message.c_str());
    std::abort();
  }
  impl_->node = std::move(node).value();
  const core::Time now = impl_->clock.Now();
  impl_->token = impl_->node->tokens().Sign(
      api::TokenClaims{"", impl_->node->root().client_id, "", "root", "fuzz-root", "", false, now,
                       now + std::chrono::hours(24 * 365)});

  auto seed = [&](const std::string& method, const std::string& target, const std::string& body) {
    Answer a = Call(method, target, body);
    if (a.status >= 300) {
      std::fprintf(stderr, "fuzz: seeding %s %s: %d %s\n", method.c_str(), target.c_str(),
                   a.status, a.body.c_str());
      std::abort();
    }
    return a.body;
  };
  seed("POST", "/v1/tenants", R"({"id":"acme","name":"Acme","plan":"pro"})");
  const std::string t = "/v1/tenants/acme";
  user_id = Member(seed("POST", t + "/users",
                        R"({"email":"ada@example.com","first_name":"Ada","last_name":"L"})"),
                   "id");
  group_id = Member(seed("POST", t + "/groups", R"({"name":"Ops"})"), "id");
  role_id = Member(seed("POST", t + "/roles",
                        R"({"name":"Reader","permissions":[{"resource_type":"*","level":"view"}]})"),
                   "id");
  binding_id = Member(
      seed("POST", t + "/bindings",
           R"({"subject":{"type":"group","id":")" + group_id + R"("},"role_id":")" + role_id + R"("})"),
      "id");
  const std::string ingested = seed(
      "POST", t + "/audit/events", R"({"type":"workflow.executed","data":{"ok":true}})");
  event_id = Member(ingested, "id");
}

Answer ApiHarness::Call(std::string method, std::string target, std::string body,
                        std::string content_type) {
  api::HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  const size_t q = r.target.find('?');
  if (!api::PercentDecode(std::string_view(r.target).substr(0, q), false, r.path) ||
      (q != std::string::npos && !api::ParseQuery(std::string_view(r.target).substr(q + 1), r.query))) {
    return Answer{400, "bad target"};  // what the server answers before any route
  }
  r.headers.emplace_back("authorization", "Bearer " + impl_->token);
  r.headers.emplace_back("content-type", std::move(content_type));
  r.body = std::move(body);
  r.remote_ip = "127.0.0.1";
  r.request_id = "fuzz";

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  api::HttpResponse response;
  impl_->node->api().Handle(std::move(r), [&](api::HttpResponse answered) {
    std::lock_guard lock(mu);
    response = std::move(answered);
    done = true;
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  Answer answer{response.status, std::move(response.body)};
  if (response.stream) {
    // A streamed body (exports): read to its end, as a client would.
    answer.body.clear();
    while (true) {
      const api::BodyStream::Step step = response.stream->Next(answer.body, 64 << 10);
      if (step == api::BodyStream::Step::kFailed) {
        answer.status = 500;
        answer.body = "the streamed body failed";
        break;
      }
      if (step == api::BodyStream::Step::kEnd) break;
      answer.body.clear();
    }
  }
  return answer;
}

void ApiHarness::Check(const Answer& a, std::string_view what) const {
  if (a.status < 100 || a.status >= 500) {
    std::fprintf(stderr, "fuzz: %.*s answered %d: %s\n", static_cast<int>(what.size()),
                 what.data(), a.status, a.body.c_str());
    std::abort();
  }
}

}  // namespace custos::fuzz

#include "tools/leader_keys.h"

#include <pthread.h>

#include <fstream>
#include <sstream>

#include "core/json_value.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/private_file.h"

namespace custos::tools {
namespace {

// The fetch kept for a start while the leader is away.
core::Status Keep(const std::string& file, const std::string& issuer, const std::string& jwks) {
  core::JsonWriter w;
  w.BeginObject().Key("issuer").String(issuer).Key("jwks").String(jwks).EndObject();
  return core::WritePrivateFile(file, w.str() + "\n");
}

core::Result<std::string> Get(const LeaderKeysOptions& options, const std::string& path) {
  const std::string url = options.leader + path;
  CUSTOS_ASSIGN_OR_RETURN(storage::Fetched got, options.fetch(url));
  if (got.status != 200) {
    return core::Unavailable(url + " answered " + std::to_string(got.status));
  }
  return std::move(got.body);
}

}  // namespace

LeaderKeys::LeaderKeys(LeaderKeysOptions options) : options_(std::move(options)) {
  if (!options_.fetch) {
    const std::string ca_file = options_.ca_file;
    options_.fetch = [ca_file](const std::string& url) {
      storage::FetchOptions fetch;
      fetch.ca_file = ca_file;
      return storage::FetchUrl(url, fetch);
    };
  }
}

LeaderKeys::~LeaderKeys() { Stop(); }

core::Result<LeaderKeys::Fetch> LeaderKeys::FetchNow() const {
  CUSTOS_ASSIGN_OR_RETURN(std::string metadata, Get(options_, "/.well-known/openid-configuration"));
  core::Result<core::JsonValue> doc = core::ParseJson(metadata);
  const core::JsonValue* issuer = doc.ok() && doc->is_object() ? doc->Find("issuer") : nullptr;
  if (issuer == nullptr || !issuer->is_string() || issuer->text().empty()) {
    return core::InvalidArgument(options_.leader +
                                 "/.well-known/openid-configuration names no issuer");
  }
  CUSTOS_ASSIGN_OR_RETURN(std::string jwks, Get(options_, "/.well-known/jwks.json"));
  return Fetch{issuer->text(), std::move(jwks)};
}

core::Result<std::unique_ptr<LeaderKeys>> LeaderKeys::Open(LeaderKeysOptions options) {
  std::unique_ptr<LeaderKeys> keys(new LeaderKeys(std::move(options)));
  const LeaderKeysOptions& o = keys->options_;
  core::Result<Fetch> fetched = keys->FetchNow();
  Fetch use;
  if (fetched.ok()) {
    use = std::move(fetched).value();
  } else {
    std::ifstream in(o.cache_file);
    std::stringstream text;
    text << in.rdbuf();
    core::Result<core::JsonValue> cached = core::ParseJson(text.str());
    const core::JsonValue* issuer =
        cached.ok() && cached->is_object() ? cached->Find("issuer") : nullptr;
    const core::JsonValue* jwks =
        cached.ok() && cached->is_object() ? cached->Find("jwks") : nullptr;
    if (!in.is_open() || issuer == nullptr || !issuer->is_string() || jwks == nullptr ||
        !jwks->is_string()) {
      return core::Unavailable("the leader's keys: " + fetched.error().message +
                               ", and no copy of them is kept in " + o.cache_file +
                               " (a follower's first start needs its leader)");
    }
    core::log::Warn("the leader's keys: " + fetched.error().message + "; using the copy kept in " +
                    o.cache_file);
    use = Fetch{issuer->text(), jwks->text()};
  }
  CUSTOS_ASSIGN_OR_RETURN(keys->verifier_,
                          api::TokenSigner::ForLeader(use.issuer, use.jwks, o.audiences));
  keys->issuer_ = use.issuer;
  keys->jwks_ = use.jwks;
  if (fetched.ok()) CUSTOS_RETURN_IF_ERROR(Keep(o.cache_file, use.issuer, use.jwks));
  LeaderKeys* self = keys.get();
  keys->verifier_->set_unknown_kid_hook([self] { return self->Poke(); });
  return keys;
}

core::Status LeaderKeys::Refresh() {
  CUSTOS_ASSIGN_OR_RETURN(Fetch fetched, FetchNow());
  if (fetched.issuer != issuer_) {
    return core::Conflict("the leader's issuer is now " + fetched.issuer + ", not " + issuer_ +
                          ": restart the follower to follow it");
  }
  if (fetched.jwks == jwks_) return core::OkStatus();
  CUSTOS_RETURN_IF_ERROR(verifier_->TakeJwks(fetched.jwks));
  jwks_ = fetched.jwks;
  core::log::Info("the leader's keys changed; taken");
  if (changed_) changed_();
  return Keep(options_.cache_file, fetched.issuer, fetched.jwks);
}

void LeaderKeys::Start(std::function<void()> changed) {
  changed_ = std::move(changed);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "custos-leaderkeys");
    Run();
  });
}

void LeaderKeys::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LeaderKeys::Poke() {
  bool now = false;
  {
    std::lock_guard lock(mu_);
    poked_ = true;
    now = std::chrono::steady_clock::now() - last_fetch_ >= options_.min_gap;
  }
  cv_.notify_all();
  return now;
}

void LeaderKeys::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, options_.refresh, [this] { return stop_ || poked_; });
    if (stop_) break;
    poked_ = false;
    last_fetch_ = std::chrono::steady_clock::now();
    lock.unlock();
    if (core::Status s = Refresh(); !s.ok()) {
      core::log::Warn("the leader's keys were not refreshed: " + s.error().message);
    }
    lock.lock();
    // However often it is poked (tokens with made-up kids), one fetch per min_gap.
    cv_.wait_for(lock, options_.min_gap, [this] { return stop_; });
  }
}

}  // namespace custos::tools

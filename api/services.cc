// The API's shared services (api/internal/call.h): the fair work pools, the failed-login
// tally, the token cache and the rate limiters, and where a route's work runs.
#include <arpa/inet.h>
#include <pthread.h>

#include <algorithm>
#include <cstring>

#include "api/internal/call.h"

namespace custos::api::internal {

namespace {

std::string LaneKey(const std::string& owner, Lane lane) {
  switch (lane) {
    case Lane::kFront:
      return owner;
    case Lane::kNew:
      return std::string("\x01") + "new:" + owner;
    case Lane::kBack:
      return std::string("\x01") + "back:" + owner;
  }
  return owner;
}

}  // namespace

WorkPool::WorkPool(std::string name, int threads, size_t max_queued, size_t per_owner)
    : name_(std::move(name)),
      max_queued_(max_queued),
      per_owner_(std::max<size_t>(1, per_owner)),
      max_behind_(std::max(1, threads - 1)) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), ("custos-" + name_).substr(0, 15).c_str());
      while (true) {
        std::function<void()> job;
        Lane lane = Lane::kFront;
        {
          std::unique_lock lock(mu_);
          std::optional<Lane> picked;
          cv_.wait(lock, [&] {
            picked = Pick();
            return picked || (stop_ && queued_ == 0);
          });
          if (!picked) return;
          lane = *picked;
          std::deque<std::string>& ring = rings_[static_cast<int>(lane)];
          std::string key = std::move(ring.front());
          ring.pop_front();
          std::deque<std::function<void()>>& mine = waiting_[key];
          job = std::move(mine.front());
          mine.pop_front();
          --queued_;
          if (lane != Lane::kFront) {
            --behind_queued_;
            ++running_behind_;
          }
          if (mine.empty()) {
            waiting_.erase(key);
          } else {
            ring.push_back(std::move(key));
          }
        }
        job();
        if (lane != Lane::kFront) {
          {
            std::lock_guard lock(mu_);
            --running_behind_;
          }
          cv_.notify_all();
        }
      }
    });
  }
}

WorkPool::~WorkPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

bool WorkPool::Runnable(Lane lane) const {
  if (rings_[static_cast<int>(lane)].empty()) return false;
  // The lanes behind never hold every thread: one stays free for the front (unless the pool
  // is stopping, when everything queued is run).
  return lane == Lane::kFront || stop_ || running_behind_ < max_behind_;
}

std::optional<Lane> WorkPool::Pick() {
  // From the top lane down: a lane with work goes unless the lanes below have work too and
  // this is its kTurn-th pick since they last had a turn.
  for (int l = 0; l < kLanes; ++l) {
    if (!Runnable(static_cast<Lane>(l))) continue;
    bool below = false;
    for (int b = l + 1; b < kLanes; ++b) below = below || Runnable(static_cast<Lane>(b));
    if (!below) return static_cast<Lane>(l);
    if (++picks_[l] < kTurn) return static_cast<Lane>(l);
    picks_[l] = 0;  // the turn of the lanes below
  }
  return std::nullopt;
}

void WorkPool::Enqueue(const std::string& key, std::function<void()> job, Lane lane) {
  std::deque<std::function<void()>>& mine = waiting_[key];
  if (mine.empty()) rings_[static_cast<int>(lane)].push_back(key);
  mine.push_back(std::move(job));
  ++queued_;
}

bool WorkPool::TrySubmit(std::function<void()> job, const std::string& owner, Lane lane) {
  {
    std::lock_guard lock(mu_);
    if (queued_ >= max_queued_) return false;
    // The lanes behind hold at most half the queue, so they cannot crowd out the front.
    if (lane != Lane::kFront && behind_queued_ >= max_queued_ / 2) return false;
    // The lanes keep an owner's jobs apart: an owner sent back cannot stay in front by
    // keeping jobs waiting there. Its share counts across all of them.
    size_t mine = 0;
    for (Lane l : {Lane::kFront, Lane::kNew, Lane::kBack}) {
      auto waiting = waiting_.find(LaneKey(owner, l));
      if (waiting != waiting_.end()) mine += waiting->second.size();
    }
    if (mine >= per_owner_) return false;
    if (lane != Lane::kFront) ++behind_queued_;
    Enqueue(LaneKey(owner, lane), std::move(job), lane);
  }
  cv_.notify_one();
  return true;
}

void WorkPool::Submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    Enqueue("", std::move(job), Lane::kFront);  // continuations of admitted work: one turn
  }
  cv_.notify_one();
}

size_t WorkPool::queued() const {
  std::lock_guard lock(mu_);
  return queued_;
}

FailedLoginTally::Window& FailedLoginTally::Open(std::string tenant, std::string ip,
                                                 std::string client_id, core::Time now,
                                                 bool* opened) {
  auto key = std::make_tuple(std::move(tenant), std::move(ip), std::move(client_id));
  if (windows_.size() >= kMaxWindows && windows_.count(key) == 0) std::get<1>(key) = "(many)";
  auto [it, fresh] = windows_.try_emplace(key);
  Window& w = it->second;
  *opened = fresh;
  if (fresh) {
    w.tenant = std::get<0>(key);
    w.ip = std::get<1>(key);
    w.client_id = std::get<2>(key);
    w.since = now;
  }
  return w;
}

void FailedLoginTally::Count(const std::string& tenant, const std::string& ip,
                             std::string_view email, const std::string& request_id,
                             const std::string& user_agent, core::Time now) {
  std::lock_guard lock(mu_);
  bool opened = false;
  Window& w = Open(tenant, ip, "", now, &opened);
  if (opened) {
    w.email = std::string(core::TruncateUtf8(email, 254));
    w.request_id = request_id;
    w.user_agent = user_agent;
  }
  ++w.count;
}

void FailedLoginTally::CountClient(const std::string& tenant, const std::string& ip,
                                   const std::string& client_id, std::string_view reason,
                                   const std::string& request_id, const std::string& user_agent,
                                   core::Time now) {
  std::lock_guard lock(mu_);
  bool opened = false;
  Window& w = Open(tenant, ip, client_id, now, &opened);
  if (opened) {
    w.reason = std::string(reason);
    w.request_id = request_id;
    w.user_agent = user_agent;
  }
  ++w.count;
}

bool FailedLoginTally::CountSso(const std::string& tenant, const std::string& ip,
                                const std::string& issuer, std::string_view reason,
                                const std::string& request_id, const std::string& user_agent,
                                core::Time now) {
  std::lock_guard lock(mu_);
  bool opened = false;
  // Keyed apart from clients' windows: a client id never starts with a NUL.
  Window& w = Open(tenant, ip, std::string("\0sso:", 5) + std::string(reason), now, &opened);
  if (opened) {
    w.reason = std::string(reason);
    w.sso_issuer = issuer;
    w.request_id = request_id;
    w.user_agent = user_agent;
    return true;  // recorded by the caller; the window counts the ones after it
  }
  ++w.count;
  return false;
}

std::vector<FailedLoginTally::Window> FailedLoginTally::TakeDue(core::Time now, bool all) {
  std::vector<Window> due;
  std::lock_guard lock(mu_);
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (all || now - it->second.since >= kWindow) {
      due.push_back(std::move(it->second));
      it = windows_.erase(it);
    } else {
      ++it;
    }
  }
  return due;
}

WorkPool* Services::PoolFor(Work work) {
  switch (work) {
    case Work::kLogin:
      return &login_pool;
    case Work::kHeavy:
      return &heavy_pool;
    case Work::kIndex:
      return &index_pool;
    case Work::kStore:
      return &store_pool;
    case Work::kOutbound:
      return &outbound_pool;
    case Work::kInline:
      break;
  }
  return nullptr;
}

bool FrontLogins::TryEnter(const std::string& source, int limit) {
  std::lock_guard lock(mu_);
  int& n = in_flight_[source];
  if (n >= limit) {
    if (n == 0) in_flight_.erase(source);
    return false;
  }
  ++n;
  return true;
}

void FrontLogins::Leave(const std::string& source) {
  std::lock_guard lock(mu_);
  auto it = in_flight_.find(source);
  if (it != in_flight_.end() && --it->second <= 0) in_flight_.erase(it);
}

void KnownSources::Mark(const std::string& source) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto it = last_success_.find(source);
  if (it != last_success_.end()) {
    it->second = now;
    return;
  }
  if (last_success_.size() >= capacity_ && now - last_sweep_ >= std::chrono::minutes(1)) {
    last_sweep_ = now;
    std::erase_if(last_success_, [&](const auto& entry) { return now - entry.second >= ttl_; });
  }
  if (last_success_.size() < capacity_) last_success_.emplace(source, now);
}

bool KnownSources::Known(const std::string& source) const {
  std::lock_guard lock(mu_);
  auto it = last_success_.find(source);
  return it != last_success_.end() && std::chrono::steady_clock::now() - it->second < ttl_;
}

std::string SourceKey(const std::string& ip) {
  // An IPv6 client picks addresses from its /64 at will: the /64 is one source.
  in6_addr a{};
  if (ip.find(':') == std::string::npos || inet_pton(AF_INET6, ip.c_str(), &a) != 1) return ip;
  std::memset(a.s6_addr + 8, 0, 8);
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, &a, text, sizeof text) == nullptr) return ip;
  return std::string(text) + "/64";
}

bool TakeSourceToken(const CallPtr& call) {
  const int wait = call->services().auth_limiter.Take(SourceKey(call->req.remote_ip));
  if (wait == 0) return true;
  HttpResponse r = Problem(429, "too many attempts from this address; retry later");
  r.Header("Retry-After", std::to_string(wait));
  call->Reply(std::move(r));
  return false;
}

HttpResponse Busy(const WorkPool& pool) {
  HttpResponse r = Problem(503, "the server is busy with " + pool.name() + " work; retry shortly");
  r.Header("Retry-After", "1");
  return r;
}

std::shared_ptr<const TokenClaims> TokenCache::Find(const std::string& token, core::Time now) {
  Shard& shard = shards_[std::hash<std::string>{}(token) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.tokens.find(token);
  if (it == shard.tokens.end()) return nullptr;
  if (it->second->exp <= now) {
    shard.tokens.erase(it);
    return nullptr;
  }
  return it->second;
}

void TokenCache::Put(const std::string& token, std::shared_ptr<const TokenClaims> claims,
                     uint64_t generation) {
  Shard& shard = shards_[std::hash<std::string>{}(token) % kShards];
  std::lock_guard lock(shard.mu);
  // Checked under the shard's lock: a Clear that began after the check empties this shard
  // after the insert.
  if (generation != generation_.load()) return;
  if (shard.tokens.size() >= kMaxPerShard) shard.tokens.clear();
  shard.tokens[token] = std::move(claims);
}

void TokenCache::Clear() {
  generation_.fetch_add(1);
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    shard.tokens.clear();
  }
}

int RateLimiter::TakeFrom(Bucket& b, std::chrono::steady_clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - b.at).count();
  b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
  b.at = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max(1, static_cast<int>((1 - b.tokens) / rate_ + 0.999));
}

int RateLimiter::Take(const std::string& key) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= capacity_ && now - last_sweep_ >= std::chrono::seconds(1)) {
      last_sweep_ = now;
      std::erase_if(buckets_, [&](const auto& entry) {
        const Bucket& b = entry.second;
        return b.tokens + std::chrono::duration<double>(now - b.at).count() * rate_ >= burst_;
      });
    }
    if (buckets_.size() >= capacity_) {
      if (overflow_.empty()) overflow_.assign(kOverflow, Bucket{burst_, now});
      return TakeFrom(overflow_[std::hash<std::string>{}(key) % overflow_.size()], now);
    }
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  return TakeFrom(it->second, now);
}

bool RateLimiter::Spent(const std::string& key) const {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  const Bucket* b = nullptr;
  if (it != buckets_.end()) {
    b = &it->second;
  } else if (!overflow_.empty()) {
    b = &overflow_[std::hash<std::string>{}(key) % overflow_.size()];  // as Take would use
  }
  if (b == nullptr) return false;
  const double elapsed = std::chrono::duration<double>(now - b->at).count();
  return std::min(burst_, b->tokens + std::max(0.0, elapsed) * rate_) < 1;
}

size_t RateLimiter::size() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

void OneTimeValues::EraseLocked(std::map<std::string, Entry>::iterator it) {
  if (!it->second.owner.empty()) {
    auto o = owners_.find(it->second.owner);
    if (o != owners_.end()) {
      std::erase(o->second, it->first);
      if (o->second.empty()) owners_.erase(o);
    }
  }
  values_.erase(it);
}

void OneTimeValues::Put(const std::string& key, std::string value, core::Time now,
                        core::Time expires, const std::string& owner) {
  std::lock_guard lock(mu_);
  if (auto old = values_.find(key); old != values_.end()) EraseLocked(old);
  if (!owner.empty()) {
    // The owner's oldest go first (expired ones with them).
    while (true) {
      auto o = owners_.find(owner);
      if (o == owners_.end() || o->second.size() < per_owner_) break;
      EraseLocked(values_.find(o->second.front()));
    }
  }
  if (values_.size() >= capacity_) {
    for (auto it = values_.begin(); it != values_.end();) {
      auto next = std::next(it);
      if (it->second.expires <= now) EraseLocked(it);
      it = next;
    }
    if (values_.size() >= capacity_) {
      auto soonest = std::min_element(
          values_.begin(), values_.end(),
          [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
      EraseLocked(soonest);
    }
  }
  values_[key] = Entry{std::move(value), expires, owner};
  if (!owner.empty()) owners_[owner].push_back(key);
}

std::optional<std::string> OneTimeValues::Take(const std::string& key, core::Time now) {
  std::lock_guard lock(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  std::optional<std::string> out;
  if (it->second.expires > now) out = std::move(it->second.value);
  EraseLocked(it);
  return out;
}

std::optional<std::string> OneTimeValues::Find(const std::string& key, core::Time now) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(key);
  if (it == values_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.value;
}

void OneTimeValues::Erase(const std::string& key) {
  std::lock_guard lock(mu_);
  if (auto it = values_.find(key); it != values_.end()) EraseLocked(it);
}

}  // namespace custos::api::internal

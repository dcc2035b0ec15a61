// KvStore: the narrow key-value port through which projections persist what they derive
// from the log (current state, audit indexes, credentials) together with their checkpoints.
//
// A KvBatch is a plain list of writes, applied atomically by KvStore::Write or, as the
// `side_writes` of an append, in the same atomic batch as the events (EventLog::Append).
// A consumer of the log writes its data and SetCheckpoint(name, seq) in one batch, so after
// a crash its data and its position agree.
//
// Thread-safety: KvStore implementations are safe to call from any thread. A KvBatch
// belongs to one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/result.h"

namespace custos::core {

// Independent key spaces. Checkpoints live in a space of their own (kCheckpoint).
enum class Space : uint8_t {
  kState,        // current-state projection
  kCredentials,  // credential hashes: outside the state digest, kept across rebuilds
  kIndex,        // lookups of the API (idempotency keys)
  kAudit,        // the audit trail's indexes: every key is tenant \0 … BE64(tenant_seq)
  kCheckpoint,   // consumer name → last applied seq (use SetCheckpoint/GetCheckpoint)
};

struct KvWrite {
  enum class Op : uint8_t { kPut, kDelete, kDeleteRange };
  Op op = Op::kPut;
  Space space = Space::kState;
  std::string key;
  std::string value;  // the value of a put; the exclusive end key of a range delete
};

class KvBatch {
 public:
  void Put(Space space, std::string_view key, std::string_view value);
  void Delete(Space space, std::string_view key);
  // Deletes every key in [begin, end).
  void DeleteRange(Space space, std::string_view begin, std::string_view end);
  void SetCheckpoint(std::string_view consumer, Seq seq);
  // Adds `other`'s writes after this batch's own, in their order.
  void Append(const KvBatch& other) {
    writes_.insert(writes_.end(), other.writes_.begin(), other.writes_.end());
  }

  [[nodiscard]] const std::vector<KvWrite>& writes() const { return writes_; }
  [[nodiscard]] bool empty() const { return writes_.empty(); }
  void Clear() { writes_.clear(); }

 private:
  std::vector<KvWrite> writes_;
};

// Big-endian u64, the encoding of positions in keys (so that they sort as numbers) and of
// checkpoint values. GetBE64 reads the first 8 bytes of `s` (fewer if it is shorter).
inline void PutBE64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (56 - 8 * i)));
}
inline uint64_t GetBE64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = v << 8 | static_cast<unsigned char>(s[i]);
  return v;
}

// Encoding of a checkpoint value: 8 bytes, big-endian.
[[nodiscard]] std::string EncodeCheckpoint(Seq seq);
[[nodiscard]] std::optional<Seq> DecodeCheckpoint(std::string_view value);

enum class Durability : uint8_t {
  kSync,    // fsynced before Write returns
  kNoSync,  // in the OS's hands; a crash may lose it (fine for data rebuilt from the log)
};

// An ordered cursor over one space (a consistent view as of its creation).
class KvIterator {
 public:
  virtual ~KvIterator() = default;
  virtual void Seek(std::string_view key) = 0;         // first key >= key
  virtual void SeekForPrev(std::string_view key) = 0;  // last key <= key
  virtual void Next() = 0;
  virtual void Prev() = 0;
  [[nodiscard]] virtual bool Valid() const = 0;
  [[nodiscard]] virtual std::string_view key() const = 0;
  [[nodiscard]] virtual std::string_view value() const = 0;
  // The first error met, if any (Valid() is false then).
  [[nodiscard]] virtual Status status() const = 0;
};

class KvStore {
 public:
  virtual ~KvStore() = default;

  [[nodiscard]] virtual Status Write(const KvBatch& batch, Durability durability) = 0;
  [[nodiscard]] virtual Result<std::optional<std::string>> Get(Space space,
                                                               std::string_view key) const = 0;
  // Calls `fn` for each key starting with `prefix`, in key order, until it returns false.
  [[nodiscard]] virtual Status Scan(
      Space space, std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const = 0;
  [[nodiscard]] virtual std::unique_ptr<KvIterator> NewIterator(Space space) const = 0;
  // The seq a consumer last recorded, or nullopt if it never did.
  [[nodiscard]] virtual Result<std::optional<Seq>> GetCheckpoint(
      std::string_view consumer) const = 0;

  // Writes keys straight into the space as one sorted file rather than through the write
  // path, for a projection rebuilt in bulk: `next` gives the pairs in strictly ascending key
  // order and false after the last. All of them land, or none. Not atomic with Write (a
  // checkpoint goes in a Write after it), and meant for keys the space does not hold yet.
  using KvSource = std::function<bool(std::string_view& key, std::string_view& value)>;
  [[nodiscard]] virtual Status IngestSorted(Space space, const KvSource& next) = 0;
  // Empties the space without leaving a deletion over it behind (whose files would sit
  // above every file ingested after it), for a projection about to be rebuilt in bulk.
  [[nodiscard]] virtual Status ClearSpace(Space space) = 0;
};

}  // namespace custos::core

#include "core/kv_store.h"

namespace custos::core {

void KvBatch::Put(Space space, std::string_view key, std::string_view value) {
  writes_.push_back(KvWrite{KvWrite::Op::kPut, space, std::string(key), std::string(value)});
}

void KvBatch::Delete(Space space, std::string_view key) {
  writes_.push_back(KvWrite{KvWrite::Op::kDelete, space, std::string(key), {}});
}

void KvBatch::DeleteRange(Space space, std::string_view begin, std::string_view end) {
  writes_.push_back(
      KvWrite{KvWrite::Op::kDeleteRange, space, std::string(begin), std::string(end)});
}

void KvBatch::SetCheckpoint(std::string_view consumer, Seq seq) {
  Put(Space::kCheckpoint, consumer, EncodeCheckpoint(seq));
}

std::string EncodeCheckpoint(Seq seq) {
  std::string out;
  PutBE64(out, seq.value());
  return out;
}

std::optional<Seq> DecodeCheckpoint(std::string_view value) {
  if (value.size() != 8) return std::nullopt;
  return Seq(GetBE64(value));
}

}  // namespace custos::core

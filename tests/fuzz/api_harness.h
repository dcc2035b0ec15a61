// The fuzz targets' node: a whole Custos node (tools/node.h, as `custos serve` wires it) over
// a data dir in /dev/shm, with tenant `acme` seeded (a user, a group, a role, a binding, an
// application event), driven in-process through Api::Handle as the HTTP server drives it.
// Every answer must be a well-formed HTTP status below 500: a 5xx to any input is a bug, and
// the target aborts so that libFuzzer keeps the input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace custos::fuzz {

struct Answer {
  int status = 0;
  std::string body;
};

class ApiHarness {
 public:
  // The process's one harness, made on first use.
  static ApiHarness& Get();

  // Sends one request as root (Authorization: Bearer <root token>) and waits for the answer.
  Answer Call(std::string method, std::string target, std::string body,
              std::string content_type = "application/json");
  // Aborts (a finding) on a 5xx.
  void Check(const Answer& a, std::string_view what) const;

  // Ids of the seeded entities, for paths.
  std::string user_id, group_id, role_id, binding_id, event_id;

 private:
  ApiHarness();
  struct Impl;
  Impl* impl_;
};

}  // namespace custos::fuzz

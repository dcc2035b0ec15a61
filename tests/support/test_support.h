// Helpers shared by the tests: temp dirs, child processes with deadlines, files.
// Tests never sleep to wait: they wait on a condition (a line on a pipe, an exit) with a
// deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace custos::testing {

// True once done() holds; false if it still does not when the deadline passes.
template <class F>
bool WaitUntil(F&& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // the polling interval of the condition, not a wait for it
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // -1 if killed by a signal
  std::string out;
  std::string err;
};

// Runs argv to completion (no shell); stdin is /dev/null.
[[nodiscard]] CommandResult RunCommand(const std::vector<std::string>& argv);

// A child process whose stdout the test reads line by line.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv);
  ~Child();  // kills and reaps the child if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  // The next line of stdout (without '\n'), nullopt at EOF or when the deadline passes.
  [[nodiscard]] std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  // Everything left on stdout until EOF (the child must be exiting or dead).
  [[nodiscard]] std::vector<std::string> DrainLines();
  void Kill(int signal);
  // Waits for exit; the raw waitpid status, or nullopt if the deadline passes.
  [[nodiscard]] std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
  bool reaped_ = false;
};

[[nodiscard]] std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
[[nodiscard]] std::vector<std::string> SplitLines(const std::string& text);
[[nodiscard]] std::string JoinLines(const std::vector<std::string>& lines);

}  // namespace custos::testing

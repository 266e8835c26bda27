#pragma once
// Output of a command that may run as one rank of many (mpirun): rank 0
// logs, every rank reports its errors, naming itself.
#include <cstdio>
#include <iostream>
#include <ostream>
#include <streambuf>
#include <string>

#include "dist/communicator.hpp"

namespace torchclad::cli {

class RankLog {
 public:
  explicit RankLog(std::string command) : command_(std::move(command)) {}
  // std::cerr on rank 0, a stream that drops everything on the others.
  std::ostream& log() { return dist::is_root() ? std::cerr : null_; }
  // "command: message" or "command (rank 2 of 4): message", on every rank,
  // as one write: mpirun relays each rank's output as it arrives, so a line
  // written in pieces can be cut by another rank's line.
  void say(const std::string& message) const {
    const auto rank = dist::rank_label();
    std::cerr.flush();
    const std::string line = command_ + (rank.empty() ? "" : " (" + rank + ")") + ": " + message + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
  // An error whose text already names the command (a reader given it as its
  // "where": "torchclad-train-gw: ...", "torchclad-train-gw --stream (rank 1
  // of 2): ...") is said without what say() adds again: "torchclad-train-gw
  // (rank 1 of 2): --stream: ...".
  void error(const std::string& message) const {
    std::string m = message;
    if (m.compare(0, command_.size() + 2, command_ + ": ") == 0) {
      m.erase(0, command_.size() + 2);
    } else if (m.compare(0, command_.size() + 3, command_ + " --") == 0) {
      m.erase(0, command_.size() + 1);
      const std::string label = " (" + dist::rank_label() + ")";
      const auto colon = m.find(": ");
      if (label != " ()" && colon != std::string::npos && colon >= label.size() &&
          m.compare(colon - label.size(), label.size(), label) == 0)
        m.erase(colon - label.size(), label.size());
    }
    say(m);
  }

 private:
  struct NullBuffer : std::streambuf {
    int overflow(int c) override { return c; }
  };
  std::string command_;
  NullBuffer null_buffer_;
  std::ostream null_{&null_buffer_};
};

// The arguments joined by spaces: what every rank must have been started with.
inline std::string command_line(int argc, char** argv) {
  std::string s;
  for (int i = 1; i < argc; ++i) s += (i > 1 ? " " : "") + std::string(argv[i]);
  return s;
}

}  // namespace torchclad::cli

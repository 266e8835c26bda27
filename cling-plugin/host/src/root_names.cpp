#include "root_names.hpp"

#include <TCollection.h>
#include <TSeqCollection.h>
#include <TInterpreter.h>
#include <TROOT.h>
#include <TTabCom.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "cpp_text.hpp"

extern char** environ;

namespace host {
namespace {

constexpr int kRootNamesTimeoutSeconds = 30;

// A name from TTabCom's lists as a user types it (first_component), or ""
// for what nobody types (`__gnu_cxx`, `_Node_base`, an anonymous scope).
std::string typed_name(const std::string& name) {
  const std::string n = first_component(name);
  return n.empty() || n[0] == '_' || std::isdigit(static_cast<unsigned char>(n[0])) ? "" : n;
}

// Where the list is kept: one file per ROOT installation and version.
std::filesystem::path cache_file() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::filesystem::path dir;
  if (xdg && *xdg)
    dir = xdg;
  else if (home && *home)
    dir = std::filesystem::path(home) / ".cache";
  else
    return {};
  const std::string where = std::string(gROOT->GetVersion()) + "|" + TROOT::GetLibDir().Data();
  const std::size_t key = std::hash<std::string>{}(where);
  char name[96];
  std::snprintf(name, sizeof name, "root-names-%s-%016zx.txt", gROOT->GetVersion(), key);
  std::string file = name;
  for (char& c : file)
    if (c == '/') c = '.';
  return dir / "torchclad" / file;
}

constexpr std::uintmax_t kMaxCacheBytes = 16u << 20;  // the real list is about 85 KB

// A cached list: a regular file (not a FIFO, which would block, nor a
// directory), not huge, and only lines that are identifiers. Sorted and
// without duplicates for completion's binary search, whoever wrote it.
std::vector<std::string> read_names(const std::filesystem::path& path) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || std::filesystem::file_size(path, ec) > kMaxCacheBytes ||
      ec)
    return names;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const bool identifier = !line.empty() && line.size() <= 256 &&
                            !std::isdigit(static_cast<unsigned char>(line[0])) &&
                            std::all_of(line.begin(), line.end(), identifier_char);
    if (identifier) names.push_back(line);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

void log_line(int fd, const std::string& text) {
  const std::string line = "[torchclad-host] " + text + "\n";
  if (::write(fd, line.data(), line.size()) < 0) {
  }
}

// Runs `torchclad-host --list-root-names tmp` (this very binary, even if it
// was rebuilt or deleted since it started) at a lower priority, with its
// output discarded; true when it wrote the list in time.
bool run_lister(const std::string& tmp, int log_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  const char* exe = "/proc/self/exe";
  char* argv[] = {const_cast<char*>("torchclad-host"), const_cast<char*>("--list-root-names"),
                  const_cast<char*>(tmp.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, exe, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    log_line(log_fd,
             "could not start the process that lists ROOT's names: " + std::string(std::strerror(rc)));
    return false;
  }
  ::setpriority(PRIO_PROCESS, pid, 10);  // the cells come first
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kRootNamesTimeoutSeconds);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      log_line(log_fd, "listing ROOT's names took over " + std::to_string(kRootNamesTimeoutSeconds) +
                           " s: stopped; completion offers the cells' names and ROOT's dictionaries only");
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    log_line(log_fd, "the process that lists ROOT's names failed (" +
                         (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                            : "signal " + std::to_string(WTERMSIG(status))) +
                         ")");
    return false;
  }
  return true;
}

// Lists the names in a child and publishes them; the cache gets them too.
void list_in_child(std::filesystem::path cached, int log_fd,
                   std::function<void(std::vector<std::string>)> publish) {
  std::error_code ec;
  // Written next to the cache, then renamed (two hosts may list at once);
  // without a cache directory, to a new file in the temporary directory.
  std::string tmp;
  if (!cached.empty()) {
    std::filesystem::create_directories(cached.parent_path(), ec);
    if (!ec) tmp = cached.string() + ".tmp" + std::to_string(::getpid());
  }
  if (tmp.empty()) {
    std::string templ = (std::filesystem::temp_directory_path(ec) / "torchclad-root-names-XXXXXX").string();
    const int fd = ::mkstemp(templ.data());
    if (fd < 0) {
      log_line(log_fd, "no file to list ROOT's names into: " + std::string(std::strerror(errno)));
      return;
    }
    ::close(fd);
    tmp = templ;
    cached.clear();
  }
  if (run_lister(tmp, log_fd)) {
    std::vector<std::string> names = read_names(tmp);
    if (!cached.empty() && !names.empty()) std::filesystem::rename(tmp, cached, ec);
    publish(std::move(names));
  }
  std::filesystem::remove(tmp, ec);
}

}  // namespace

int list_root_names(const char* path) {
  std::set<std::string> names;
  auto take = [&](const std::string& name) {
    if (const std::string n = typed_name(name); !n.empty()) names.insert(n);
  };
  // TTabCom's own lists, as ROOT's prompt completes: classes, templates,
  // typedefs, enums and namespaces of every module, and the globals.
  TTabCom tabcom;
  for (const TSeqCollection* list : {tabcom.GetListOfClasses(), tabcom.GetListOfGlobals()})
    if (list)
      for (TObject* o : *list) take(o->GetName());
  std::ofstream out(path);
  for (const std::string& n : names) out << n << '\n';
  out.close();
  if (!out) {
    std::fprintf(stderr, "torchclad-host: could not write %s\n", path);
    return 1;
  }
  return 0;
}

std::shared_ptr<const std::vector<std::string>> root_names(int log_fd) {
  static std::mutex mutex;
  static auto names = std::make_shared<const std::vector<std::string>>();
  static bool started = false;
  std::lock_guard<std::mutex> lock(mutex);
  if (!started) {
    started = true;
    const std::filesystem::path cached = cache_file();
    std::vector<std::string> from_cache = cached.empty() ? std::vector<std::string>{} : read_names(cached);
    if (!from_cache.empty()) {
      names = std::make_shared<const std::vector<std::string>>(std::move(from_cache));
    } else {
      std::thread(list_in_child, cached, log_fd, [](std::vector<std::string> listed) {
        std::lock_guard<std::mutex> lock(mutex);
        names = std::make_shared<const std::vector<std::string>>(std::move(listed));
      }).detach();
    }
  }
  return names;
}

}  // namespace host

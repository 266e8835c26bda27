#include "thread_origin.hpp"

#include <cerrno>
#include <dlfcn.h>
#include <pthread.h>

#include <mutex>
#include <vector>

namespace host {
namespace {

// Function-local statics: threads may be created while libraries are
// initialised, before main() and this file's globals.
std::mutex& origins_mutex() {
  static std::mutex m;
  return m;
}
// The execute ids that started threads; a thread holds an index into it.
std::vector<nlohmann::json>& origins() {
  static std::vector<nlohmann::json> ids;
  return ids;
}
nlohmann::json& running_execute() {
  static nlohmann::json id;
  return id;
}
int running_index = -1;  // running_execute()'s index in origins(), once a thread needed it

// An index into origins(), -1: this thread was not started by (a thread of)
// a cell. A plain int on purpose: a thread_local with a destructor registers
// it (__cxa_thread_atexit) under the dynamic loader's lock, which a library
// initialiser that starts threads and waits for them (OpenMP in MKL, while
// dlopen holds that lock) would deadlock.
thread_local int t_origin = -1;

// The origin a new thread gets from the thread creating it.
int origin_for_new_thread() {
  if (t_origin >= 0) return t_origin;
  std::lock_guard<std::mutex> lock(origins_mutex());
  if (running_execute().is_null()) return -1;
  if (running_index < 0) {
    origins().push_back(running_execute());
    running_index = static_cast<int>(origins().size()) - 1;
  }
  return running_index;
}

struct Start {
  void* (*routine)(void*);
  void* arg;
  int origin;
};

void* start_thread(void* p) {
  Start* start = static_cast<Start*>(p);
  void* (*routine)(void*) = start->routine;
  void* arg = start->arg;
  t_origin = start->origin;
  delete start;  // before the routine: it may end in pthread_exit
  return routine(arg);
}

using PthreadCreate = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

PthreadCreate libc_pthread_create() {
  static const PthreadCreate real = reinterpret_cast<PthreadCreate>(::dlsym(RTLD_NEXT, "pthread_create"));
  return real;
}

}  // namespace

void set_running_execute(const nlohmann::json& id) {
  std::lock_guard<std::mutex> lock(origins_mutex());
  running_execute() = id;
  running_index = -1;
}

nlohmann::json execute_of_this_thread() {
  std::lock_guard<std::mutex> lock(origins_mutex());
  if (t_origin >= 0) return origins()[t_origin];
  return running_execute();
}

}  // namespace host

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*routine)(void*),
                              void* arg) {
  const host::PthreadCreate real = host::libc_pthread_create();
  if (!real) return EAGAIN;  // no libc pthread_create: cannot happen in a dynamically linked process
  auto* start = new host::Start{routine, arg, host::origin_for_new_thread()};
  const int rc = real(thread, attr, host::start_thread, start);
  if (rc != 0) delete start;
  return rc;
}

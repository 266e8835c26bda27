#include "thread_origin.hpp"

#include <cerrno>
#include <dlfcn.h>
#include <pthread.h>

#include <mutex>
#include <utility>

namespace host {
namespace {

// Function-local statics: threads may be created while libraries are
// initialised, before main() and this file's globals.
std::mutex& running_mutex() {
  static std::mutex m;
  return m;
}
nlohmann::json& running_execute() {
  static nlohmann::json id;
  return id;
}

// Null: this thread was not started by (a thread of) a cell.
thread_local nlohmann::json t_origin;

nlohmann::json running_now() {
  std::lock_guard<std::mutex> lock(running_mutex());
  return running_execute();
}

struct Start {
  void* (*routine)(void*);
  void* arg;
  nlohmann::json origin;
};

void* start_thread(void* p) {
  Start* start = static_cast<Start*>(p);
  void* (*routine)(void*) = start->routine;
  void* arg = start->arg;
  t_origin = std::move(start->origin);
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
  std::lock_guard<std::mutex> lock(running_mutex());
  running_execute() = id;
}

nlohmann::json execute_of_this_thread() {
  if (!t_origin.is_null()) return t_origin;
  return running_now();
}

}  // namespace host

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*routine)(void*),
                              void* arg) {
  const host::PthreadCreate real = host::libc_pthread_create();
  if (!real) return EAGAIN;  // no libc pthread_create: cannot happen in a dynamically linked process
  auto* start = new host::Start{routine, arg, host::execute_of_this_thread()};
  const int rc = real(thread, attr, host::start_thread, start);
  if (rc != 0) delete start;
  return rc;
}

// Thread-safety annotations for clang's -Wthread-safety (the fuzz preset builds with clang and
// turns its findings into errors), and the mutexes they apply to: libstdc++'s std::mutex and
// std::shared_mutex carry no annotations, so shared fields are guarded by core::Mutex and
// core::SharedMutex, held through MutexLock, WriterLock and ReaderLock. Under GCC the macros
// are empty and these are thin wrappers.
//
// A field is declared `T x CUSTOS_GUARDED_BY(mu_);` and a function that expects the lock held
// `void F() CUSTOS_REQUIRES(mu_);`. Waiting on a condition: std::condition_variable_any with
// the scoped lock (which has lock/unlock), in an explicit loop — a predicate lambda is checked
// as a function of its own that holds nothing.
//
// Thread-safety: the mutexes are what they wrap; a scoped lock belongs to one thread.
#pragma once

#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define CUSTOS_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CUSTOS_THREAD_ANNOTATION(x)
#endif

#define CUSTOS_CAPABILITY(name) CUSTOS_THREAD_ANNOTATION(capability(name))
#define CUSTOS_SCOPED_CAPABILITY CUSTOS_THREAD_ANNOTATION(scoped_lockable)
#define CUSTOS_GUARDED_BY(mu) CUSTOS_THREAD_ANNOTATION(guarded_by(mu))
#define CUSTOS_PT_GUARDED_BY(mu) CUSTOS_THREAD_ANNOTATION(pt_guarded_by(mu))
#define CUSTOS_REQUIRES(...) CUSTOS_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define CUSTOS_REQUIRES_SHARED(...) \
  CUSTOS_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define CUSTOS_ACQUIRE(...) CUSTOS_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define CUSTOS_ACQUIRE_SHARED(...) CUSTOS_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define CUSTOS_RELEASE(...) CUSTOS_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define CUSTOS_RELEASE_SHARED(...) CUSTOS_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define CUSTOS_RELEASE_GENERIC(...) \
  CUSTOS_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define CUSTOS_EXCLUDES(...) CUSTOS_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define CUSTOS_NO_THREAD_SAFETY_ANALYSIS CUSTOS_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace custos::core {

class CUSTOS_CAPABILITY("mutex") Mutex {
 public:
  void lock() CUSTOS_ACQUIRE() { mu_.lock(); }
  void unlock() CUSTOS_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class CUSTOS_CAPABILITY("mutex") SharedMutex {
 public:
  void lock() CUSTOS_ACQUIRE() { mu_.lock(); }
  void unlock() CUSTOS_RELEASE() { mu_.unlock(); }
  void lock_shared() CUSTOS_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void unlock_shared() CUSTOS_RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds a Mutex for its scope; unlock()/lock() in between (condition waits, a callback run
// outside the lock).
class CUSTOS_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) CUSTOS_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() CUSTOS_RELEASE() {
    if (held_) mu_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  void lock() CUSTOS_ACQUIRE() {
    mu_.lock();
    held_ = true;
  }
  void unlock() CUSTOS_RELEASE() {
    held_ = false;
    mu_.unlock();
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

// Holds a SharedMutex exclusively for its scope.
class CUSTOS_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) CUSTOS_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~WriterLock() CUSTOS_RELEASE() { mu_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds a SharedMutex shared for its scope.
class CUSTOS_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) CUSTOS_ACQUIRE_SHARED(mu) : mu_(mu) { mu_.lock_shared(); }
  ~ReaderLock() CUSTOS_RELEASE() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace custos::core

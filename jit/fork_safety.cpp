#include "jit/fork_safety.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <mutex>
#include <vector>

namespace tramp::jit {

namespace {

// Never destroyed: participants (the global engine among them) may outlive static destruction.
struct Registry {
  std::mutex mu;
  std::vector<ForkParticipant*> live;
  int child_done[2] = {-1, -1};  // during a fork: the child's handlers have finished
};
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

void before_fork() {
  Registry& r = registry();
  r.mu.lock();  // held across the fork: no participant comes or goes meanwhile
  if (r.live.empty()) return;
  // The child copies state it still shares with the parent (the code arena's files); until
  // it is done the parent must not change that state, so the parent waits for it here. If
  // no pipe can be had, the parent does not wait: only a free made by the parent at once
  // could then reach the child's copy.
  if (pipe2(r.child_done, O_CLOEXEC) != 0) r.child_done[0] = r.child_done[1] = -1;
  for (auto it = r.live.rbegin(); it != r.live.rend(); ++it) (*it)->fork_prepare();
}

void after_fork_in_parent() {
  Registry& r = registry();
  if (r.child_done[1] >= 0) {
    close(r.child_done[1]);
    char done;
    // One byte when the child's handlers have run, or end of file if it died first.
    while (read(r.child_done[0], &done, 1) < 0 && errno == EINTR) {
    }
    close(r.child_done[0]);
    r.child_done[0] = r.child_done[1] = -1;
  }
  for (ForkParticipant* p : r.live) p->fork_parent();
  r.mu.unlock();
}

void after_fork_in_child() {
  Registry& r = registry();
  for (ForkParticipant* p : r.live) p->fork_child();
  if (r.child_done[1] >= 0) {
    close(r.child_done[0]);
    const char done = 1;
    while (write(r.child_done[1], &done, 1) < 0 && errno == EINTR) {
    }
    close(r.child_done[1]);
    r.child_done[0] = r.child_done[1] = -1;
  }
  r.mu.unlock();
}

}  // namespace

void ForkParticipant::enroll() {
  static const int registered = pthread_atfork(&before_fork, &after_fork_in_parent, &after_fork_in_child);
  (void)registered;  // fails only for lack of memory; then fork() is as unsafe as before
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.live.push_back(this);
}

void ForkParticipant::withdraw() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  if (auto it = std::find(r.live.begin(), r.live.end(), this); it != r.live.end()) r.live.erase(it);
}

}  // namespace tramp::jit

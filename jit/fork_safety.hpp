// tramp: state that must come through fork() consistent and private to each process.
//
// fork() copies one thread. A lock another thread held at that moment stays held in the
// child for ever, and a MAP_SHARED mapping stays shared with the parent. An object that owns
// either derives from ForkParticipant: around every fork() (pthread_atfork, registered once)
// each live participant takes its locks before the fork, releases them in the parent after
// it, and in the child first makes its state its own, then releases them. The list is walked
// newest first before the fork and oldest first after it. fork() returns in the parent only
// once the child's handlers have run, so the child copies what it shares with the parent
// before the parent can change it.
//
// A participant must not take another participant's lock while it holds its own (the
// handlers take them in list order, not in the order the participants' users nest them), and
// the handlers must not fork. A fork made without glibc's fork() (a raw clone(2) system call)
// runs no handlers; vfork() and posix_spawn() share or replace the address space and need none.
#pragma once

namespace tramp::jit {

class ForkParticipant {
 public:
  ForkParticipant(const ForkParticipant&) = delete;
  ForkParticipant& operator=(const ForkParticipant&) = delete;

  virtual void fork_prepare() = 0;  // take the locks that guard the state
  virtual void fork_parent() = 0;   // release them
  virtual void fork_child() = 0;    // make the state the child's own, then release them

 protected:
  ForkParticipant() = default;
  virtual ~ForkParticipant() = default;
  // The derived class joins the list as the last step of its constructor and leaves it as
  // the first step of its destructor: a fork in another thread must never see it half made.
  void enroll();
  void withdraw();
};

}  // namespace tramp::jit

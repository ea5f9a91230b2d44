// The least any code can do for the uniform interface's two shapes, x86-64 SysV, for
// int(int, int), written by hand (bench/uniform_floor.cpp). Linked into the program beside
// its callers and callees, so no branch crosses a placement block.
  .text

// void tramp_floor_invoke(fn, ret, args): invoke's shape. It must come back after fn returns
// to store the result through ret, so it calls fn (rsp 16-aligned at the call: the push).
  .globl tramp_floor_invoke
  .type tramp_floor_invoke, @function
  .p2align 4
tramp_floor_invoke:
  push %rsi
  mov %rdi, %rax
  mov (%rdx), %rcx
  mov 8(%rdx), %rdx
  mov (%rcx), %edi
  mov (%rdx), %esi
  call *%rax
  pop %rsi
  mov %eax, (%rsi)
  ret
  .size tramp_floor_invoke, .-tramp_floor_invoke

// int tramp_floor_register_return(fn, args): the register-return shape, which leaves the
// result where fn leaves it and so ends in a jump.
  .globl tramp_floor_register_return
  .type tramp_floor_register_return, @function
  .p2align 4
tramp_floor_register_return:
  mov %rdi, %rax
  mov (%rsi), %rcx
  mov 8(%rsi), %rdx
  mov (%rcx), %edi
  mov (%rdx), %esi
  jmp *%rax
  .size tramp_floor_register_return, .-tramp_floor_register_return

// The word the callback floors read their target from (a handler or a native function).
  .data
  .p2align 3
  .globl tramp_floor_target
tramp_floor_target:
  .quad 0
  .text

// An entry point that only jumps to a native function of the same signature: the least any
// callback entry can do, possible only when the target leaves the result in eax itself.
  .globl tramp_floor_jump
  .type tramp_floor_jump, @function
  .p2align 4
tramp_floor_jump:
  jmp *tramp_floor_target(%rip)
  .size tramp_floor_jump, .-tramp_floor_jump

// An entry point that calls a native function and returns: the least a thunk can do that gets
// control back after its handler (to load the result the handler stored through ret).
  .globl tramp_floor_call_return
  .type tramp_floor_call_return, @function
  .p2align 4
tramp_floor_call_return:
  sub $8, %rsp
  call *tramp_floor_target(%rip)
  add $8, %rsp
  ret
  .size tramp_floor_call_return, .-tramp_floor_call_return

// The uniform thunk by hand: the arguments into the frame, their addresses into args, then
// handler(ret, args, user) and the result loaded back. Frame from rsp: args[2], a, b, ret.
  .globl tramp_floor_thunk
  .type tramp_floor_thunk, @function
  .p2align 4
tramp_floor_thunk:
  sub $40, %rsp
  mov %edi, 16(%rsp)
  mov %esi, 20(%rsp)
  lea 16(%rsp), %rax
  mov %rax, (%rsp)
  lea 20(%rsp), %rax
  mov %rax, 8(%rsp)
  lea 24(%rsp), %rdi
  mov %rsp, %rsi
  xor %edx, %edx
  call *tramp_floor_target(%rip)
  mov 24(%rsp), %eax
  add $40, %rsp
  ret
  .size tramp_floor_thunk, .-tramp_floor_thunk

  .section .note.GNU-stack,"",@progbits

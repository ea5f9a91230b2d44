// The least a libffi.so.8 can do for one Win64 signature, int(int, int), written by hand: the
// floor under the libffi face's Win64 rows (bench/face_floor.cpp). It lives in a shared
// library, as the face does, so every branch crosses the same distance as the face's.
  .text

// void tramp_floor_ffi_call(cif, fn, rvalue, avalue): a jump through the cif's first word,
// the least dispatch an ffi_call can do.
  .globl tramp_floor_ffi_call
  .type tramp_floor_ffi_call, @function
  .p2align 4
tramp_floor_ffi_call:
  jmp *(%rdi)
  .size tramp_floor_ffi_call, .-tramp_floor_ffi_call

// The call stub ffi_call jumps to: rsi = fn, rdx = rvalue, rcx = avalue. 32 bytes of shadow
// space and 8 for rvalue keep rsp 16-aligned at the call (Microsoft x64: stack, shadow space);
// the int result is widened to ffi_arg as libffi's ffi_call does.
  .globl tramp_floor_win64_ii_stub
  .type tramp_floor_win64_ii_stub, @function
  .p2align 4
tramp_floor_win64_ii_stub:
  sub $40, %rsp
  mov %rdx, 32(%rsp)
  mov (%rcx), %rax
  mov 8(%rcx), %r8
  mov (%rax), %ecx
  mov (%r8), %edx
  call *%rsi
  mov 32(%rsp), %rdx
  movslq %eax, %rax
  mov %rax, (%rdx)
  add $40, %rsp
  ret
  .size tramp_floor_win64_ii_stub, .-tramp_floor_win64_ii_stub

// A closure of int(int, int) under Win64 whose closure function is a SysV C function
// fun(cif, ret, args, user_data), as libffi's are: everything a Win64 callee preserves and a
// SysV one may clobber (rsi, rdi, xmm6-xmm15) is saved around the call.
  .globl tramp_floor_win64_ii_closure
  .type tramp_floor_win64_ii_closure, @function
  .p2align 4
tramp_floor_win64_ii_closure:
  sub $232, %rsp
  mov %ecx, 0(%rsp)
  mov %edx, 8(%rsp)
  lea 0(%rsp), %rax
  mov %rax, 16(%rsp)
  lea 8(%rsp), %rax
  mov %rax, 24(%rsp)
  mov %rsi, 40(%rsp)
  mov %rdi, 48(%rsp)
  movaps %xmm6, 64(%rsp)
  movaps %xmm7, 80(%rsp)
  movaps %xmm8, 96(%rsp)
  movaps %xmm9, 112(%rsp)
  movaps %xmm10, 128(%rsp)
  movaps %xmm11, 144(%rsp)
  movaps %xmm12, 160(%rsp)
  movaps %xmm13, 176(%rsp)
  movaps %xmm14, 192(%rsp)
  movaps %xmm15, 208(%rsp)
  xor %edi, %edi
  lea 32(%rsp), %rsi
  lea 16(%rsp), %rdx
  xor %ecx, %ecx
  call *closure_fun(%rip)
  mov 40(%rsp), %rsi
  mov 48(%rsp), %rdi
  movaps 64(%rsp), %xmm6
  movaps 80(%rsp), %xmm7
  movaps 96(%rsp), %xmm8
  movaps 112(%rsp), %xmm9
  movaps 128(%rsp), %xmm10
  movaps 144(%rsp), %xmm11
  movaps 160(%rsp), %xmm12
  movaps 176(%rsp), %xmm13
  movaps 192(%rsp), %xmm14
  movaps 208(%rsp), %xmm15
  mov 32(%rsp), %eax
  add $232, %rsp
  ret
  .size tramp_floor_win64_ii_closure, .-tramp_floor_win64_ii_closure

// void tramp_floor_set_closure_fun(void* fun): the closure function the closure calls.
  .globl tramp_floor_set_closure_fun
  .type tramp_floor_set_closure_fun, @function
  .p2align 4
tramp_floor_set_closure_fun:
  mov %rdi, closure_fun(%rip)
  ret
  .size tramp_floor_set_closure_fun, .-tramp_floor_set_closure_fun

  .data
  .p2align 3
closure_fun:
  .quad 0

  .section .note.GNU-stack, "", @progbits

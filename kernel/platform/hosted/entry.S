#include "atoll/hosted_abi.h"

/* Entry of a hosted-platform image. The loader jumps here with rsp at the top of
 * the boot stack and rsi pointing at start_info, as Xen does for PV guests. */
    .section .text.boot, "ax"
    .globl _start
    .type _start, @function
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    mov %rsi, %rdi
    call hosted_start
    ud2
    .size _start, .-_start

/* long atoll_hypercall(op, a1, a2, a3, a4, a5): the hosted hypercall instruction
 * sequence. The op becomes a system call number the guest's seccomp filter sends
 * to the hypervisor; arguments sit in Xen's x86-64 hypercall registers. */
    .text
    .globl atoll_hypercall
    .type atoll_hypercall, @function
atoll_hypercall:
    push %rbp
    mov %rsp, %rbp
    mov %edi, %eax
    add $ATOLL_HOSTED_HYPERCALL_SYSCALL_BASE, %rax
    mov %rsi, %rdi
    mov %rdx, %rsi
    mov %rcx, %rdx
    mov %r8, %r10
    mov %r9, %r8
    syscall
    pop %rbp
    ret
    .size atoll_hypercall, .-atoll_hypercall

/* The image's platform note: `atoll run` refuses images without it. */
    .section .note.atoll, "a"
    .balign 4
    .long 6          /* namesz: "Atoll\0" */
    .long 8          /* descsz: "hosted\0\0" */
    .long 1          /* type: platform */
    .asciz "Atoll"
    .balign 4
    .asciz "hosted"
    .balign 4

    .section .note.GNU-stack, "", @progbits

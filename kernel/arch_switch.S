/* void atoll_switch_context(uint64_t* save_rsp, uint64_t next_rsp)
 * Saves the callee-saved registers (SysV ABI: rbx, rbp, r12-r15, and the x87
 * control word and MXCSR control bits) on the current stack, stores rsp in
 * *save_rsp, and resumes the thread whose stack pointer is next_rsp. */
    .text
    .globl atoll_switch_context
    .type atoll_switch_context, @function
atoll_switch_context:
    push %rbp
    mov %rsp, %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    sub $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    add $8, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
    .size atoll_switch_context, .-atoll_switch_context

/* First frame of a new thread: the entry function and argument were left in r12
 * and r13 by the frame sched.cpp builds. */
    .globl atoll_thread_trampoline
atoll_thread_trampoline:
    mov %r12, %rdi
    mov %r13, %rsi
    call atoll_thread_entry
    ud2

    .section .note.GNU-stack, "", @progbits

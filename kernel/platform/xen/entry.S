/* Entry of a Xen PVH image, the hypercall instruction, and the interrupt stubs.
 *
 * Xen (or libxl's domain builder) starts the vCPU at the physical address the
 * XEN_ELFNOTE_PHYS32_ENTRY note names: 32-bit protected mode, flat segments,
 * paging off, ebx = physical address of struct hvm_start_info
 * (xen/arch-x86/hvm/start_info.h). No stack is provided. This file brings the
 * vCPU to 64-bit long mode on tables that are part of the image (so nothing is
 * written outside it before xen_start has copied the start info away), then
 * calls xen_start (platform.cpp). */
#include <xen/elfnote.h>

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

/* Selectors of the GDT below; traps.cpp adds the TSS at 0x18. */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

/* The ELF notes Xen's loaders read (xen/elfnote.h). */
    .section .note.Xen, "a"
    .balign 4
    .long 4, 4, XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .long _start32
    .balign 4
    .long 4, 8, XEN_ELFNOTE_GUEST_OS
    .asciz "Xen"
    .balign 4
    .asciz "Atoll"
    .balign 4
    .long 4, 8, XEN_ELFNOTE_XEN_VERSION
    .asciz "Xen"
    .balign 4
    .asciz "xen-3.0"
    .balign 4

/* The image's platform note: `atoll run` refuses an image that does not say
 * "hosted" (hypervisor/loader), so a PVH image is turned away with a message. */
    .section .note.atoll, "a"
    .balign 4
    .long 6          /* namesz: "Atoll\0" */
    .long 4          /* descsz: "xen\0" */
    .long 1          /* type: platform */
    .asciz "Atoll"
    .balign 4
    .asciz "xen"
    .balign 4

    .section .text.boot, "ax"
    .code32
    .globl _start32
    .type _start32, @function
_start32:
    cli
    cld
    /* The only register worth keeping; the image's own .data holds it. */
    movl %ebx, xen_start_info_paddr
    lgdt gdt_descriptor32

    movl %cr4, %eax
    orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    /* SSE on (the toolchain's newlib and libstdc++ use it): no x87 emulation,
     * monitor the coprocessor so fxsave/fxrstor and SSE instructions work. */
    movl %cr0, %eax
    andl $~CR0_EM, %eax
    orl $(CR0_PE | CR0_MP | CR0_PG), %eax
    movl %eax, %cr0
    ljmp $KERNEL_CS, $_start64
    .size _start32, .-_start32

    .code64
_start64:
    movl $KERNEL_DS, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    /* The loader zeroes bss (ELF p_memsz past p_filesz); zero it again all the
     * same, since Xen's dom0 builder and libxc are two loaders. */
    lea __bss_start(%rip), %rdi
    lea __bss_end(%rip), %rcx
    sub %rdi, %rcx
    rep stosb
    lea boot_stack_top(%rip), %rsp
    xor %ebp, %ebp
    fninit
    movl xen_start_info_paddr(%rip), %edi
    call xen_start
    ud2

/* long xen_hypercall_raw(op, a1, a2, a3, a4, a5): a call into the hypercall
 * page Xen filled (32 bytes per hypercall), with Xen's x86-64 argument
 * registers rdi, rsi, rdx, r10, r8. atoll_hypercall (hypercall.cpp) wraps it. */
    .text
    .globl xen_hypercall_raw
    .type xen_hypercall_raw, @function
xen_hypercall_raw:
    push %rbp
    mov %rsp, %rbp
    mov %edi, %eax
    shl $5, %rax
    lea hypercall_page(%rip), %r11
    add %r11, %rax
    mov %rsi, %rdi
    mov %rdx, %rsi
    mov %rcx, %rdx
    mov %r8, %r10
    mov %r9, %r8
    call *%rax
    pop %rbp
    ret
    .size xen_hypercall_raw, .-xen_hypercall_raw

/* Interrupt and exception entry. Every vector runs on an IST stack (traps.cpp
 * sets the TSS), so nothing is pushed into the interrupted code's red zone:
 * the toolchain's libraries were built for user mode and may keep data below
 * rsp. Each stub pushes a dummy error code where the CPU pushes none, then the
 * vector, and joins a common path that saves the general registers into a
 * TrapFrame (traps.cpp). */
.macro trap_stub vector, has_error
    .globl xen_trap_stub_\vector
xen_trap_stub_\vector:
    .if \has_error == 0
    push $0
    .endif
    push $\vector
    jmp trap_common
.endm

trap_stub 0, 0
trap_stub 1, 0
trap_stub 2, 0
trap_stub 3, 0
trap_stub 4, 0
trap_stub 5, 0
trap_stub 6, 0
trap_stub 7, 0
trap_stub 8, 1
trap_stub 9, 0
trap_stub 10, 1
trap_stub 11, 1
trap_stub 12, 1
trap_stub 13, 1
trap_stub 14, 1
trap_stub 15, 0
trap_stub 16, 0
trap_stub 17, 1
trap_stub 18, 0
trap_stub 19, 0
trap_stub 20, 0
trap_stub 21, 1
/* The event-channel upcall (XEN_UPCALL_VECTOR in traps.cpp) and the vector
 * every other interrupt lands on. */
trap_stub 0xf3, 0
trap_stub 0xff, 0

trap_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    /* The handler may run C++ that touches SSE registers, and the upcall
     * returns to code that was using them: keep the whole FPU/SSE state in a
     * 16-byte aligned area below the frame. */
    mov %rsp, %rbx
    sub $512, %rsp
    and $-16, %rsp
    fxsave (%rsp)
    call xen_trap
    fxrstor (%rsp)
    mov %rbx, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp    /* vector and error code */
    iretq

    .data
    .globl xen_start_info_paddr
    .balign 8
xen_start_info_paddr:
    .quad 0

/* Boot GDT: null, 64-bit code, data. Loaded from 32-bit code, so its
 * descriptor holds a 32-bit base (the image is linked below 4 GiB). */
    .globl xen_gdt
    .balign 16
xen_gdt:
    .quad 0
    .quad 0x00af9a000000ffff   /* 0x08: code, long mode, DPL 0 */
    .quad 0x00cf92000000ffff   /* 0x10: data, DPL 0 */
    .quad 0, 0                 /* 0x18: the TSS (traps.cpp fills it) */
xen_gdt_end:
gdt_descriptor32:
    .word xen_gdt_end - xen_gdt - 1
    .long xen_gdt

/* Page tables: the first 4 GiB identity-mapped, read-write, executable, with
 * 2 MiB pages but for the first 2 MiB, which has 4 KiB pages so that page 0
 * can stay unmapped (a NULL dereference faults). That covers the image, all
 * RAM a small appliance gets, the local APIC (0xfee00000) and the pages the
 * toolstack puts just below 4 GiB (console, xenstore: HVM_PARAM_*_PFN). */
    .balign 4096
pml4:
    .quad pdpt + 0x3          /* present, writable */
    .fill 511, 8, 0
pdpt:
    .quad pd + 0x0000 + 0x3
    .quad pd + 0x1000 + 0x3
    .quad pd + 0x2000 + 0x3
    .quad pd + 0x3000 + 0x3
    .fill 508, 8, 0
pd:
    .quad pt0 + 0x3
    .set frame, 1
    .rept 2047
    .quad (frame << 21) | 0x83   /* present, writable, 2 MiB page */
    .set frame, frame + 1
    .endr
pt0:
    .quad 0                      /* page 0: not present */
    .set frame, 1
    .rept 511
    .quad (frame << 12) | 0x3    /* present, writable */
    .set frame, frame + 1
    .endr

/* Where Xen writes the hypercall stubs (traps.cpp asks for it through the MSR
 * CPUID names); executable because the identity map is. */
    .section .text.hypercall_page, "ax"
    .balign 4096
    .globl hypercall_page
hypercall_page:
    .fill 4096, 1, 0xcc

    .bss
    .balign 16
boot_stack:
    .skip 65536
boot_stack_top:

    .section .note.GNU-stack, "", @progbits

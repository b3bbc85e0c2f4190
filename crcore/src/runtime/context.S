/* cr_save_context(SavedContext* rdi): store callee-saved state; return 0.
 * Layout (image/format.h SavedContext): rbx rbp r12 r13 r14 r15 rsp rip mxcsr(4) fpu_cw(2).
 * The restart stage loads these fields and jumps to rip with eax = 1. */
        .text
        .globl  cr_save_context
        .type   cr_save_context, @function
        .hidden cr_save_context
cr_save_context:
        .cfi_startproc
        movq    %rbx, 0(%rdi)
        movq    %rbp, 8(%rdi)
        movq    %r12, 16(%rdi)
        movq    %r13, 24(%rdi)
        movq    %r14, 32(%rdi)
        movq    %r15, 40(%rdi)
        leaq    8(%rsp), %rax          /* the caller's stack pointer after our return */
        movq    %rax, 48(%rdi)
        movq    (%rsp), %rax           /* the return address */
        movq    %rax, 56(%rdi)
        stmxcsr 64(%rdi)
        fnstcw  68(%rdi)
        xorl    %eax, %eax
        ret
        .cfi_endproc
        .size   cr_save_context, .-cr_save_context
        .section .note.GNU-stack,"",@progbits

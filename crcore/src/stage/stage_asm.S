/* The restart stage's assembly: entry from cr_restart, thread creation, resuming a context.
 * RESTRICTED CODE: see stage.cpp. */
        .section .text.entry,"ax",@progbits
        .globl  stage_entry
        .type   stage_entry, @function
/* stage_entry(StageArgs* rdi, stack top rsi): switch to the stage's stack and run stage_main. */
stage_entry:
        movq    %rsi, %rsp
        andq    $-16, %rsp
        xorl    %ebp, %ebp
        call    stage_main
        ud2

        .text
        .globl  stage_clone
        .type   stage_clone, @function
        .hidden stage_clone
/* long stage_clone(flags rdi, stack rsi, ptid rdx, ctid rcx, tls r8, fn r9, arg 8(%rsp)) */
stage_clone:
        movq    8(%rsp), %rax
        subq    $16, %rsi
        movq    %rax, 8(%rsi)
        movq    %r9, 0(%rsi)
        movq    %rcx, %r10
        movl    $56, %eax              /* clone(flags, stack, ptid, ctid, tls) */
        syscall
        testq   %rax, %rax
        jz      .Lchild_start
        ret

/* Both clones' children start here: fn and arg are at the top of the new stack. */
.Lchild_start:
        xorl    %ebp, %ebp
        popq    %rax
        popq    %rdi
        andq    $-16, %rsp
        call    *%rax
        movl    $60, %eax              /* exit this thread if fn ever returns */
        xorl    %edi, %edi
        syscall
        ud2

        .globl  stage_clone3
        .type   stage_clone3, @function
        .hidden stage_clone3
/* long stage_clone3(struct clone_args* rdi, size rsi): the caller put fn and arg at the top of the
 * child's stack (stack + stack_size points at them). */
stage_clone3:
        movl    $435, %eax
        syscall
        testq   %rax, %rax
        jz      .Lchild_start
        ret

        .globl  stage_resume_context
        .type   stage_resume_context, @function
        .hidden stage_resume_context
/* stage_resume_context(SavedContext* rdi): the saved cr_save_context() returns 1. */
stage_resume_context:
        movq    0(%rdi), %rbx
        movq    8(%rdi), %rbp
        movq    16(%rdi), %r12
        movq    24(%rdi), %r13
        movq    32(%rdi), %r14
        movq    40(%rdi), %r15
        ldmxcsr 64(%rdi)
        fldcw   68(%rdi)
        movq    48(%rdi), %rsp
        movl    $1, %eax
        jmpq    *56(%rdi)

        .section .note.GNU-stack,"",@progbits

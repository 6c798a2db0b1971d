/* bpf_sim.h — a classic-BPF interpreter for the programs libseccomp
 * emits, so test_sandbox can run the sandbox's filter on calls this
 * kernel cannot make (the i386 and x32 ABIs).  Include after cmocka.h,
 * linux/seccomp.h and sandbox_private.h. */
#ifndef HOIST_TESTS_SANDBOX_BPF_SIM_H
#define HOIST_TESTS_SANDBOX_BPF_SIM_H

/* A classic-BPF interpreter for what libseccomp emits, to run the
 * filter on calls this kernel cannot make (i386, x32). */
static uint32_t
bpf_run (const struct sandbox_filter *f, uint32_t arch, int nr, uint64_t a0, uint64_t a1)
{
  struct seccomp_data d = { .nr = nr, .arch = arch, .args = { a0, a1 } };
  uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };

  for (size_t pc = 0; pc < f->len; pc++)
    {
      const struct sock_filter *i = &f->insns[pc];
      uint32_t k = i->k, v = BPF_SRC (i->code) == BPF_X ? X : k;

      switch (BPF_CLASS (i->code))
        {
        case BPF_LD:
          if (BPF_MODE (i->code) == BPF_ABS)
            memcpy (&A, (const char *) &d + k, 4);
          else
            A = BPF_MODE (i->code) == BPF_MEM ? M[k] : k;
          break;
        case BPF_LDX:
          X = BPF_MODE (i->code) == BPF_MEM ? M[k] : k;
          break;
        case BPF_ST:
          M[k] = A;
          break;
        case BPF_STX:
          M[k] = X;
          break;
        case BPF_ALU:
          assert_true (BPF_OP (i->code) == BPF_AND || BPF_OP (i->code) == BPF_OR);
          A = BPF_OP (i->code) == BPF_AND ? A & v : A | v;
          break;
        case BPF_MISC:
          if (BPF_MISCOP (i->code) == BPF_TAX)
            X = A;
          else
            A = X;
          break;
        case BPF_RET:
          return BPF_RVAL (i->code) == BPF_A ? A : k;
        case BPF_JMP:
          switch (BPF_OP (i->code))
            {
            case BPF_JA:
              pc += k;
              break;
            case BPF_JEQ:
              pc += A == v ? i->jt : i->jf;
              break;
            case BPF_JGT:
              pc += A > v ? i->jt : i->jf;
              break;
            case BPF_JGE:
              pc += A >= v ? i->jt : i->jf;
              break;
            case BPF_JSET:
              pc += (A & v) != 0 ? i->jt : i->jf;
              break;
            default:
              fail_msg ("BPF jump 0x%x", i->code);
            }
          break;
        default:
          fail_msg ("BPF op 0x%x", i->code);
        }
    }
  fail_msg ("BPF program fell off its end");
  return 0;
}

#endif

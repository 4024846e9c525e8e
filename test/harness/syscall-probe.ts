/**
 * Tiny static x86-64 Linux programs that make one raw syscall and exit with its errno (0 when it
 * succeeded), so tests can ask a sandbox's kernel (or gVisor's) exactly one question. The sandbox
 * image is busybox only, and busybox has no applet for keyctl, ptrace or clone3.
 */

/** x86-64 syscall numbers of the probes the tests use. */
export const Syscall = {
  ptrace: 101,
  personality: 135,
  keyctl: 250,
  unshare: 272,
  ioUringSetup: 425,
  clone3: 435,
  socket: 41,
} as const;

const LOAD_ADDRESS = 0x40_0000n;
const ELF_HEADER_SIZE = 64;
const PROGRAM_HEADER_SIZE = 56;
const CODE_OFFSET = ELF_HEADER_SIZE + PROGRAM_HEADER_SIZE;
/** `mov r64, imm64` opcodes of the registers the kernel reads syscall arguments from, in order. */
const ARG_REGISTER_OPCODES = [
  [0x48, 0xbf], // rdi
  [0x48, 0xbe], // rsi
  [0x48, 0xba], // rdx
  [0x49, 0xba], // r10
  [0x49, 0xb8], // r8
  [0x49, 0xb9], // r9
] as const;
const EXIT_GROUP = 231;

function movImm64(opcode: readonly number[], value: bigint): Buffer {
  const out = Buffer.alloc(10);
  out.set(opcode, 0);
  out.writeBigUInt64LE(BigInt.asUintN(64, value), 2);
  return out;
}

/**
 * After the syscall: exit_group(-rax) when it failed (rax is -errno), exit_group(0) otherwise.
 * One instruction per row, so the jumps' byte counts can be checked by eye.
 */
const EPILOGUE: ReadonlyArray<readonly number[]> = [
  [0x0f, 0x05], // syscall
  [0x48, 0x85, 0xc0], // test rax, rax
  [0x78, 0x04], // js failed: over the next two rows (4 bytes)
  [0x31, 0xff], // xor edi, edi
  [0xeb, 0x05], // jmp exit: over the next two rows (5 bytes)
  [0x48, 0xf7, 0xd8], // failed: neg rax
  [0x89, 0xc7], // mov edi, eax
  [0xb8, EXIT_GROUP, 0x00, 0x00, 0x00], // exit: mov eax, exit_group
  [0x0f, 0x05], // syscall
];

/** The machine code: the arguments into their registers, the syscall, then {@link EPILOGUE}. */
function probeCode(nr: number, args: readonly bigint[]): Buffer {
  if (args.length > ARG_REGISTER_OPCODES.length) throw new Error("a syscall takes at most six arguments");
  return Buffer.concat([
    movImm64([0x48, 0xb8], BigInt(nr)), // mov rax, nr
    ...args.map((arg, i) => movImm64(ARG_REGISTER_OPCODES[i] ?? [], arg)),
    Buffer.from(EPILOGUE.flat()),
  ]);
}

/**
 * A static ELF64 executable for x86-64 that calls syscall `nr` with `args` and exits with the
 * errno it got (0 on success): one read+execute segment, loaded at 0x400000, no libc.
 */
export function syscallProbe(nr: number, args: readonly bigint[] = []): Buffer {
  const code = probeCode(nr, args);
  const size = BigInt(CODE_OFFSET + code.length);
  const header = Buffer.alloc(CODE_OFFSET);
  header.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // \x7fELF, 64-bit, little-endian, v1, SysV
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(0x3e, 18); // EM_X86_64
  header.writeUInt32LE(1, 20); // EV_CURRENT
  header.writeBigUInt64LE(LOAD_ADDRESS + BigInt(CODE_OFFSET), 24); // entry point
  header.writeBigUInt64LE(BigInt(ELF_HEADER_SIZE), 32); // program headers' offset
  header.writeUInt16LE(ELF_HEADER_SIZE, 52);
  header.writeUInt16LE(PROGRAM_HEADER_SIZE, 54);
  header.writeUInt16LE(1, 56); // one program header
  const ph = ELF_HEADER_SIZE;
  header.writeUInt32LE(1, ph); // PT_LOAD
  header.writeUInt32LE(5, ph + 4); // PF_R | PF_X
  header.writeBigUInt64LE(0n, ph + 8); // from the start of the file
  header.writeBigUInt64LE(LOAD_ADDRESS, ph + 16);
  header.writeBigUInt64LE(LOAD_ADDRESS, ph + 24);
  header.writeBigUInt64LE(size, ph + 32);
  header.writeBigUInt64LE(size, ph + 40);
  header.writeBigUInt64LE(0x1000n, ph + 48);
  return Buffer.concat([header, code]);
}

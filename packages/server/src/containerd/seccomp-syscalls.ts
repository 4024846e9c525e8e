/**
 * The syscall names of the default seccomp profile (seccomp-profile.ts), grouped by what they are for.
 * The set follows what Docker's and containerd's default profiles allow a container that holds no
 * capability beyond the default set; the names are kernel facts, the grouping and choices are ours.
 */

/** The names in a whitespace-separated list. */
function words(text: string): string[] {
  return text.split(/\s+/).filter((name) => name !== "");
}

/**
 * Files, directories, descriptors and their metadata; reads, writes and the usual fd plumbing.
 * mknod makes device nodes only with CAP_MKNOD and the cgroup's device list (FIFOs need neither);
 * name_to_handle_at only makes a handle: using one (open_by_handle_at) stays denied.
 */
const FILES = words(`
  access chdir chmod chown chown32 close close_range copy_file_range creat dup dup2 dup3 faccessat
  faccessat2 fadvise64 fadvise64_64 fallocate fchdir fchmod fchmodat fchown fchown32 fchownat
  fcntl fcntl64 fdatasync flock fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
  ftruncate64 futimesat getcwd getdents getdents64 ioctl lchown lchown32 link linkat _llseek lseek
  lstat lstat64 mkdir mkdirat mknod mknodat name_to_handle_at newfstatat open openat openat2 pipe
  pipe2 pread64 preadv preadv2 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv
  rename renameat renameat2 rmdir sendfile sendfile64 splice stat stat64 statfs statfs64 statx
  symlink symlinkat sync sync_file_range syncfs tee truncate truncate64 umask unlink unlinkat
  utime utimensat utimensat_time64 utimes vmsplice write writev
`);

/** Extended attributes (the kernel checks `trusted.*` and `security.*` writes against capabilities). */
const XATTRS = words(`
  fgetxattr flistxattr fremovexattr fsetxattr getxattr lgetxattr listxattr llistxattr lremovexattr
  lsetxattr removexattr setxattr
`);

/**
 * File change notification and Linux AIO. io_uring is left out: its rings run operations that
 * seccomp never sees, and it has been the way into most recent kernel exploits; Docker and
 * containerd dropped it from their defaults in 2023 for that reason. Programs fall back to epoll.
 */
const NOTIFY_AND_AIO = words(`
  fanotify_mark inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy
  io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit ioprio_get ioprio_set
`);

/** Waiting on descriptors, and descriptors that deliver events, signals or timer ticks. */
const POLLING = words(`
  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
  epoll_wait_old eventfd eventfd2 _newselect poll ppoll ppoll_time64 pselect6 pselect6_time64
  select signalfd signalfd4 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
  timerfd_settime64
`);

/** The address space. mlock stays within RLIMIT_MEMLOCK without CAP_IPC_LOCK. */
const MEMORY = words(`
  brk madvise membarrier memfd_create memfd_secret mincore mlock mlock2 mlockall mmap mmap2
  mprotect mremap msync munlock munlockall munmap pkey_alloc pkey_free pkey_mprotect
  process_mrelease remap_file_pages
`);

/**
 * Processes and threads: start, wait, exit, limits, scheduling and self-restriction (seccomp and
 * landlock only ever narrow). clone, clone3 and personality have rules of their own.
 */
const PROCESSES = words(`
  capget capset execve execveat exit exit_group fork futex futex_time64 futex_waitv
  get_robust_list get_thread_area getcpu getpgid getpgrp getpid getppid getpriority getrandom
  getrlimit getrusage getsid gettid landlock_add_rule landlock_create_ruleset
  landlock_restrict_self pidfd_open pidfd_send_signal prctl prlimit64 restart_syscall rseq
  sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr sched_getparam
  sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity
  sched_setattr sched_setparam sched_setscheduler sched_yield seccomp set_robust_list
  set_thread_area set_tid_address setpgid setpriority setrlimit setsid sysinfo times ugetrlimit
  uname vfork wait4 waitid waitpid
`);

/** User and group ids; changing them still needs CAP_SETUID/CAP_SETGID. */
const IDENTITY = words(`
  getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getresgid getresgid32
  getresuid getresuid32 getuid getuid32 setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
  setgroups setgroups32 setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
  setreuid32 setuid setuid32
`);

/** Signals; they reach only processes the sandbox's pid namespace can see. */
const SIGNALS = words(`
  kill pause rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
  rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack sigprocmask sigreturn
  tgkill tkill
`);

/**
 * Clocks, sleeps and timers. adjtimex and clock_adjtime are here because they also read the clock's
 * state; changing it needs CAP_SYS_TIME, which sandboxes never hold.
 */
const TIME = words(`
  adjtimex alarm clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
  clock_gettime64 clock_nanosleep clock_nanosleep_time64 getitimer gettimeofday nanosleep
  setitimer time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
  timer_settime timer_settime64
`);

/**
 * Sockets once made. socket itself has a rule of its own (no vsock); i386's socketcall multiplexes
 * them all and cannot be filtered by family, as in Docker's profile.
 */
const SOCKETS = words(`
  accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg
  recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socketcall socketpair
`);

/** System V and POSIX IPC, which the sandbox's own ipc namespace (and /dev/mqueue mount) holds. */
const IPC = words(`
  ipc mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
  mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd semctl semget semop semtimedop
  semtimedop_time64 shmat shmctl shmdt shmget
`);

/**
 * Allowed because a capability of the default set (oci-spec.ts) already grants them: chroot with
 * CAP_SYS_CHROOT. Docker adds each capability's syscalls only when the container holds it.
 */
const GRANTED_BY_DEFAULT_CAPABILITIES = ["chroot"];

/**
 * Tracing, as Docker allows it on kernels from 4.8: before 4.8 a tracer could rewrite a syscall after
 * seccomp had passed it, since then seccomp checks again. This stack cannot run on an older kernel
 * (Node.js needs 4.18). The kernel still refuses a process of another user, or one holding more
 * capabilities, without CAP_SYS_PTRACE, which sandboxes never hold; and the pid namespace keeps
 * everything outside the sandbox out of reach. Same-user tracing inside it (strace, gdb) keeps working.
 */
const TRACING = ["process_vm_readv", "process_vm_writev", "ptrace"];

/** Every syscall allowed whatever its arguments, on every architecture. */
export const ALLOWED_SYSCALLS: readonly string[] = Object.freeze([
  ...FILES,
  ...XATTRS,
  ...NOTIFY_AND_AIO,
  ...POLLING,
  ...MEMORY,
  ...PROCESSES,
  ...IDENTITY,
  ...SIGNALS,
  ...TIME,
  ...SOCKETS,
  ...IPC,
  ...GRANTED_BY_DEFAULT_CAPABILITIES,
  ...TRACING,
]);

/** Allowed only on the x86 family: thread-local storage setup and the local descriptor table. */
export const X86_SYSCALLS: readonly string[] = Object.freeze(["arch_prctl", "modify_ldt"]);

/** Allowed only on ARM: its variants of fadvise and sync_file_range, cache flushing and TLS. */
export const ARM_SYSCALLS: readonly string[] = Object.freeze([
  "arm_fadvise64_64",
  "arm_sync_file_range",
  "breakpoint",
  "cacheflush",
  "set_tls",
  "sync_file_range2",
]);

/**
 * Never allowed by the default profile (the default action refuses them): each reaches state the
 * sandbox's namespaces do not isolate, or needs a capability sandboxes do not hold. Listed so that
 * tests and docs can name them; the profile itself is an allow-list.
 */
export const DENIED_SYSCALLS: readonly string[] = Object.freeze([
  // namespaces and mounts
  ...words(`
    unshare setns mount umount umount2 pivot_root
    fsopen fsconfig fsmount fspick move_mount open_tree mount_setattr
  `),
  // kernel keyrings are not namespaced: one sandbox could read or fill another's
  ...words("keyctl add_key request_key"),
  // kernel programs, profiling and modules
  ...words("bpf perf_event_open init_module finit_module delete_module kexec_load kexec_file_load"),
  // the host's machine, clock, log and accounting
  ...words(`
    reboot swapon swapoff syslog acct settimeofday clock_settime sethostname setdomainname
    iopl ioperm vhangup quotactl lookup_dcookie fanotify_init
  `),
  // file handles bypass path permission checks (the "shocker" escape)
  ...words("open_by_handle_at"),
  // other processes' memory and NUMA placement
  ...words("kcmp pidfd_getfd process_madvise move_pages migrate_pages mbind set_mempolicy get_mempolicy"),
  // page-fault handling from user space widens kernel race windows; io_uring bypasses seccomp
  ...words("userfaultfd io_uring_setup io_uring_enter io_uring_register"),
  // obsolete interfaces
  ...words("uselib ustat sysfs _sysctl nfsservctl vm86 vm86old"),
]);

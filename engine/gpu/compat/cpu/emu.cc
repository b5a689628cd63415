/*
 * emu.cc — the CPU emulation of the HIP runtime (see hip/hip_runtime.h for
 * the execution model it implements).
 *
 * GPU threads are fibers: each has its own mmap'd stack (with a guard
 * page), made once and reused by every later launch; a fiber loops forever
 * running "the current launch's kernel" and parks when it returns.  A block
 * starts all its fibers in the run queue; a fiber runs until it returns or
 * waits at a barrier (__syncthreads, or the per-warp one inside a shuffle),
 * then hands over directly to the next ready fiber; the last to arrive at a
 * barrier releases the waiters to the queue and runs on.  An empty queue
 * with threads still waiting is a deadlock.
 *
 * Fiber switches use a small x86-64 routine that swaps only the
 * callee-saved registers (a few ns; glibc's swapcontext costs a
 * sigprocmask syscall, ~240 ns).  On other CPUs, or when the kernel
 * enforces a shadow stack, they use ucontext instead.  ASan builds
 * announce each switch to ASan either way.  Each fiber's stack starts at
 * its own cache-line offset into its mapping: the mappings are all of one
 * size, so the stack tops would otherwise share their low address bits and
 * with them the same few cache sets, which a block switching between up to
 * 1024 fibers keeps evicting (the self-test ran ~20% slower so).
 *
 * Shuffles double-buffer the per-warp value slots, so one warp barrier per
 * shuffle suffices: no lane can start the shuffle after next before every
 * lane has passed the next one's barrier, by which time all have read this
 * one's slots.  The bf16 tile product (PTX's mma.m16n8k16) is a warp
 * exchange of the same kind, 6 words per lane, then each lane's sums.
 *
 * With ZEMU_RACE, the shared-memory race check below answers the calls of
 * kernels compiled with -fsanitize=thread's instrumentation.
 */
#include "hip/hip_runtime.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <condition_variable>
#include <string>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define ZEMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZEMU_ASAN 1
#endif
#endif

#ifdef ZEMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__x86_64__)
#define ZEMU_ASM_SWITCH 1
#endif

namespace {

constexpr unsigned kMaxThreads = 1024;
constexpr size_t kMaxShared = 65536;
constexpr unsigned kMaxCoopBlocks = 64; /* OS threads of a cooperative launch */
constexpr size_t kStackBytes = 320 * 1024; /* per fiber, guard page included */
constexpr size_t kStagger = 64 * 1024;     /* of which the stack tops' offsets take up to this */

/* ---- fibers ---- */

#ifdef ZEMU_ASM_SWITCH
extern "C" void zemu_swap(void **save_sp, void *load_sp);
extern "C" void zemu_start(void);

/* zemu_swap pushes the callee-saved registers, stores the stack pointer,
 * loads the other one and pops them: a call that returns in another fiber.
 * (The FP control words are not swapped: all fibers share the OS thread's.)
 * A new fiber's stack holds zeroed registers with r13 = its entry function
 * and a return address of zemu_start, which calls r13 (never returning). */
asm(R"(
    .pushsection .text
    .globl zemu_swap
    .hidden zemu_swap
    .type zemu_swap, @function
zemu_swap:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size zemu_swap, .-zemu_swap

    .globl zemu_start
    .hidden zemu_start
    .type zemu_start, @function
zemu_start:
    .cfi_startproc
    .cfi_undefined rip
    callq *%r13
    ud2
    .cfi_endproc
    .size zemu_start, .-zemu_start
    .popsection
)");

/* A kernel-enforced shadow stack would reject zemu_swap's returns. */
bool shadow_stack_on()
{
    unsigned long features = 0;
    return syscall(SYS_arch_prctl, 0x5005 /* ARCH_SHSTK_STATUS */, &features) == 0 &&
           (features & 1);
}
#endif

enum class St : uint8_t { Ready, AtSync, AtShuffle, Done };

/* A cp.async copy in flight: its bytes (read at issue), where they land,
 * its group (0: not yet committed) and where it was issued. */
struct AsyncCopy {
    void *dst;
    unsigned char bytes[16];
    unsigned group;
    const void *pc;
};

struct Fiber {
    std::vector<AsyncCopy> async; /* cp.async copies in flight, oldest first */
    unsigned groups = 0;          /* cp.async groups committed */
    void *sp = nullptr; /* saved stack pointer (asm switch) */
    ucontext_t uc{};    /* saved context (ucontext switch) */
    char *map = nullptr;
    zemu::uint3 tid{};
    unsigned linear = 0;
    St st = St::Ready;
#ifdef ZEMU_ASAN
    const void *stack_lo = nullptr;
    size_t stack_size = 0;
    void *fake_stack = nullptr;
#endif
};

struct Warp {
    unsigned size, arrived, done, round;
    zemu::Shfl kind;
    int width;
    uint32_t slot[2][32];
    uint32_t mslot[2][32][6]; /* a tile product's operands: a[4], b[2] per lane */
};

struct Sched {
    bool use_asm = false;
    size_t page = 4096;
    std::vector<std::unique_ptr<Fiber>> fibers;
    Fiber host;            /* the caller's context */
    Fiber *cur = &host;
    Fiber *prev = nullptr; /* who switched to cur */
    const zemu::Launch *launch = nullptr;
    unsigned n = 0;        /* threads per block */
    dim3 shape{0, 0, 0};   /* the block shape the fibers' tids are for */
    unsigned at_sync = 0, done = 0;
    std::vector<Warp> warps;
    unsigned ring[kMaxThreads]; /* run queue */
    unsigned head = 0, queued = 0;
    void *shared = nullptr;
    uint32_t epoch = 0;       /* barrier intervals run on this OS thread (race check) */
    uint32_t block_epoch = 0; /* the running block's first one */

    Sched();
    ~Sched();
};

thread_local std::unique_ptr<Sched> t_sched_owner;
thread_local Sched *t_sched = nullptr;

Sched &sched()
{
    if (!t_sched) {
        t_sched_owner = std::make_unique<Sched>();
        t_sched = t_sched_owner.get();
    }
    return *t_sched;
}

[[noreturn]] void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("zemu: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* A kernel bug found in the running thread: report it and abort. */
[[noreturn]] void kernel_bug(const Sched &s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
[[noreturn]] void kernel_bug(const Sched &s, const char *fmt, ...)
{
    const zemu::uint3 &b = zemu::t_block_idx, &t = s.cur->tid;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fatal("kernel %s, block (%u,%u,%u), thread (%u,%u,%u): %s", s.launch->name, b.x, b.y, b.z,
          t.x, t.y, t.z, msg);
}

/* Where the calling GPU thread runs; aborts outside a kernel. */
Sched &in_kernel(const char *what)
{
    Sched &s = sched();
    if (s.cur == &s.host)
        fatal("%s called outside a kernel", what);
    return s;
}

#ifdef ZEMU_ASAN
void finish_switch(Sched &s, void *fake_stack)
{
    const void *lo;
    size_t size;
    __sanitizer_finish_switch_fiber(fake_stack, &lo, &size);
    if (s.prev == &s.host) {
        s.host.stack_lo = lo;
        s.host.stack_size = size;
    }
}
#endif

void switch_to(Sched &s, Fiber *from, Fiber *to)
{
    s.prev = from;
    s.cur = to;
    if (to != &s.host)
        zemu::t_thread_idx = &to->tid;
#ifdef ZEMU_ASAN
    __sanitizer_start_switch_fiber(&from->fake_stack, to->stack_lo, to->stack_size);
#endif
#ifdef ZEMU_ASM_SWITCH
    if (s.use_asm)
        zemu_swap(&from->sp, to->sp);
    else
#endif
        swapcontext(&from->uc, &to->uc);
#ifdef ZEMU_ASAN
    finish_switch(s, from->fake_stack);
#endif
}

void thread_returned(Sched &s);

/* A fiber's whole life: run the current launch's kernel, park, repeat. */
void fiber_main()
{
    Sched &s = *t_sched;
#ifdef ZEMU_ASAN
    finish_switch(s, nullptr);
#endif
    for (;;) {
        s.launch->thread();
        thread_returned(s);
    }
}

std::unique_ptr<Fiber> new_fiber(Sched &s)
{
    auto f = std::make_unique<Fiber>();
    void *map = mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED || mprotect(map, s.page, PROT_NONE) != 0)
        fatal("cannot map a %zu-byte fiber stack", kStackBytes);
    f->map = static_cast<char *>(map);
    /* the stack top lowered by a whole number of cache lines, stepping 41
     * lines a fiber modulo kStagger: 1024 fibers, 1024 distinct offsets */
    size_t lines = kStagger / 64, stagger = s.fibers.size() * 41 % lines * 64;
    char *lo = f->map + s.page;
    size_t size = kStackBytes - s.page - stagger;
#ifdef ZEMU_ASAN
    f->stack_lo = lo;
    f->stack_size = size;
#endif
#ifdef ZEMU_ASM_SWITCH
    if (s.use_asm) {
        /* r15 r14 r13 r12 rbx rbp, then the return address; zemu_start
         * runs with rsp 16-byte aligned, as a call expects. */
        uintptr_t top = (reinterpret_cast<uintptr_t>(lo + size) & ~uintptr_t(15)) - 16;
        void **sp = reinterpret_cast<void **>(top) - 7;
        for (int i = 0; i < 6; i++)
            sp[i] = nullptr;
        sp[2] = reinterpret_cast<void *>(&fiber_main);
        sp[6] = reinterpret_cast<void *>(&zemu_start);
        f->sp = sp;
        return f;
    }
#endif
    if (getcontext(&f->uc) != 0)
        fatal("getcontext failed");
    f->uc.uc_stack.ss_sp = lo;
    f->uc.uc_stack.ss_size = size;
    f->uc.uc_link = nullptr;
    makecontext(&f->uc, fiber_main, 0);
#ifdef ZEMU_ASAN
    /* ASan's swapcontext would clear the shadow of the whole stack named
     * here at every switch (~1 us), and with it the redzones of the parked
     * frames; the switch annotations already tell ASan where stacks are. */
    f->uc.uc_stack = stack_t{};
#endif
    return f;
}

Sched::Sched()
{
    page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
#ifdef ZEMU_ASM_SWITCH
    use_asm = !shadow_stack_on();
#endif
}

Sched::~Sched()
{
    for (auto &f : fibers) {
#ifdef ZEMU_ASAN
        /* frames parked on the stack leave poisoned shadow behind */
        __asan_unpoison_memory_region(f->map, kStackBytes);
#endif
        munmap(f->map, kStackBytes);
    }
}

/* ---- the scheduler ---- */

/* A barrier interval begins (a block's start, a released __syncthreads);
 * never 0, the shadow cells' "no access yet". */
void next_epoch(Sched &s) { s.epoch = s.epoch + 1 ? s.epoch + 1 : 1; }

void push(Sched &s, unsigned i)
{
    s.ring[(s.head + s.queued++) % kMaxThreads] = i;
}

[[noreturn]] void deadlock(const Sched &s)
{
    unsigned shuffling = 0;
    for (unsigned i = 0; i < s.n; i++)
        shuffling += s.fibers[i]->st == St::AtShuffle;
    const zemu::uint3 &b = zemu::t_block_idx;
    fatal("kernel %s deadlocks in block (%u,%u,%u): of its %u threads, %u wait at "
          "__syncthreads, %u wait in a shuffle and %u have returned",
          s.launch->name, b.x, b.y, b.z, s.n, s.at_sync, shuffling, s.done);
}

/* The running fiber f cannot go on: run the next ready one. */
void run_next(Sched &s, Fiber *f)
{
    if (s.queued) {
        unsigned i = s.ring[s.head];
        s.head = (s.head + 1) % kMaxThreads;
        s.queued--;
        switch_to(s, f, s.fibers[i].get());
    } else if (s.done == s.n) {
        switch_to(s, f, &s.host);
    } else {
        deadlock(s);
    }
}

/* Every thread is at __syncthreads or has returned: wake the waiters (the
 * running one, if waiting, just goes on). */
void release_sync(Sched &s, Fiber *running)
{
    next_epoch(s);
    for (unsigned i = 0; i < s.n; i++) {
        Fiber *f = s.fibers[i].get();
        if (f->st == St::AtSync) {
            f->st = St::Ready;
            if (f != running)
                push(s, i);
        }
    }
    s.at_sync = 0;
}

void async_retire(Fiber *f, unsigned upto);

void thread_returned(Sched &s)
{
    Fiber *f = s.cur;
    Warp &w = s.warps[f->linear / 32];
    if (w.arrived)
        kernel_bug(s, "returned while other lanes of its warp wait in a shuffle");
    if (!f->async.empty()) /* what is still in flight lands, uncommitted copies too */
        async_retire(f, UINT_MAX);
    f->st = St::Done;
    w.done++;
    s.done++;
    if (s.at_sync && s.at_sync + s.done == s.n)
        release_sync(s, f);
    run_next(s, f);
}

void prepare_threads(Sched &s, unsigned n)
{
    while (s.fibers.size() < n)
        s.fibers.push_back(new_fiber(s));
    const dim3 &b = s.launch->block;
    if (b.x != s.shape.x || b.y != s.shape.y || b.z != s.shape.z) {
        for (unsigned i = 0; i < n; i++) {
            Fiber *f = s.fibers[i].get();
            f->linear = i;
            f->tid = {i % b.x, i / b.x % b.y, i / (b.x * b.y)};
        }
        s.shape = b;
    }
    s.warps.assign((n + 31) / 32, Warp{});
    for (unsigned w = 0; w < s.warps.size(); w++)
        s.warps[w].size = n - 32 * w < 32 ? n - 32 * w : 32;
}

void run_block(Sched &s)
{
    next_epoch(s);
    s.block_epoch = s.epoch;
    s.at_sync = s.done = 0;
    for (Warp &w : s.warps)
        w.arrived = w.done = w.round = 0;
    for (unsigned i = 0; i < s.n; i++) {
        s.fibers[i]->st = St::Ready;
        s.fibers[i]->groups = 0;
    }
    s.head = s.queued = 0;
    for (unsigned i = 1; i < s.n; i++)
        push(s, i);
    if (s.shared)
        memset(s.shared, 0xcd, s.launch->shmem); /* shared memory starts as garbage */
    switch_to(s, &s.host, s.fibers[0].get());
}

#ifdef ZEMU_RACE
/* ---- the shared-memory race check (ZEMU_RACE builds) ----
 *
 * The kernel sources are compiled with -fsanitize=thread's instrumentation
 * but linked without ThreadSanitizer's runtime: every load and store calls
 * __tsan_readN / __tsan_writeN, which are defined at the end of this file.
 * While a launch runs, an access to the block's shared memory (the OS
 * thread's static TLS, where __shared__ lives, and the dynamic shared
 * memory) is checked against a shadow cell per 2 bytes, which holds the
 * last writer and the readers of the current barrier interval.  Two
 * accesses of one interval by different threads, one of them a write, are
 * a race on the GPU whatever order they ran in here, unless both threads
 * are lanes of one warp and a warp exchange (shuffle, tile product) lies
 * between them; so is a read of shared memory that nothing of this block
 * wrote.  The first found aborts the run, naming the kernel, block,
 * threads, hazard and source lines.  Atomics are not checked. */

struct RaceCell {
    uint32_t wep, wround;         /* last write: its interval, its warp's exchange count */
    uint32_t rep, rround, rwarps; /* reads of interval rep: the last reader's exchange count, the warps */
    uint16_t wtid, rtid;          /* last writer; last reader (of its warp, if rwarps has one) */
    const void *wpc, *rpc;        /* where they were */
};

struct RaceRegion {
    uintptr_t lo = 0;
    size_t size = 0; /* bytes */
    RaceCell *cells = nullptr;
    size_t mapped = 0; /* bytes of cells */
};

struct RaceState {
    bool on = false;
    RaceRegion tls, dyn;
    uintptr_t exempt[4] = {}; /* the emulation's own thread-locals (up to 16 bytes each) */
};

thread_local RaceState t_race;

void race_cells(RaceRegion &g, size_t bytes)
{
    size_t need = (bytes + 1) / 2 * sizeof(RaceCell);
    if (need <= g.mapped)
        return;
    if (g.cells)
        munmap(g.cells, g.mapped);
    void *m = mmap(nullptr, need, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        fatal("cannot map %zu bytes of race-check shadow", need);
    g.cells = static_cast<RaceCell *>(m);
    g.mapped = need;
}

int race_tls_phdr(struct dl_phdr_info *info, size_t, void *arg)
{
    RaceRegion &g = *static_cast<RaceRegion *>(arg);
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_TLS && info->dlpi_tls_data) {
            g.lo = reinterpret_cast<uintptr_t>(info->dlpi_tls_data);
            g.size = info->dlpi_phdr[i].p_memsz;
        }
    return 1; /* the executable only: the first object listed */
}

/* A launch starts on this OS thread: find its static TLS (once) and the
 * dynamic shared memory, and check from now on. */
void race_begin(Sched &s)
{
    RaceState &r = t_race;
    if (!r.tls.size) {
        dl_iterate_phdr(race_tls_phdr, &r.tls);
        if (!r.tls.size)
            fatal("race check: this executable's thread-local storage was not found");
        race_cells(r.tls, r.tls.size);
        /* zemu::t_thread_idx and the launch's shape: set here, read by every thread */
        r.exempt[0] = reinterpret_cast<uintptr_t>(&zemu::t_thread_idx);
        r.exempt[1] = reinterpret_cast<uintptr_t>(&zemu::t_block_idx);
        r.exempt[2] = reinterpret_cast<uintptr_t>(&zemu::t_block_dim);
        r.exempt[3] = reinterpret_cast<uintptr_t>(&zemu::t_grid_dim);
    }
    r.dyn.lo = reinterpret_cast<uintptr_t>(s.shared);
    r.dyn.size = s.shared ? s.launch->shmem : 0;
    race_cells(r.dyn, r.dyn.size);
    r.on = true;
}

void race_end() { t_race.on = false; }

/* "file:line (function)" of a code address of this executable, by
 * addr2line where it is installed; else the address. */
std::string race_where(const void *pc)
{
    char buf[512];
    Dl_info di;
    uintptr_t a = reinterpret_cast<uintptr_t>(pc) - 1; /* the call, not the return address */
    if (!dladdr(pc, &di) || !di.dli_fbase)
        return (snprintf(buf, sizeof buf, "%p", pc), buf);
    uintptr_t off = a - reinterpret_cast<uintptr_t>(di.dli_fbase);
    std::string out;
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "addr2line -C -f -e '%s' 0x%zx 2>/dev/null",
             di.dli_fname && *di.dli_fname ? di.dli_fname : "/proc/self/exe", (size_t)off);
    if (FILE *p = popen(cmd, "r")) {
        char fn[256] = "", line[256] = "";
        if (fgets(fn, sizeof fn, p) && fgets(line, sizeof line, p) && line[0] != '?') {
            fn[strcspn(fn, "\n")] = 0;
            line[strcspn(line, " \n")] = 0; /* without " (discriminator N)" */
            const char *base = strrchr(line, '/');
            out = std::string(base ? base + 1 : line) + " (" + fn + ")";
        }
        pclose(p);
    }
    if (out.empty())
        out = (snprintf(buf, sizeof buf, "%s+0x%zx", di.dli_fname, (size_t)off), buf);
    return out;
}

/* The running thread's access at pc (a write if write) conflicts with
 * thread other's, a write if other_wrote, at other_pc (null: where is not
 * known, nor which lane of other's warp it was).  other UINT_MAX: the
 * access is a read of memory that no thread of the block wrote. */
[[noreturn]] void race_report(const Sched &s, bool write, unsigned other, bool other_wrote,
                              const void *other_pc, const void *pc, uintptr_t addr,
                              const RaceRegion &g)
{
    const zemu::uint3 &b = zemu::t_block_idx, &t = s.cur->tid;
    const dim3 &bd = s.launch->block;
    std::string with;
    char buf[128];
    if (other == UINT_MAX)
        with = "reads shared memory that no thread of this block wrote";
    else {
        if (other_pc)
            snprintf(buf, sizeof buf, "thread (%u,%u,%u) at ", other % bd.x, other / bd.x % bd.y,
                     other / (bd.x * bd.y));
        else
            snprintf(buf, sizeof buf, "a thread of warp %u", other / 32);
        with = std::string(write ? "writes" : "reads") + " what " + buf +
               (other_pc ? race_where(other_pc) : std::string()) +
               (other_wrote ? " wrote" : " read") + ", with no __syncthreads between them";
    }
    fatal("kernel %s, block (%u,%u,%u): shared-memory race: thread (%u,%u,%u) at %s %s "
          "(%s shared memory, byte %zu)",
          s.launch->name, b.x, b.y, b.z, t.x, t.y, t.z, race_where(pc).c_str(), with.c_str(),
          &g == &t_race.dyn ? "dynamic" : "static", (size_t)(addr - g.lo));
}

/* One access of n bytes at a by the running GPU thread. */
void race_check(RaceRegion &g, uintptr_t a, size_t n, bool write, const void *pc)
{
    Sched &s = *t_sched;
    RaceState &r = t_race;
    for (uintptr_t x : r.exempt)
        if (a < x + 16 && a + n > x)
            return;
    unsigned me = s.cur->linear, w = me / 32;
    uint32_t ep = s.epoch, wr = s.warps[w].round;
    size_t i0 = (a - g.lo) / 2, i1 = (a - g.lo + n - 1) / 2, last = (g.size - 1) / 2;
    /* another thread's access of this interval conflicts with this one
     * unless it was this warp's before an exchange */
    auto conflict = [&](unsigned t, uint32_t round) {
        return t != me && (t / 32 != w || round == wr);
    };
    for (size_t i = i0; i <= i1 && i <= last; i++) {
        RaceCell &c = g.cells[i];
        uintptr_t at = g.lo + 2 * i;
        if (c.wep == ep && conflict(c.wtid, c.wround))
            race_report(s, write, c.wtid, true, c.wpc, pc, at, g);
        if (!write && c.wep < s.block_epoch)
            race_report(s, false, UINT_MAX, false, nullptr, pc, at, g);
        if (write) {
            if (c.rep == ep) {
                uint32_t others = c.rwarps & ~(1u << w);
                if (others) {
                    unsigned ow = (unsigned)__builtin_ctz(others);
                    bool named = c.rtid / 32 == ow;
                    race_report(s, true, named ? c.rtid : 32 * ow, false, named ? c.rpc : nullptr,
                                pc, at, g);
                }
                if (conflict(c.rtid, c.rround))
                    race_report(s, true, c.rtid, false, c.rpc, pc, at, g);
            }
            c.wep = ep;
            c.wround = wr;
            c.wtid = (uint16_t)me;
            c.wpc = pc;
        } else if (c.rep != ep) {
            c.rep = ep;
            c.rround = wr;
            c.rtid = (uint16_t)me;
            c.rwarps = 1u << w;
            c.rpc = pc;
        } else {
            c.rwarps |= 1u << w;
            if (c.rtid / 32 == w) {
                c.rround = wr;
                c.rtid = (uint16_t)me;
                c.rpc = pc;
            }
        }
    }
}

inline void race_access(const void *p, size_t n, bool write, const void *pc)
{
    RaceState &r = t_race;
    if (!r.on || !n)
        return;
    uintptr_t a = reinterpret_cast<uintptr_t>(p);
    if (a - r.tls.lo < r.tls.size)
        race_check(r.tls, a, n, write, pc);
    else if (a - r.dyn.lo < r.dyn.size)
        race_check(r.dyn, a, n, write, pc);
}
#endif

/* Lands f's copies of groups up to upto (UINT_MAX: every copy, committed
 * or not), in issue order, each a write by f now (for the race check). */
void async_retire(Fiber *f, unsigned upto)
{
    size_t keep = 0;
    for (size_t i = 0; i < f->async.size(); i++) {
        AsyncCopy &c = f->async[i];
        if (upto == UINT_MAX || (c.group && c.group <= upto)) {
#ifdef ZEMU_RACE
            race_access(c.dst, sizeof c.bytes, true, c.pc);
#endif
            memcpy(c.dst, c.bytes, sizeof c.bytes);
        } else {
            f->async[keep++] = c;
        }
    }
    f->async.resize(keep);
}

/* Blocks first .. first+count-1 of l (x fastest) on the calling OS
 * thread, one after another. */
void run_blocks(const zemu::Launch &l, unsigned first, unsigned count)
{
    Sched &s = sched();
    if (s.cur != &s.host)
        fatal("kernel %s launched from inside kernel %s: not supported", l.name, s.launch->name);
    s.launch = &l;
    s.n = l.block.x * l.block.y * l.block.z;
    prepare_threads(s, s.n);
    zemu::t_block_dim = {l.block.x, l.block.y, l.block.z};
    zemu::t_grid_dim = {l.grid.x, l.grid.y, l.grid.z};
    if (l.shmem && posix_memalign(&s.shared, 16, l.shmem) != 0)
        fatal("out of memory for %zu bytes of shared memory", l.shmem);
#ifdef ZEMU_RACE
    race_begin(s);
#endif
    for (unsigned b = first; b < first + count; b++) {
        zemu::t_block_idx = {b % l.grid.x, b / l.grid.x % l.grid.y, b / (l.grid.x * l.grid.y)};
        run_block(s);
    }
#ifdef ZEMU_RACE
    race_end();
#endif
    free(s.shared);
    s.shared = nullptr;
    s.launch = nullptr;
}

/* The OS threads of cooperative launches, kept (each with its fibers)
 * from one launch to the next: every launch wakes them all, each takes
 * one block (or none), and the launch returns when its blocks are done.
 * Never destroyed: the threads wait until the process exits. */
struct CoopPool {
    std::mutex m;
    std::condition_variable wake, done;
    std::vector<std::thread> threads;
    const zemu::Launch *launch = nullptr;
    unsigned generation = 0, next = 0, finished = 0;

    /* seen: the generation before the one the thread was made for */
    void worker(unsigned seen)
    {
        std::unique_lock<std::mutex> lk(m);
        for (;; seen = generation) {
            wake.wait(lk, [&] { return generation != seen; });
            if (!launch) /* woken late: that launch is over */
                continue;
            const zemu::Launch &l = *launch;
            unsigned b = next++, nb = l.grid.x * l.grid.y * l.grid.z;
            if (b >= nb)
                continue;
            lk.unlock();
            run_blocks(l, b, 1);
            lk.lock();
            if (++finished == nb)
                done.notify_all();
        }
    }

    void run(const zemu::Launch &l)
    {
        unsigned nb = l.grid.x * l.grid.y * l.grid.z;
        std::unique_lock<std::mutex> lk(m);
        while (threads.size() < nb)
            threads.emplace_back([this, g = generation] { worker(g); });
        launch = &l;
        next = finished = 0;
        generation++;
        wake.notify_all();
        done.wait(lk, [&] { return finished == nb; });
        launch = nullptr;
    }
};

/* A launch: its blocks one after another here, or, cooperative, each on
 * an OS thread of its own (with its own fibers and shared memory), all at
 * once. */
void run(const zemu::Launch &l)
{
    static CoopPool *pool = new CoopPool;
    if (l.cooperative)
        pool->run(l);
    else
        run_blocks(l, 0, l.grid.x * l.grid.y * l.grid.z);
}

/* The lane a shuffle reads, as HIP defines it: within the lane's group of
 * `width`; a xor/down partner past the group reads the lane's own value. */
unsigned source_lane(zemu::Shfl kind, unsigned lane, int arg, unsigned width)
{
    unsigned base = lane & ~(width - 1), a = static_cast<unsigned>(arg);
    switch (kind) {
    case zemu::Shfl::Xor:
        return (lane ^ a) < base + width ? lane ^ a : lane;
    case zemu::Shfl::Down:
        return uint64_t(lane - base) + a < width ? lane + a : lane;
    case zemu::Shfl::Idx:
    case zemu::Shfl::Mma:
        break;
    }
    return base + (a & (width - 1));
}

/* ---- runtime objects ---- */

thread_local hipError_t t_last_error = hipSuccess;

hipError_t fail(hipError_t e)
{
    t_last_error = e;
    return e;
}

double now_ms()
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

} // namespace

struct ihipGraph {
    std::vector<std::function<void()>> nodes;
};

struct hipGraphExec {
    std::vector<std::function<void()>> nodes;
};

struct ihipStream_t {
    ihipGraph *capture = nullptr;
    bool invalidated = false;
};

struct ihipEvent_t {
    bool recorded = false;
    double ms = 0;
};

namespace {

std::vector<hipStream_t> g_capturing;

bool capturing(hipStream_t s) { return s && s->capture; }

hipError_t record(hipStream_t s, std::function<void()> node)
{
    if (s->invalidated)
        return fail(hipErrorStreamCaptureInvalidated);
    s->capture->nodes.push_back(std::move(node));
    return hipSuccess;
}

/* A call that waits for the device: illegal while any capture runs (it
 * would wait for work that is only being recorded), and it spoils them. */
hipError_t sync_call()
{
    if (g_capturing.empty())
        return hipSuccess;
    for (hipStream_t s : g_capturing)
        s->invalidated = true;
    return fail(hipErrorStreamCaptureUnsupported);
}

void stop_capture(hipStream_t s)
{
    for (size_t i = 0; i < g_capturing.size(); i++)
        if (g_capturing[i] == s)
            g_capturing.erase(g_capturing.begin() + static_cast<long>(i));
}

size_t meminfo_available()
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    if (kb)
        return static_cast<size_t>(kb) * 1024;
    return static_cast<size_t>(sysconf(_SC_AVPHYS_PAGES)) *
           static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t physical_memory()
{
    return static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) *
           static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

hipError_t check_copy(void *dst, const void *src, size_t size, hipMemcpyKind kind)
{
    if (size && (!dst || !src))
        return fail(hipErrorInvalidValue);
    if (kind < hipMemcpyHostToHost || kind > hipMemcpyDefault)
        return fail(hipErrorInvalidValue);
    return hipSuccess;
}

hipError_t check_shape(const zemu::Launch &l)
{
    const dim3 &b = l.block, &g = l.grid;
    if (!b.x || !b.y || !b.z || b.z > 64 || b.x > kMaxThreads || b.y > kMaxThreads ||
        static_cast<uint64_t>(b.x) * b.y * b.z > kMaxThreads)
        return hipErrorInvalidConfiguration;
    if (!g.x || !g.y || !g.z || g.x > INT_MAX || g.y > 65535 || g.z > 65535)
        return hipErrorInvalidConfiguration;
    if (l.shmem > kMaxShared)
        return hipErrorInvalidValue;
    if (l.cooperative && static_cast<uint64_t>(g.x) * g.y * g.z > kMaxCoopBlocks)
        return hipErrorInvalidConfiguration;
    return hipSuccess;
}

struct ErrorText {
    hipError_t code;
    const char *name, *text;
};

const ErrorText kErrors[] = {
    {hipSuccess, "hipSuccess", "no error"},
    {hipErrorInvalidValue, "hipErrorInvalidValue", "invalid argument"},
    {hipErrorOutOfMemory, "hipErrorOutOfMemory", "out of memory"},
    {hipErrorInvalidConfiguration, "hipErrorInvalidConfiguration",
     "invalid configuration argument"},
    {hipErrorNoDevice, "hipErrorNoDevice", "no GPU device is detected"},
    {hipErrorInvalidDevice, "hipErrorInvalidDevice", "invalid device ordinal"},
    {hipErrorInvalidHandle, "hipErrorInvalidHandle", "invalid resource handle"},
    {hipErrorIllegalState, "hipErrorIllegalState", "operation not permitted in the current state"},
    {hipErrorNotSupported, "hipErrorNotSupported", "operation not supported"},
    {hipErrorStreamCaptureUnsupported, "hipErrorStreamCaptureUnsupported",
     "operation not permitted when stream is capturing"},
    {hipErrorStreamCaptureInvalidated, "hipErrorStreamCaptureInvalidated",
     "operation failed due to a previous error during capture"},
    {hipErrorUnknown, "hipErrorUnknown", "unknown error"},
};

const ErrorText *error_text(hipError_t e)
{
    for (const ErrorText &t : kErrors)
        if (t.code == e)
            return &t;
    return nullptr;
}

} // namespace

/* ---- kernel language ---- */

void __syncthreads(void)
{
    Sched &s = in_kernel("__syncthreads");
    Fiber *f = s.cur;
    f->st = St::AtSync;
    if (++s.at_sync + s.done == s.n)
        release_sync(s, f);
    else
        run_next(s, f);
}

void *zemu_dyn_shared(void) { return in_kernel("zemu_dyn_shared").shared; }

void zemu::async_copy16(void *dst, const void *src, bool ok)
{
    Sched &s = in_kernel("an asynchronous copy");
    AsyncCopy c{dst, {}, 0, __builtin_return_address(0)};
    if (ok)
        memcpy(c.bytes, src, sizeof c.bytes);
    s.cur->async.push_back(c);
}

void zemu::async_commit()
{
    Fiber *f = in_kernel("an asynchronous copy's commit").cur;
    f->groups++;
    for (auto it = f->async.rbegin(); it != f->async.rend() && !it->group; ++it)
        it->group = f->groups;
}

void zemu::async_wait(int n)
{
    Sched &s = in_kernel("an asynchronous copy's wait");
    Fiber *f = s.cur;
    if (n < 0)
        kernel_bug(s, "waits for asynchronous copies with %d groups in flight", n);
    if ((unsigned)n < f->groups)
        async_retire(f, f->groups - (unsigned)n);
}

void zemu_spin_pause(void) { sched_yield(); }

/* The checks every lane of a warp exchange makes on the way in. */
void warp_enter(Sched &s, Warp &w, zemu::Shfl kind, int width)
{
    if (w.done)
        kernel_bug(s, "shuffles while a lane of its warp has returned");
    if (!w.arrived) {
        w.kind = kind;
        w.width = width;
    } else if (w.kind != kind || w.width != width) {
        kernel_bug(s, "lanes of one warp are in different shuffles");
    }
}

/* The warp barrier of an exchange whose slots (buffer w.round & 1) this
 * lane has filled: parks until the last lane arrives, which releases all. */
void warp_meet(Sched &s, Fiber *f, Warp &w)
{
    f->st = St::AtShuffle;
    if (++w.arrived < w.size) {
        run_next(s, f);
    } else {
        for (unsigned i = 0; i < w.size; i++) {
            Fiber *g = s.fibers[f->linear / 32 * 32 + i].get();
            g->st = St::Ready;
            if (g != f)
                push(s, g->linear);
        }
        w.arrived = 0;
        w.round++;
    }
}

uint32_t zemu::shuffle(Shfl kind, uint32_t bits, int arg, int width)
{
    Sched &s = in_kernel("a shuffle");
    Fiber *f = s.cur;
    Warp &w = s.warps[f->linear / 32];
    unsigned lane = f->linear % 32, uw = static_cast<unsigned>(width);
    if (width < 1 || width > 32 || (uw & (uw - 1)))
        kernel_bug(s, "shuffle width %d is not a power of 2 up to 32", width);
    warp_enter(s, w, kind, width);
    unsigned src = source_lane(kind, lane, arg, uw);
    if (src >= w.size)
        kernel_bug(s, "shuffle reads lane %u of a warp of %u threads", src, w.size);
    unsigned buf = w.round & 1;
    w.slot[buf][lane] = bits;
    warp_meet(s, f, w);
    return w.slot[buf][src];
}

/* PTX's mma.m16n8k16.row.col with bf16 operands and f32 sums (the
 * register layout kern_dev.h's mma_bf16_16816 gives): the lanes leave
 * their operands in the warp's slots, meet once, and each sums its four
 * outputs over k in order. */
void zemu::mma_bf16_16816(float c[4], const uint32_t a[4], const uint32_t b[2])
{
    Sched &s = in_kernel("a tile product");
    Fiber *f = s.cur;
    Warp &w = s.warps[f->linear / 32];
    if (w.size != 32)
        kernel_bug(s, "a tile product in a warp of %u threads", w.size);
    warp_enter(s, w, Shfl::Mma, 32);
    unsigned lane = f->linear % 32, buf = w.round & 1, g = lane >> 2, t = lane & 3;
    uint32_t *mine = w.mslot[buf][lane];
    for (int i = 0; i < 4; i++)
        mine[i] = a[i];
    mine[4] = b[0];
    mine[5] = b[1];
    warp_meet(s, f, w);
    auto lo = [](uint32_t v) { uint32_t u = v << 16; float x; memcpy(&x, &u, 4); return x; };
    auto hi = [](uint32_t v) { uint32_t u = v & 0xffff0000u; float x; memcpy(&x, &u, 4); return x; };
    for (unsigned k = 0; k < 16; k++) {
        /* A[row][k] and B[k][col]: lane 4 (row % 8) + (k % 8) / 2, word
         * (row >= 8) + 2 (k >= 8) of a, word (k >= 8) of b, half k % 2 */
        unsigned src = k % 8 / 2, ah = k >= 8 ? 2u : 0u, bw = k >= 8 ? 5u : 4u;
        uint32_t a0 = w.mslot[buf][4 * g + src][ah], a1 = w.mslot[buf][4 * g + src][ah + 1];
        uint32_t b0 = w.mslot[buf][4 * (2 * t) + src][bw];
        uint32_t b1 = w.mslot[buf][4 * (2 * t + 1) + src][bw];
        float x0 = k % 2 ? hi(a0) : lo(a0), x1 = k % 2 ? hi(a1) : lo(a1);
        float y0 = k % 2 ? hi(b0) : lo(b0), y1 = k % 2 ? hi(b1) : lo(b1);
        c[0] = fmaf(x0, y0, c[0]);
        c[1] = fmaf(x0, y1, c[1]);
        c[2] = fmaf(x1, y0, c[2]);
        c[3] = fmaf(x1, y1, c[3]);
    }
}

void zemu::launch(hipStream_t stream, Launch &&l)
{
    hipError_t e = check_shape(l);
    if (e != hipSuccess) {
        (void)fail(e);
        return;
    }
    if (capturing(stream)) {
        (void)record(stream, [l = std::move(l)] { run(l); });
        return;
    }
    run(l);
}

/* ---- runtime API ---- */

const char *hipGetErrorName(hipError_t e)
{
    const ErrorText *t = error_text(e);
    return t ? t->name : "hipErrorUnknown";
}

const char *hipGetErrorString(hipError_t e)
{
    const ErrorText *t = error_text(e);
    return t ? t->text : "unknown error";
}

hipError_t hipGetLastError(void)
{
    hipError_t e = t_last_error;
    t_last_error = hipSuccess;
    return e;
}

hipError_t hipPeekAtLastError(void) { return t_last_error; }

hipError_t hipGetDeviceCount(int *count)
{
    if (!count)
        return fail(hipErrorInvalidValue);
    *count = 1;
    return hipSuccess;
}

hipError_t hipSetDevice(int device)
{
    return device == 0 ? hipSuccess : fail(hipErrorInvalidDevice);
}

hipError_t hipGetDevice(int *device)
{
    if (!device)
        return fail(hipErrorInvalidValue);
    *device = 0;
    return hipSuccess;
}

hipError_t hipGetDeviceProperties(hipDeviceProp_t *p, int device)
{
    if (!p)
        return fail(hipErrorInvalidValue);
    if (device != 0)
        return fail(hipErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "zeval CPU emulator");
    p->totalGlobalMem = physical_memory();
    p->sharedMemPerBlock = kMaxShared;
    p->regsPerBlock = 65536;
    p->warpSize = 32;
    p->maxThreadsPerBlock = kMaxThreads;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = kMaxThreads;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = INT_MAX;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    p->multiProcessorCount = 1;
    return hipSuccess;
}

hipError_t hipMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    if (!free_bytes || !total_bytes)
        return fail(hipErrorInvalidValue);
    *free_bytes = meminfo_available();
    *total_bytes = physical_memory();
    return hipSuccess;
}

hipError_t hipDeviceSynchronize(void) { return sync_call(); }

/* Exactly `size` bytes (only the start is aligned), so ASan sees overruns. */
hipError_t hipMalloc(void **ptr, size_t size)
{
    if (!ptr)
        return fail(hipErrorInvalidValue);
    *ptr = nullptr;
    if (size && posix_memalign(ptr, 256, size) != 0) {
        *ptr = nullptr;
        return fail(hipErrorOutOfMemory);
    }
    return hipSuccess;
}

hipError_t hipFree(void *ptr)
{
    free(ptr);
    return hipSuccess;
}

hipError_t hipHostMalloc(void **ptr, size_t size, unsigned flags)
{
    if (flags != hipHostMallocDefault)
        return fail(hipErrorInvalidValue);
    return hipMalloc(ptr, size);
}

hipError_t hipHostFree(void *ptr) { return hipFree(ptr); }

hipError_t hipMemcpy(void *dst, const void *src, size_t size, hipMemcpyKind kind)
{
    hipError_t e = check_copy(dst, src, size, kind);
    if (e == hipSuccess)
        e = sync_call();
    if (e == hipSuccess && size)
        memcpy(dst, src, size);
    return e;
}

hipError_t hipMemcpyAsync(void *dst, const void *src, size_t size, hipMemcpyKind kind,
                          hipStream_t stream)
{
    hipError_t e = check_copy(dst, src, size, kind);
    if (e != hipSuccess || !size)
        return e;
    if (capturing(stream))
        return record(stream, [=] { memcpy(dst, src, size); });
    memcpy(dst, src, size);
    return hipSuccess;
}

hipError_t hipMemset(void *dst, int value, size_t size)
{
    if (size && !dst)
        return fail(hipErrorInvalidValue);
    hipError_t e = sync_call();
    if (e == hipSuccess && size)
        memset(dst, value, size);
    return e;
}

hipError_t hipMemsetAsync(void *dst, int value, size_t size, hipStream_t stream)
{
    if (size && !dst)
        return fail(hipErrorInvalidValue);
    if (!size)
        return hipSuccess;
    if (capturing(stream))
        return record(stream, [=] { memset(dst, value, size); });
    memset(dst, value, size);
    return hipSuccess;
}

hipError_t hipStreamCreate(hipStream_t *stream) { return hipStreamCreateWithFlags(stream, 0); }

hipError_t hipStreamCreateWithFlags(hipStream_t *stream, unsigned flags)
{
    if (!stream || (flags & ~hipStreamNonBlocking))
        return fail(hipErrorInvalidValue);
    *stream = new ihipStream_t;
    return hipSuccess;
}

hipError_t hipStreamDestroy(hipStream_t stream)
{
    if (!stream)
        return fail(hipErrorInvalidHandle);
    stop_capture(stream);
    delete stream->capture;
    delete stream;
    return hipSuccess;
}

hipError_t hipStreamSynchronize(hipStream_t stream)
{
    if (!capturing(stream))
        return stream ? hipSuccess : sync_call();
    stream->invalidated = true;
    return fail(hipErrorStreamCaptureUnsupported);
}

hipError_t hipEventCreate(hipEvent_t *event)
{
    if (!event)
        return fail(hipErrorInvalidValue);
    *event = new ihipEvent_t;
    return hipSuccess;
}

hipError_t hipEventRecord(hipEvent_t event, hipStream_t stream)
{
    if (!event)
        return fail(hipErrorInvalidHandle);
    auto stamp = [event] {
        event->recorded = true;
        event->ms = now_ms();
    };
    if (capturing(stream))
        return record(stream, stamp);
    stamp();
    return hipSuccess;
}

hipError_t hipEventSynchronize(hipEvent_t event)
{
    return event ? hipSuccess : fail(hipErrorInvalidHandle);
}

hipError_t hipEventElapsedTime(float *ms, hipEvent_t start, hipEvent_t stop)
{
    if (!ms)
        return fail(hipErrorInvalidValue);
    if (!start || !stop || !start->recorded || !stop->recorded)
        return fail(hipErrorInvalidHandle);
    *ms = static_cast<float>(stop->ms - start->ms);
    return hipSuccess;
}

hipError_t hipEventDestroy(hipEvent_t event)
{
    if (!event)
        return fail(hipErrorInvalidHandle);
    delete event;
    return hipSuccess;
}

hipError_t hipStreamBeginCapture(hipStream_t stream, hipStreamCaptureMode mode)
{
    if (mode < hipStreamCaptureModeGlobal || mode > hipStreamCaptureModeRelaxed)
        return fail(hipErrorInvalidValue);
    if (!stream)
        return fail(hipErrorStreamCaptureUnsupported); /* the legacy stream cannot capture */
    if (stream->capture)
        return fail(hipErrorIllegalState);
    stream->capture = new ihipGraph;
    stream->invalidated = false;
    g_capturing.push_back(stream);
    return hipSuccess;
}

hipError_t hipStreamEndCapture(hipStream_t stream, hipGraph_t *graph)
{
    if (!graph)
        return fail(hipErrorInvalidValue);
    if (!capturing(stream))
        return fail(hipErrorIllegalState);
    stop_capture(stream);
    *graph = stream->capture;
    stream->capture = nullptr;
    if (stream->invalidated) {
        delete *graph;
        *graph = nullptr;
        return fail(hipErrorStreamCaptureInvalidated);
    }
    return hipSuccess;
}

hipError_t hipGraphInstantiateWithFlags(hipGraphExec_t *exec, hipGraph_t graph,
                                        unsigned long long flags)
{
    if (!exec || !graph || flags)
        return fail(hipErrorInvalidValue);
    *exec = new hipGraphExec{graph->nodes};
    return hipSuccess;
}

hipError_t hipGraphLaunch(hipGraphExec_t exec, hipStream_t stream)
{
    if (!exec)
        return fail(hipErrorInvalidHandle);
    if (capturing(stream))
        return record(stream, [nodes = exec->nodes] {
            for (const auto &node : nodes)
                node();
        });
    for (const auto &node : exec->nodes)
        node();
    return hipSuccess;
}

hipError_t hipGraphDestroy(hipGraph_t graph)
{
    if (!graph)
        return fail(hipErrorInvalidValue);
    delete graph;
    return hipSuccess;
}

hipError_t hipGraphExecDestroy(hipGraphExec_t exec)
{
    if (!exec)
        return fail(hipErrorInvalidValue);
    delete exec;
    return hipSuccess;
}

#ifdef ZEMU_RACE
/* ---- the instrumentation's entry points (ZEMU_RACE builds) ----
 * What g++'s -fsanitize=thread calls in the instrumented kernel sources:
 * accesses go to the race check; atomics and fences are done here as the
 * compiler would have done them (sequentially consistent, a stronger order
 * than asked, which is always allowed). */
#define ZEMU_RET __builtin_return_address(0)
extern "C" {
void __tsan_init(void) {}
void __tsan_func_entry(void *) {}
void __tsan_func_exit(void) {}
void __tsan_vptr_update(void **, void *) {}
void __tsan_vptr_read(void **) {}
void __tsan_read_range(void *p, unsigned long n) { race_access(p, n, false, ZEMU_RET); }
void __tsan_write_range(void *p, unsigned long n) { race_access(p, n, true, ZEMU_RET); }
#define ZEMU_TSAN_ACCESS(N)                                                                  \
    void __tsan_read##N(void *p) { race_access(p, N, false, ZEMU_RET); }                    \
    void __tsan_write##N(void *p) { race_access(p, N, true, ZEMU_RET); }                    \
    void __tsan_unaligned_read##N(void *p) { race_access(p, N, false, ZEMU_RET); }          \
    void __tsan_unaligned_write##N(void *p) { race_access(p, N, true, ZEMU_RET); }          \
    void __tsan_volatile_read##N(void *p) { race_access(p, N, false, ZEMU_RET); }           \
    void __tsan_volatile_write##N(void *p) { race_access(p, N, true, ZEMU_RET); }
ZEMU_TSAN_ACCESS(1)
ZEMU_TSAN_ACCESS(2)
ZEMU_TSAN_ACCESS(4)
ZEMU_TSAN_ACCESS(8)
ZEMU_TSAN_ACCESS(16)
#undef ZEMU_TSAN_ACCESS

#define ZEMU_TSAN_ATOMIC(N, T)                                                               \
    T __tsan_atomic##N##_load(const volatile T *a, int)                                      \
    { return __atomic_load_n(a, __ATOMIC_SEQ_CST); }                                         \
    void __tsan_atomic##N##_store(volatile T *a, T v, int)                                   \
    { __atomic_store_n(a, v, __ATOMIC_SEQ_CST); }                                            \
    T __tsan_atomic##N##_exchange(volatile T *a, T v, int)                                   \
    { return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST); }                                  \
    T __tsan_atomic##N##_fetch_add(volatile T *a, T v, int)                                  \
    { return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST); }                                   \
    T __tsan_atomic##N##_fetch_sub(volatile T *a, T v, int)                                  \
    { return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST); }                                   \
    T __tsan_atomic##N##_fetch_and(volatile T *a, T v, int)                                  \
    { return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST); }                                   \
    T __tsan_atomic##N##_fetch_or(volatile T *a, T v, int)                                   \
    { return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST); }                                    \
    T __tsan_atomic##N##_fetch_xor(volatile T *a, T v, int)                                  \
    { return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST); }                                   \
    T __tsan_atomic##N##_fetch_nand(volatile T *a, T v, int)                                 \
    { return __atomic_fetch_nand(a, v, __ATOMIC_SEQ_CST); }                                  \
    int __tsan_atomic##N##_compare_exchange_strong(volatile T *a, T *c, T v, int, int)       \
    { return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); } \
    int __tsan_atomic##N##_compare_exchange_weak(volatile T *a, T *c, T v, int, int)         \
    { return __atomic_compare_exchange_n(a, c, v, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); } \
    T __tsan_atomic##N##_compare_exchange_val(volatile T *a, T c, T v, int, int)             \
    {                                                                                        \
        __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);    \
        return c;                                                                            \
    }
ZEMU_TSAN_ATOMIC(8, uint8_t)
ZEMU_TSAN_ATOMIC(16, uint16_t)
ZEMU_TSAN_ATOMIC(32, uint32_t)
ZEMU_TSAN_ATOMIC(64, uint64_t)
#undef ZEMU_TSAN_ATOMIC
void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
}
#endif

# tests/shm/shm.mk -- tests, stress tests, sanitizer builds and the
# microbenchmark of the shared-memory library in shm/.
#
# Included by the top-level Makefile (-include tests/shm/shm.mk), which
# defines CC, OBJ, OUT and ALL_CFLAGS.
#
#   make shm-unit    build $(OUT)/shm_tests (CUnit) and run it
#   make shm-stress  multi-process stress (plain and SIGKILL variants) and
#                    the threaded stress, normal build
#   make shm-tsan    threaded stress under ThreadSanitizer (clang)
#   make shm-asan    multi-process stress under ASan + UBSan (clang)
#   make shm-bench   handoff microbenchmark: tickets vs a mutex queue
#   make shm-check   shm-unit shm-stress shm-tsan shm-asan
#
# shm/ is compiled again here, without httpd's include paths: a file of
# shm/ that picked up an httpd header would fail to build, which keeps the
# library usable by pstat and the tests.

SHM_DIR        := shm
SHM_TEST_DIR   := tests/shm
SHM_LIB_SRC    := $(wildcard $(SHM_DIR)/*.c)
SHM_LIB_NAMES  := $(notdir $(SHM_LIB_SRC:.c=.o))
SHM_CPPFLAGS   := -I$(SHM_DIR) -I$(SHM_TEST_DIR)

SHM_UNIT_NAMES := shm_test_main.o shm_fixture.o test_shm_segment.o \
                  test_shm_seqlock.o test_shm_snapshot.o test_shm_ticket.o \
                  test_shm_restrict.o test_shm_child.o \
                  test_shm_index.o
SHM_STRESS_NAMES := stress_core.o stress_tickets.o
SHM_THREAD_NAMES := stress_core.o stress_threads.o
SHM_BENCH_NAMES  := bench_handoff.o

# Objects of the normal build.
SHM_OBJDIR     := $(OBJ)/tests/shm
SHM_LIB_OBJ    := $(addprefix $(SHM_OBJDIR)/,$(SHM_LIB_NAMES))
SHM_UNIT_BIN   := $(OUT)/shm_tests
SHM_STRESS_BIN := $(OUT)/shm_stress
SHM_THREAD_BIN := $(OUT)/shm_stress_threads
SHM_BENCH_BIN  := $(OUT)/shm_bench

# Sanitizer builds: clang, no _FORTIFY_SOURCE (its checked libc wrappers
# bypass the sanitizers' interceptors), any report fatal.
SHM_SAN_CC     ?= clang
SHM_SAN_COMMON := -O1 -g -fno-omit-frame-pointer -U_FORTIFY_SOURCE
SHM_TSAN_FLAGS := $(SHM_SAN_COMMON) -fsanitize=thread
SHM_ASAN_FLAGS := $(SHM_SAN_COMMON) -fsanitize=address,undefined \
                  -fno-sanitize-recover=all
SHM_TSAN_OBJDIR := $(OBJ)/tests/shm-tsan
SHM_ASAN_OBJDIR := $(OBJ)/tests/shm-asan
SHM_TSAN_BIN   := $(OUT)/shm_stress_tsan
SHM_ASAN_BIN   := $(OUT)/shm_stress_asan

# Arguments of the runs.  By default every plain run moves 1,000,000
# tickets and the SIGKILL variant 400,000 with 60 kills (see
# stress_tickets.c); all of shm-check takes well under a minute on two
# cores.
SHM_STRESS_ARGS ?=
SHM_TSAN_ARGS   ?=
SHM_ASAN_ARGS   ?=

.PHONY: shm-unit shm-stress shm-tsan shm-asan shm-bench shm-check

shm-check: shm-unit shm-stress shm-tsan shm-asan

shm-unit: $(SHM_UNIT_BIN)
	./$(SHM_UNIT_BIN)

shm-stress: $(SHM_STRESS_BIN) $(SHM_THREAD_BIN)
	./$(SHM_STRESS_BIN) $(SHM_STRESS_ARGS)
	./$(SHM_THREAD_BIN) $(SHM_STRESS_ARGS)

shm-tsan: $(SHM_TSAN_BIN)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    ./$(SHM_TSAN_BIN) $(SHM_TSAN_ARGS)

shm-asan: $(SHM_ASAN_BIN)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ./$(SHM_ASAN_BIN) $(SHM_ASAN_ARGS)

shm-bench: $(SHM_BENCH_BIN)
	./$(SHM_BENCH_BIN)

$(SHM_UNIT_BIN): $(SHM_LIB_OBJ) $(addprefix $(SHM_OBJDIR)/,$(SHM_UNIT_NAMES))
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lcunit -lpthread

$(SHM_STRESS_BIN): $(SHM_LIB_OBJ) \
                   $(addprefix $(SHM_OBJDIR)/,$(SHM_STRESS_NAMES))
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread

$(SHM_THREAD_BIN): $(SHM_LIB_OBJ) \
                   $(addprefix $(SHM_OBJDIR)/,$(SHM_THREAD_NAMES))
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread

$(SHM_BENCH_BIN): $(SHM_LIB_OBJ) $(addprefix $(SHM_OBJDIR)/,$(SHM_BENCH_NAMES))
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread

$(SHM_TSAN_BIN): $(addprefix $(SHM_TSAN_OBJDIR)/,$(SHM_LIB_NAMES) \
                   $(SHM_THREAD_NAMES))
	@mkdir -p $(dir $@)
	$(SHM_SAN_CC) $(SHM_TSAN_FLAGS) -o $@ $^ -lpthread

$(SHM_ASAN_BIN): $(addprefix $(SHM_ASAN_OBJDIR)/,$(SHM_LIB_NAMES) \
                   $(SHM_STRESS_NAMES))
	@mkdir -p $(dir $@)
	$(SHM_SAN_CC) $(SHM_ASAN_FLAGS) -o $@ $^ -lpthread

$(SHM_OBJDIR)/%.o: $(SHM_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHM_CPPFLAGS) -MMD -MP -c $< -o $@

$(SHM_OBJDIR)/%.o: $(SHM_TEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHM_CPPFLAGS) -MMD -MP -c $< -o $@

$(SHM_TSAN_OBJDIR)/%.o: $(SHM_DIR)/%.c
	@mkdir -p $(dir $@)
	$(SHM_SAN_CC) $(ALL_CFLAGS) $(SHM_TSAN_FLAGS) $(SHM_CPPFLAGS) \
	    -MMD -MP -c $< -o $@

$(SHM_TSAN_OBJDIR)/%.o: $(SHM_TEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(SHM_SAN_CC) $(ALL_CFLAGS) $(SHM_TSAN_FLAGS) $(SHM_CPPFLAGS) \
	    -MMD -MP -c $< -o $@

$(SHM_ASAN_OBJDIR)/%.o: $(SHM_DIR)/%.c
	@mkdir -p $(dir $@)
	$(SHM_SAN_CC) $(ALL_CFLAGS) $(SHM_ASAN_FLAGS) $(SHM_CPPFLAGS) \
	    -MMD -MP -c $< -o $@

$(SHM_ASAN_OBJDIR)/%.o: $(SHM_TEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(SHM_SAN_CC) $(ALL_CFLAGS) $(SHM_ASAN_FLAGS) $(SHM_CPPFLAGS) \
	    -MMD -MP -c $< -o $@

-include $(wildcard $(SHM_OBJDIR)/*.d $(SHM_TSAN_OBJDIR)/*.d \
                    $(SHM_ASAN_OBJDIR)/*.d)

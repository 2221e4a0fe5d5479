# tests/unit/unit.mk -- CUnit unit tests of the MPM's pure modules (and
# of shm/shm_escape.c, which the module and pstat share).
#
# Included by the top-level Makefile, which defines CC, OBJ, OUT,
# ALL_CFLAGS and MPM_DIR.
#
#   make unit            build $(OUT)/unit_tests with $(CC) and run it
#   make unit-asan       the same built with clang and ASan + UBSan, into
#                        $(OUT)/unit_tests_asan
#   make unit-valgrind   run $(OUT)/unit_tests under valgrind
#
# The modules under test are compiled again here, without httpd's include
# paths: one that picked up an httpd header would fail to build, which
# keeps them pure.  Their objects live under $(OBJ)/tests/ because they are
# built with other flags than the module's own objects.

UNIT_DIR      := tests/unit
UNIT_MOD_SRC  := $(addprefix $(MPM_DIR)/,head_parse.c h2_preface.c tls_hello.c \
                   chan_msg.c sock_wrap.c broker_msg.c \
                   config_value.c envconf_scan.c envconf_cache.c \
                   placement.c placement_topo.c policy_slots.c \
                   policy_mux.c policy_admit.c \
                   cgroup_limits.c site_index.c envconf_stub.c front_runs.c \
                   lazy_lib.c lib_hwloc.c lib_nghttp2.c \
                   envconf_blank.c idle_stack.c mux_handback.c \
                   handback_from.c channel.c)
UNIT_SHM_SRC  := shm/shm_escape.c
UNIT_TEST_SRC := $(addprefix $(UNIT_DIR)/,unit_main.c unit_apr.c test_head_parse.c \
                   test_h2_preface.c test_tls_hello.c \
                   test_chan_msg.c test_sock_wrap.c test_broker_msg.c \
                   test_config_value.c \
                   test_config_rows.c test_shm_escape.c \
                   test_envconf_scan.c test_envconf_cache.c \
                   test_placement.c test_lazy_lib.c test_policy_slots.c \
                   test_policy_mux.c test_policy_admit.c \
                   test_cgroup_limits.c test_site_index.c \
                   test_envconf_stub.c test_front_runs.c \
                   test_envconf_blank.c test_idle_stack.c \
                   test_mux_handback.c test_handback_from.c)
UNIT_NAMES    := $(notdir $(UNIT_MOD_SRC:.c=.o) $(UNIT_SHM_SRC:.c=.o) \
                   $(UNIT_TEST_SRC:.c=.o))
# APR (not httpd): envconf_scan.c reads directories and files with it.
APR_CONFIG    ?= apr-1-config
UNIT_CPPFLAGS := -I$(MPM_DIR) -Ishm -I$(UNIT_DIR) \
                 $(shell $(APR_CONFIG) --includes --cppflags)
UNIT_LIBS     := -lcunit -lnghttp2 -lhwloc $(shell $(APR_CONFIG) --link-ld)

UNIT_OBJDIR   := $(OBJ)/tests/unit
UNIT_OBJ      := $(addprefix $(UNIT_OBJDIR)/,$(UNIT_NAMES))
UNIT_BIN      := $(OUT)/unit_tests

# The sanitizer build: clang, and no _FORTIFY_SOURCE, whose checked libc
# wrappers would bypass ASan's interceptors.  Any UBSan report is fatal.
UNIT_ASAN_CC     ?= clang
UNIT_ASAN_FLAGS  := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
                    -fno-sanitize-recover=all -U_FORTIFY_SOURCE
UNIT_ASAN_OBJDIR := $(OBJ)/tests/unit-asan
UNIT_ASAN_OBJ    := $(addprefix $(UNIT_ASAN_OBJDIR)/,$(UNIT_NAMES))
UNIT_ASAN_BIN    := $(OUT)/unit_tests_asan

.PHONY: unit unit-asan unit-valgrind

unit: $(UNIT_BIN)
	./$(UNIT_BIN)

unit-asan: $(UNIT_ASAN_BIN)
	ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1 ./$(UNIT_ASAN_BIN)

unit-valgrind: $(UNIT_BIN)
	valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=all ./$(UNIT_BIN)

$(UNIT_BIN): $(UNIT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(UNIT_OBJ) $(UNIT_LIBS)

$(UNIT_ASAN_BIN): $(UNIT_ASAN_OBJ)
	@mkdir -p $(dir $@)
	$(UNIT_ASAN_CC) $(UNIT_ASAN_FLAGS) -o $@ $(UNIT_ASAN_OBJ) $(UNIT_LIBS)

$(UNIT_OBJDIR)/%.o: $(MPM_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(UNIT_CPPFLAGS) -MMD -MP -c $< -o $@

$(UNIT_OBJDIR)/%.o: $(UNIT_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(UNIT_CPPFLAGS) -MMD -MP -c $< -o $@

$(UNIT_OBJDIR)/%.o: shm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(UNIT_CPPFLAGS) -MMD -MP -c $< -o $@

$(UNIT_ASAN_OBJDIR)/%.o: $(MPM_DIR)/%.c
	@mkdir -p $(dir $@)
	$(UNIT_ASAN_CC) $(ALL_CFLAGS) $(UNIT_ASAN_FLAGS) $(UNIT_CPPFLAGS) \
	    -MMD -MP -c $< -o $@

$(UNIT_ASAN_OBJDIR)/%.o: $(UNIT_DIR)/%.c
	@mkdir -p $(dir $@)
	$(UNIT_ASAN_CC) $(ALL_CFLAGS) $(UNIT_ASAN_FLAGS) $(UNIT_CPPFLAGS) \
	    -MMD -MP -c $< -o $@

$(UNIT_ASAN_OBJDIR)/%.o: shm/%.c
	@mkdir -p $(dir $@)
	$(UNIT_ASAN_CC) $(ALL_CFLAGS) $(UNIT_ASAN_FLAGS) $(UNIT_CPPFLAGS) \
	    -MMD -MP -c $< -o $@

-include $(UNIT_OBJ:.o=.d) $(UNIT_ASAN_OBJ:.o=.d)

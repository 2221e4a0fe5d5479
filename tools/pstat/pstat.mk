# tools/pstat/pstat.mk -- pstat, the top-like monitor of a running
# peruser_hybrid, and its tests.
#
# Included by the top-level Makefile (-include tools/pstat/pstat.mk), which
# defines CC, OBJ, OUT and ALL_CFLAGS.
#
#   make $(OUT)/pstat   build/out/pstat (a prerequisite of `all`)
#   make pstat-unit     CUnit tests of pstat's model: build/out/pstat_tests
#   make pstat-test     pstat-unit, then the pytest tests (tmux included)
#   make pstat-bench    CPU time of one `pstat -j` snapshot, 256 child
#                       slots and 100 environments
#   make pstat-tools    pstat, pstat_tests and pstat_fake_server (what the
#                       pytest tests build for themselves)
#
# pstat reads the segment through the shm/ library only, which is compiled
# again here without httpd's include paths (pstat must need none) into
# $(OBJ)/tools/pstat/shm/.

PSTAT_DIR      := tools/pstat
PSTAT_TEST_DIR := tests/pstat
PSTAT_OBJDIR   := $(OBJ)/tools/pstat
PSTAT_SHM_OBJ  := $(patsubst shm/%.c,$(PSTAT_OBJDIR)/shm/%.o,\
                    $(wildcard shm/*.c))
PSTAT_CORE_OBJ := $(addprefix $(PSTAT_OBJDIR)/,pstat_model.o \
                    pstat_source.o pstat_text.o pstat_fields.o pstat_proc.o)
PSTAT_OBJ      := $(PSTAT_OBJDIR)/pstat_main.o $(PSTAT_OBJDIR)/pstat_tui.o \
                  $(PSTAT_CORE_OBJ) $(PSTAT_SHM_OBJ)
PSTAT_BIN      := $(OUT)/pstat
PSTAT_CPPFLAGS := -Ishm -I$(PSTAT_DIR)
# ncursesw for wide terminals' sake; plain ncurses where only it exists.
PSTAT_CURSES   := $(shell pkg-config --libs ncursesw 2>/dev/null \
                    || echo -lncursesw)

PSTAT_UNIT_OBJ := $(PSTAT_OBJDIR)/tests/test_pstat_model.o \
                  $(PSTAT_CORE_OBJ) $(PSTAT_SHM_OBJ)
PSTAT_UNIT_BIN := $(OUT)/pstat_tests
PSTAT_FAKE_OBJ := $(PSTAT_OBJDIR)/tests/fake_server.o $(PSTAT_SHM_OBJ)
PSTAT_FAKE_BIN := $(OUT)/pstat_fake_server

.PHONY: pstat pstat-unit pstat-test pstat-bench pstat-tools
pstat: $(PSTAT_BIN)
pstat-tools: $(PSTAT_BIN) $(PSTAT_UNIT_BIN) $(PSTAT_FAKE_BIN)

$(PSTAT_BIN): $(PSTAT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(PSTAT_OBJ) $(PSTAT_CURSES) -lm

$(PSTAT_UNIT_BIN): $(PSTAT_UNIT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(PSTAT_UNIT_OBJ) -lcunit

$(PSTAT_FAKE_BIN): $(PSTAT_FAKE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(PSTAT_FAKE_OBJ) -lm

$(PSTAT_OBJDIR)/shm/%.o: shm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PSTAT_CPPFLAGS) -MMD -MP -c $< -o $@

$(PSTAT_OBJDIR)/tests/%.o: $(PSTAT_TEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PSTAT_CPPFLAGS) -MMD -MP -c $< -o $@

$(PSTAT_OBJDIR)/%.o: $(PSTAT_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PSTAT_CPPFLAGS) -MMD -MP -c $< -o $@

pstat-unit: $(PSTAT_UNIT_BIN)
	./$(PSTAT_UNIT_BIN)

pstat-test: pstat-unit
	/usr/bin/python3 -m pytest -q $(PSTAT_TEST_DIR)

pstat-bench: $(PSTAT_BIN) $(PSTAT_FAKE_BIN)
	/usr/bin/python3 $(PSTAT_TEST_DIR)/bench_pstat.py

-include $(PSTAT_OBJ:.o=.d) $(PSTAT_UNIT_OBJ:.o=.d) $(PSTAT_FAKE_OBJ:.o=.d)

# tests/tools/tools.mk -- helper programs for the tests.
#
# Included by the top-level Makefile, which defines CC, OBJ, OUT and
# ALL_CFLAGS.  Not part of `make` (all): build them with
#
#   make tools           $(OUT)/shm_dump
#
# The integration tests run `make tools` themselves (a session fixture in
# tests/integration/conftest.py).
#
# shm_dump reads the shared-memory segment through the shm/ library only.
# The library is compiled again here, without httpd's include paths (it
# must need none), into $(OBJ)/tests/tools/ because the module's own
# objects are built with other flags.

TOOLS_DIR      := tests/tools
TOOLS_OBJDIR   := $(OBJ)/tests/tools
TOOLS_SHM_SRC  := $(wildcard shm/*.c)
TOOLS_SHM_OBJ  := $(patsubst shm/%.c,$(TOOLS_OBJDIR)/shm/%.o,$(TOOLS_SHM_SRC))
SHM_DUMP_OBJ   := $(TOOLS_OBJDIR)/shm_dump.o $(TOOLS_SHM_OBJ)
SHM_DUMP       := $(OUT)/shm_dump

.PHONY: tools
tools: $(SHM_DUMP)

$(SHM_DUMP): $(SHM_DUMP_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(SHM_DUMP_OBJ)

$(TOOLS_OBJDIR)/shm/%.o: shm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ishm -MMD -MP -c $< -o $@

$(TOOLS_OBJDIR)/%.o: $(TOOLS_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ishm -MMD -MP -c $< -o $@

-include $(SHM_DUMP_OBJ:.o=.d)

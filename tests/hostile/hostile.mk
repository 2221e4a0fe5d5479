# tests/hostile/hostile.mk -- the hostile-tenant test module.
#
# Included by the top-level Makefile, which defines CC, OUT, ALL_CFLAGS,
# HTTPD_CPPFLAGS and MPM_DIR.  Not part of `make` (all) nor of
# `make install`, and it must never be: it attacks the server it is loaded
# into.  tests/integration/conftest.py builds it (session fixture):
#
#   make hostile         $(OUT)/mod_ph_hostile.so

HOSTILE_SRC := tests/hostile/mod_ph_hostile.c
HOSTILE_SO  := $(OUT)/mod_ph_hostile.so

.PHONY: hostile
hostile: $(HOSTILE_SO)

# It reads the MPM's headers (ph_env.h, shm/ph_shm_layout.h) of this tree,
# so that its layout-aware attacks compile against the code under test.
$(HOSTILE_SO): $(HOSTILE_SRC) $(wildcard shm/*.h) $(wildcard $(MPM_DIR)/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HTTPD_CPPFLAGS) -I$(MPM_DIR) -Ishm -shared \
	    -o $@ $(HOSTILE_SRC)

# Executables in bin/ are thin launchers that run the TypeScript entry points on the pinned Node 24.
# Each entry is packages/<package>/src/bin/<entry>.ts, in whichever package holds it.
ENTRIES := fsb-agent fsb-controller fsb-ctl fsb-janitor
BINS := $(addprefix bin/,$(ENTRIES))

.PHONY: build clean
build: $(BINS)

# The temporary name carries the shell's PID: test files running `make build` at once never share it.
bin/%: scripts/launcher.sh.in Makefile
	@mkdir -p bin
	@src='$(firstword $(wildcard packages/*/src/bin/$*.ts))'; \
	  [ -n "$$src" ] || { echo "no packages/*/src/bin/$*.ts for bin/$*" >&2; exit 1; }; \
	  sed "s|@SOURCE@|$$src|g" $< >$@.tmp.$$$$ && chmod +x $@.tmp.$$$$ && mv $@.tmp.$$$$ $@

clean:
	rm -rf bin

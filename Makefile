# Executables in bin/ are thin launchers that run the TypeScript entry points on the pinned Node 24.
ENTRIES := fsb-agent fsb-controller
BINS := $(addprefix bin/,$(ENTRIES))

.PHONY: build clean
build: $(BINS)

bin/%: scripts/launcher.sh.in
	@mkdir -p bin
	@sed 's/@ENTRY@/$*/' $< >$@.tmp && chmod +x $@.tmp && mv $@.tmp $@

clean:
	rm -rf bin

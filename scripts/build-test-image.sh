#!/usr/bin/env bash
# Builds the local test image: a busybox rootfs from Debian's busybox-static, packed by umoci
# into an OCI image layout tarball. Nothing is pulled from a registry; the output is cached.
#
#   scripts/build-test-image.sh OUT_TAR
#
# The tarball holds one image tagged "latest"; import it with a base name such as
# docker.io/library/busybox to get docker.io/library/busybox:latest.
set -euo pipefail

out=${1:?usage: build-test-image.sh OUT_TAR}
[ -s "$out" ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

umoci init --layout "$work/oci" >/dev/null
umoci new --image "$work/oci:latest" >/dev/null
umoci unpack --image "$work/oci:latest" "$work/bundle" >/dev/null

rootfs="$work/bundle/rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,var/log}
chmod 1777 "$rootfs/tmp"
install -m 0755 /bin/busybox "$rootfs/bin/busybox"
# One symlink per applet, at the path busybox itself reports for it.
for applet in $("$rootfs/bin/busybox" --list-full); do
  [ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

umoci repack --image "$work/oci:latest" "$work/bundle" >/dev/null
umoci config --image "$work/oci:latest" \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.cmd sh \
  --config.workingdir / >/dev/null
umoci gc --layout "$work/oci" >/dev/null

mkdir -p "$(dirname "$out")"
tar -C "$work/oci" -cf "$out.tmp" .
mv "$out.tmp" "$out"

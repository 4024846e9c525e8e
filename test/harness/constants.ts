/** Names shared by the test runner and the tests: the containerd namespace and the local image. */

/** Tests run in their own containerd namespace of the private test containerd. */
export const TEST_NAMESPACE = "fsb-test";
/** Built by scripts/build-test-image.sh from Debian's busybox-static. */
export const TEST_IMAGE_TAR = ".fsb-dev/images/busybox-oci.tar";
export const TEST_IMAGE_BASE = "docker.io/library/busybox";
export const TEST_IMAGE = `${TEST_IMAGE_BASE}:latest`;

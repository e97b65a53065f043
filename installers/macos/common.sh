# shellcheck shell=bash
# Shared by the macOS release scripts (sourced, not run). Each one stops at the first error.
set -euo pipefail

# HERE and BUNDLE_ID are for the scripts that source this file.
# shellcheck disable=SC2034
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034
BUNDLE_ID=com.branchsync.desktop

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

need() {  # need VARIABLE "what it is"
    [ -n "${!1:-}" ] || die "set $1 ($2)"
}

require_macos() {
    [ "$(uname -s)" = Darwin ] || die "runs on macOS only (a macOS build host with Xcode command line tools)"
}

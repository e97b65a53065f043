#!/bin/bash
# Verify a release the way a Mac will: code signature and hardened runtime of the app, Gatekeeper's
# verdict on the app and the package, the package signature, and the stapled notarization tickets.
#
#   installers/macos/verify.sh build/dist/Branchsync.app build/packages/Branchsync-0.1.0.pkg
# shellcheck source=installers/macos/common.sh
source "$(dirname "$0")/common.sh"
require_macos
app=${1:?usage: verify.sh Branchsync.app Branchsync.pkg}
pkg=${2:?usage: verify.sh Branchsync.app Branchsync.pkg}

codesign --verify --deep --strict --verbose=2 "$app"
codesign --display --verbose=4 "$app" 2>&1 | grep -q 'flags=.*runtime' || die "$app lacks the hardened runtime"
codesign --display --verbose=4 "$app" 2>&1 | grep -q '^Timestamp=' || die "$app has no secure timestamp"
spctl --assess --type execute --verbose=2 "$app"
xcrun stapler validate "$app"
pkgutil --check-signature "$pkg"
spctl --assess --type install --verbose=2 "$pkg"
xcrun stapler validate "$pkg"
echo "verified: $app and $pkg"

#!/bin/bash
# Sign Branchsync.app for distribution outside the App Store: every Mach-O file inside-out
# (libraries and frameworks first, the app last), hardened runtime, Apple's secure timestamp.
#
#   BRANCHSYNC_CODESIGN_IDENTITY="Developer ID Application: Example Ltd (ABCDE12345)" \
#       installers/macos/sign_app.sh build/dist/Branchsync.app
#
# The identity is a certificate in the login (or CI's temporary) keychain, never a file in
# the repository. `codesign --deep` is not used to sign: Apple deprecates it for that.
# shellcheck source=installers/macos/common.sh
source "$(dirname "$0")/common.sh"
require_macos
app=${1:?usage: sign_app.sh path/to/Branchsync.app}
need BRANCHSYNC_CODESIGN_IDENTITY "a Developer ID Application identity, see: security find-identity -v -p codesigning"
identity=$BRANCHSYNC_CODESIGN_IDENTITY
sign=(codesign --force --timestamp --options runtime --sign "$identity")

# 1. loose Mach-O files (Python extensions, dylibs, helper executables), deepest first
while IFS= read -r -d '' file; do
    if file -b "$file" | grep -q 'Mach-O'; then
        "${sign[@]}" "$file"
    fi
done < <(find "$app/Contents" -type f ! -path '*.framework/*' -print0 | sort -rz)

# 2. Qt frameworks, as bundles
while IFS= read -r -d '' framework; do
    "${sign[@]}" "$framework"
done < <(find "$app/Contents" -type d -name '*.framework' -print0 | sort -rz)

# 3. the app itself, with the hardened-runtime entitlements
"${sign[@]}" --identifier "$BUNDLE_ID" --entitlements "$HERE/entitlements.plist" "$app"

codesign --verify --deep --strict --verbose=2 "$app"
echo "signed: $app"

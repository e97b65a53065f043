<#
.SYNOPSIS
    Sign Branchsync's Windows files with signtool (SHA-256, RFC 3161 timestamp), or verify them.

.DESCRIPTION
    Run by installers/build.py on the Windows build host: first on branchsync.exe and
    branchsyncw.exe (before they go into the installer), then on the setup .exe, then with
    -VerifyOnly on all of them. Each file must end up with a valid signature that chains to
    a trusted root AND a timestamp, so it stays valid after the certificate expires.

    The certificate never lives in the repository. It comes from the environment:
      BRANCHSYNC_SIGN_CERT_SHA1      thumbprint of a code-signing certificate in the Windows
                                     certificate store (an EV/HSM token appears there too), or
      BRANCHSYNC_SIGN_PFX            a .pfx file (e.g. written by CI from its secret store), with
      BRANCHSYNC_SIGN_PFX_PASSWORD   its password.
    Optional:
      BRANCHSYNC_TIMESTAMP_URL       RFC 3161 server (default http://timestamp.digicert.com)
      BRANCHSYNC_SIGNTOOL            signtool.exe (default: the newest one in the Windows 10/11 SDK)

.EXAMPLE
    $env:BRANCHSYNC_SIGN_CERT_SHA1 = '0123456789ABCDEF0123456789ABCDEF01234567'
    .\installers\windows\sign.ps1 build\packages\branchsync-0.1.0-setup.exe
    .\installers\windows\sign.ps1 -VerifyOnly build\packages\branchsync-0.1.0-setup.exe
#>
[CmdletBinding()]
param(
    [switch] $VerifyOnly,
    [Parameter(Mandatory = $true, ValueFromRemainingArguments = $true)]
    [string[]] $Files
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

function Find-SignTool {
    if ($env:BRANCHSYNC_SIGNTOOL) { return $env:BRANCHSYNC_SIGNTOOL }
    $kits = Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10\bin'
    $found = Get-ChildItem -Path $kits -Filter signtool.exe -Recurse -ErrorAction SilentlyContinue |
        Where-Object { $_.FullName -match '\\x64\\' } |
        Sort-Object { [version]($_.Directory.Parent.Name -replace '[^0-9.]', '') } -Descending |
        Select-Object -First 1
    if (-not $found) { throw 'signtool.exe not found: install the Windows SDK or set BRANCHSYNC_SIGNTOOL' }
    return $found.FullName
}

function Get-CertificateArguments {
    if ($env:BRANCHSYNC_SIGN_CERT_SHA1) { return @('/sha1', $env:BRANCHSYNC_SIGN_CERT_SHA1) }
    if ($env:BRANCHSYNC_SIGN_PFX) {
        if (-not $env:BRANCHSYNC_SIGN_PFX_PASSWORD) { throw 'BRANCHSYNC_SIGN_PFX needs BRANCHSYNC_SIGN_PFX_PASSWORD' }
        return @('/f', $env:BRANCHSYNC_SIGN_PFX, '/p', $env:BRANCHSYNC_SIGN_PFX_PASSWORD)
    }
    throw 'No signing certificate: set BRANCHSYNC_SIGN_CERT_SHA1, or BRANCHSYNC_SIGN_PFX and BRANCHSYNC_SIGN_PFX_PASSWORD'
}

function Test-Signed([string] $Path) {
    & $script:SignTool verify /pa /all /v $Path | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "signature of $Path does not verify" }
    $signature = Get-AuthenticodeSignature -FilePath $Path
    if ($signature.Status -ne 'Valid') { throw "signature of ${Path}: $($signature.Status) $($signature.StatusMessage)" }
    if (-not $signature.TimeStamperCertificate) { throw "$Path is signed but not timestamped" }
    Write-Host "verified: $Path (signed by $($signature.SignerCertificate.Subject), timestamped)"
}

$script:SignTool = Find-SignTool
$timestamp = if ($env:BRANCHSYNC_TIMESTAMP_URL) { $env:BRANCHSYNC_TIMESTAMP_URL } else { 'http://timestamp.digicert.com' }

foreach ($file in $Files) {
    if (-not (Test-Path -LiteralPath $file -PathType Leaf)) { throw "no such file: $file" }
    if (-not $VerifyOnly) {
        $certificate = Get-CertificateArguments
        & $script:SignTool sign /fd sha256 /tr $timestamp /td sha256 /d 'Branchsync' @certificate $file | Out-Host
        if ($LASTEXITCODE -ne 0) { throw "signtool could not sign $file" }
    }
    Test-Signed $file
}

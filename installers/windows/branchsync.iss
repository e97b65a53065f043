; Branchsync desktop: per-machine Windows installer (Inno Setup 6.2 or later).
;
; Built by installers/build.py on a Windows build host, which runs:
;   ISCC.exe /DAppVersion=0.1.0 /DSourceDir=build\dist\branchsync /DIconFile=build\icons\branchsync.ico
;            /Obuild\packages installers\windows\branchsync.iss
;
; IT installs it silently with its settings; they go into the machine-wide config
; C:\ProgramData\branchsync\config.toml, which users can read but not change:
;   branchsync-0.1.0-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART
;       /SERVER=https://sync.example.com /CODE=K7M2-Q9XP [/CABUNDLE=\\fileserver\it\company-ca.pem]
;       [/NAME="Front desk"] [/PIN=server_url,ca_bundle] [/LOG=C:\Windows\Temp\branchsync-setup.log]
; Without any of these parameters an existing config is left alone (upgrades), and a new
; machine gets the commented template. Exit code 0 means installed; see installers/README.md.

#ifndef AppVersion
  #error Pass the version: ISCC /DAppVersion=X.Y.Z
#endif
#ifndef SourceDir
  #error Pass the frozen app folder: ISCC /DSourceDir=build\dist\branchsync
#endif
#ifndef IconFile
  #define IconFile AddBackslash(SourcePath) + "..\..\build\icons\branchsync.ico"
#endif
#define ConfigTemplate AddBackslash(SourcePath) + "..\machine-config.toml"

[Setup]
AppId={{5D0F7B8E-3C2A-4F61-9E47-B21A6C8D0F35}
AppName=Branchsync
AppVersion={#AppVersion}
AppVerName=Branchsync {#AppVersion}
AppPublisher=Branchsync
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\Branchsync
DefaultGroupName=Branchsync
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputBaseFilename=branchsync-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\branchsync.exe
UninstallDisplayName=Branchsync
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
RestartApplications=no
SetupLogging=yes

[Tasks]
Name: "desktopicon"; Description: "Create a &desktop shortcut"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "{#ConfigTemplate}"; DestDir: "{app}"; DestName: "machine-config.template.toml"; Flags: ignoreversion

[Dirs]
Name: "{commonappdata}\branchsync"

[Icons]
Name: "{autoprograms}\Branchsync"; Filename: "{app}\branchsyncw.exe"
Name: "{autodesktop}\Branchsync"; Filename: "{app}\branchsyncw.exe"; Tasks: desktopicon

[Run]
; The config folder: administrators and SYSTEM may change it, users may only read it.
Filename: "{sys}\icacls.exe"; Parameters: """{commonappdata}\branchsync"" /inheritance:r /grant:r *S-1-5-32-544:(OI)(CI)F *S-1-5-18:(OI)(CI)F *S-1-5-32-545:(OI)(CI)RX"; Flags: runhidden waituntilterminated
Filename: "{app}\branchsyncw.exe"; Description: "Start Branchsync"; Flags: nowait postinstall skipifsilent

[Code]
const
  ConfigName = 'config.toml';

function ConfigDir(): String;
begin
  Result := ExpandConstant('{commonappdata}\branchsync');
end;

{ A TOML basic string: backslashes and quotes escaped. }
function TomlString(Value: String): String;
begin
  Result := Value;
  StringChangeEx(Result, '\', '\\', True);
  StringChangeEx(Result, '"', '\"', True);
  Result := '"' + Result + '"';
end;

{ pinned = ["a", "b"] from /PIN=a,b }
function TomlList(Csv: String): String;
var
  Item: String;
  Comma: Integer;
begin
  Result := '';
  Csv := Csv + ',';
  while Length(Csv) > 0 do
  begin
    Comma := Pos(',', Csv);
    Item := Trim(Copy(Csv, 1, Comma - 1));
    Delete(Csv, 1, Comma);
    if Item <> '' then
    begin
      if Result <> '' then
        Result := Result + ', ';
      Result := Result + TomlString(Item);
    end;
  end;
  Result := '[' + Result + ']';
end;

function Param(Name: String): String;
begin
  Result := Trim(ExpandConstant('{param:' + Name + '|}'));
end;

function HasSettings(): Boolean;
begin
  Result := (Param('SERVER') <> '') or (Param('CODE') <> '') or (Param('CABUNDLE') <> '')
    or (Param('NAME') <> '') or (Param('PIN') <> '');
end;

{ Refuse bad parameters before anything is installed: a silent install then exits non-zero. }
function InitializeSetup(): Boolean;
var
  Server: String;
begin
  Result := True;
  Server := Lowercase(Param('SERVER'));
  if (Server <> '') and (Pos('https://', Server) <> 1) and (Pos('http://', Server) <> 1) then
  begin
    SuppressibleMsgBox('/SERVER must be an https:// URL, not "' + Param('SERVER') + '".', mbCriticalError, MB_OK, IDOK);
    Result := False;
  end
  else if (Param('CABUNDLE') <> '') and not FileExists(Param('CABUNDLE')) then
  begin
    SuppressibleMsgBox('/CABUNDLE: file not found: ' + Param('CABUNDLE'), mbCriticalError, MB_OK, IDOK);
    Result := False;
  end;
end;

procedure AddLine(var Lines: TArrayOfString; Line: String);
var
  Count: Integer;
begin
  Count := GetArrayLength(Lines);
  SetArrayLength(Lines, Count + 1);
  Lines[Count] := Line;
end;

procedure WriteMachineConfig();
var
  Lines: TArrayOfString;
begin
  AddLine(Lines, '# Written by the Branchsync installer from its command-line parameters.');
  if Param('SERVER') <> '' then AddLine(Lines, 'server_url = ' + TomlString(Param('SERVER')));
  if Param('CODE') <> '' then AddLine(Lines, 'enroll_code = ' + TomlString(Param('CODE')));
  if Param('CABUNDLE') <> '' then
  begin
    if not FileCopy(Param('CABUNDLE'), ConfigDir() + '\ca.pem', False) then
      RaiseException('cannot copy the CA bundle ' + Param('CABUNDLE'));
    AddLine(Lines, 'ca_bundle = "ca.pem"');
  end;
  if Param('NAME') <> '' then AddLine(Lines, 'display_name = ' + TomlString(Param('NAME')));
  if Param('PIN') <> '' then AddLine(Lines, 'pinned = ' + TomlList(Param('PIN')));
  if not SaveStringsToUTF8File(ConfigDir() + '\' + ConfigName, Lines, False) then
    RaiseException('cannot write ' + ConfigDir() + '\' + ConfigName);
  Log('Wrote the machine-wide config ' + ConfigDir() + '\' + ConfigName);
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if CurStep = ssPostInstall then
  begin
    ForceDirectories(ConfigDir());
    if HasSettings() then
      WriteMachineConfig()
    else if not FileExists(ConfigDir() + '\' + ConfigName) then
      FileCopy(ExpandConstant('{app}\machine-config.template.toml'), ConfigDir() + '\' + ConfigName, True);
  end;
end;

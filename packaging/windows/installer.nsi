; Latent Studio's Windows installer: per user, no administrator rights.
; Built by packaging/build.py (makensis runs on Linux too), which passes:
;   VERSION, PAYLOAD (folder with uv.exe, requirements.lock, the app wheel, icon.ico), WHEEL (its file name),
;   PYTHON (the version uv installs), OUTFILE.
; Installs into %LOCALAPPDATA%\LatentStudio\app (short, for Windows' 260-character path limit): uv.exe, the lock
; and the wheel; then uv installs a Python into app\python, creates app\venv and installs the lock and the wheel
; into it, and copies uv.exe into app\venv\Scripts (the first-run set-up installs PyTorch with it).
; The same steps as packaging/posix/make_env.sh. A working environment is kept, so running a newer installer
; upgrades and keeps the PyTorch build the set-up installed. Silent: /S (and /D=DIR, last, unquoted).
; The uninstaller removes what was installed and keeps %LOCALAPPDATA%\LatentStudio's pictures, models and
; settings unless the user says so (or /PURGE with /S).

Unicode true
ManifestDPIAware true
RequestExecutionLevel user
SetCompressor /SOLID lzma

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"

!define APP "Latent Studio"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\LatentStudio"

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\LatentStudio\app"
InstallDirRegKey HKCU "${UNINSTALL_KEY}" "InstallLocation"
BrandingText "${APP} ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP} installer"
VIAddVersionKey "LegalCopyright" "Latent Studio contributors"

!define MUI_ICON "${PAYLOAD}\icon.ico"
!define MUI_UNICON "${PAYLOAD}\icon.ico"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP}"
!define MUI_FINISHPAGE_RUN_FUNCTION StartApp
!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

; Run a command, show its output in the details, stop the installation with one sentence when it fails.
!macro Run WHAT COMMAND
    DetailPrint "${WHAT}..."
    nsExec::ExecToLog '${COMMAND}'
    Pop $0
    ${If} $0 != 0
        SetErrorLevel 2
        MessageBox MB_ICONSTOP|MB_OK "${WHAT} failed (exit code $0). Check the internet connection and run the installer again: it continues where it stopped." /SD IDOK
        Abort
    ${EndIf}
!macroend

Function StartApp
    Exec '"$INSTDIR\venv\Scripts\pythonw.exe" -m studio'
FunctionEnd

Section "Install"
    SetShellVarContext current
    SetOutPath "$INSTDIR"
    File "${PAYLOAD}\uv.exe"
    File "${PAYLOAD}\requirements.lock"
    File "${PAYLOAD}\${WHEEL}"
    File "${PAYLOAD}\icon.ico"
    ; Written first, so that a failed installation can be removed from Settings > Apps.
    WriteUninstaller "$INSTDIR\uninstall.exe"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${APP}"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "Latent Studio contributors"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\icon.ico"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
    WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
    WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
    WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1

    ; The Python uv installs lives in the app's folder and goes with it.
    System::Call 'Kernel32::SetEnvironmentVariable(t "UV_PYTHON_INSTALL_DIR", t "$INSTDIR\python")i'
    ${IfNot} ${FileExists} "$INSTDIR\venv\Scripts\python.exe"
        !insertmacro Run "Installing Python ${PYTHON}" '"$INSTDIR\uv.exe" python install ${PYTHON}'
        !insertmacro Run "Creating the app's environment" '"$INSTDIR\uv.exe" venv --clear --managed-python --python ${PYTHON} "$INSTDIR\venv"'
    ${EndIf}
    !insertmacro Run "Installing the app's libraries" '"$INSTDIR\uv.exe" pip install --python "$INSTDIR\venv\Scripts\python.exe" --compile-bytecode --require-hashes -r "$INSTDIR\requirements.lock"'
    !insertmacro Run "Installing ${APP}" '"$INSTDIR\uv.exe" pip install --python "$INSTDIR\venv\Scripts\python.exe" --compile-bytecode --no-deps --reinstall-package latent-studio "$INSTDIR\${WHEEL}"'
    CopyFiles /SILENT "$INSTDIR\uv.exe" "$INSTDIR\venv\Scripts\uv.exe"

    CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\venv\Scripts\pythonw.exe" "-m studio" "$INSTDIR\icon.ico"
    CreateShortcut "$DESKTOP\${APP}.lnk" "$INSTDIR\venv\Scripts\pythonw.exe" "-m studio" "$INSTDIR\icon.ico"
    ${GetSize} "$INSTDIR" "/S=0K" $1 $2 $3
    WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" $1
    FileOpen $4 "$INSTDIR\installed-version" w
    FileWrite $4 "${VERSION}"
    FileClose $4
SectionEnd

Section "Uninstall"
    SetShellVarContext current
    Delete "$SMPROGRAMS\${APP}.lnk"
    Delete "$DESKTOP\${APP}.lnk"
    ; Only what the installer put there: the folder may have been chosen by the user.
    RMDir /r "$INSTDIR\venv"
    RMDir /r "$INSTDIR\python"
    Delete "$INSTDIR\uv.exe"
    Delete "$INSTDIR\requirements.lock"
    Delete "$INSTDIR\latent_studio-*.whl"
    Delete "$INSTDIR\icon.ico"
    Delete "$INSTDIR\installed-version"
    Delete "$INSTDIR\uninstall.exe"
    RMDir "$INSTDIR"
    DeleteRegKey HKCU "${UNINSTALL_KEY}"

    ${GetParameters} $0
    ClearErrors
    ${GetOptions} $0 "/PURGE" $1
    ${If} ${Errors}
        ${IfNot} ${Silent}
            MessageBox MB_YESNO|MB_DEFBUTTON2|MB_ICONQUESTION "Also delete your pictures, models and settings in $LOCALAPPDATA\LatentStudio?" IDYES purge
        ${EndIf}
        Goto done
    ${EndIf}
    purge:
    RMDir /r "$LOCALAPPDATA\LatentStudio"
    done:
SectionEnd

@echo off
rem Windows set-up of bulletin.xlsm: finds Python 3.11 (or 3.12) and runs tools\windows_setup.py with it, which
rem does every step (Python check, xlwings.conf, .venv, packages, verification) and prints what to do on failure.
rem Arguments pass through, e.g.  setup.bat --user-only
rem This file is in code page 936 (GBK): cmd.exe reads a batch file in the console code page of zh-CN Windows.
setlocal
set "SCRIPT=%~dp0tools\windows_setup.py"
set "PY="
py -3.11 -c "pass" >nul 2>&1 && set "PY=py -3.11"
if not defined PY (py -3.12 -c "pass" >nul 2>&1 && set "PY=py -3.12")
if not defined PY (python -c "pass" >nul 2>&1 && set "PY=python")
if not defined PY (
  echo 未找到 Python：请从 python.org 安装 64 位 Python 3.11（勾选 Add python.exe to PATH），再运行 setup.bat。
  set "RC=1"
  goto end
)
%PY% "%SCRIPT%" %*
set "RC=%ERRORLEVEL%"
:end
pause
exit /b %RC%

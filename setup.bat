@echo off
rem Windows set-up for bulletin.xlsm: runs setup.ps1 (venv, requirements, xlwings.conf). Arguments pass through,
rem e.g. setup.bat -WheelDir D:\wheels for an offline install.
powershell -NoProfile -ExecutionPolicy Bypass -File "%~dp0setup.ps1" %*
if errorlevel 1 pause

@echo off
rem Double-click: starts the browser console (bulletin serve) and opens it in the default browser.
rem Needs setup.bat to have been run once in this folder. Closing this window stops the console.
cd /d "%~dp0"
if not exist ".venv\Scripts\python.exe" (
  echo .venv not found: run setup.bat in this folder first.
  pause
  exit /b 1
)
".venv\Scripts\python.exe" -m bulletin serve %*
if errorlevel 1 pause

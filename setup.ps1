# 通报工作簿：Windows 安装脚本（信息科使用）。
# 在 bulletin.xlsm 所在目录建立 .venv、安装 requirements.txt，并写出 xlwings.conf（解释器与 PYTHONPATH），
# 这样工作簿里的按钮就用这里的 Python 运行。
#   联网安装：  .\setup.ps1
#   离线安装：  .\setup.ps1 -WheelDir D:\wheels     （该目录由联网电脑上的 pip download 准备，见 README）
#   指定 Python：.\setup.ps1 -Python "C:\Program Files\Python311\python.exe"
param(
    [string]$WheelDir = "",
    [string]$Python = "py"
)
$ErrorActionPreference = "Stop"
$Root = Split-Path -Parent $MyInvocation.MyCommand.Path
$Venv = Join-Path $Root ".venv"

Write-Host "1/4 创建虚拟环境 $Venv"
if ($Python -eq "py") { & py -3 -m venv $Venv } else { & $Python -m venv $Venv }
if ($LASTEXITCODE -ne 0) { throw "无法创建虚拟环境：请先安装 64 位 Python 3.11 或更新版本" }
$Py = Join-Path $Venv "Scripts\python.exe"
$Pyw = Join-Path $Venv "Scripts\pythonw.exe"

Write-Host "2/4 安装依赖（requirements.txt）"
$Req = Join-Path $Root "requirements.txt"
if ($WheelDir) {
    & $Py -m pip install --no-index --find-links $WheelDir -r $Req
} else {
    & $Py -m pip install -r $Req
}
if ($LASTEXITCODE -ne 0) { throw "依赖安装失败，请查看上面的 pip 输出" }

Write-Host "3/4 安装 bulletin 程序"
& $Py -m pip install --no-deps --no-build-isolation -e $Root
if ($LASTEXITCODE -ne 0) { throw "bulletin 安装失败" }

Write-Host "4/4 写出 xlwings.conf"
$Conf = Join-Path $Root "xlwings.conf"
$Lines = @(
    '"INTERPRETER_WIN","' + $Pyw + '"',
    '"PYTHONPATH","' + (Join-Path $Root "python") + '"'
)
Set-Content -Path $Conf -Value $Lines -Encoding Default
Write-Host "完成。打开 bulletin.xlsm，点“检查环境”按钮核对 Python 路径和版本。"

# 通报工作簿 Windows 安装：找到 Python 3.11（或 3.12），用它运行 tools\windows_setup.py（全部步骤都在那里：
# 检查 Python、写 xlwings.conf、建 .venv、装依赖、验证；失败时说明是哪一步、怎么办）。
#   .\setup.ps1                 .\setup.ps1 --user-only
# 指定解释器时直接运行：& "C:\Program Files\Python311\python.exe" tools\windows_setup.py
$Script = Join-Path $PSScriptRoot "tools\windows_setup.py"
foreach ($c in "py -3.11", "py -3.12", "python") {
    $exe, $rest = $c -split " "
    if (-not (Get-Command $exe -ErrorAction SilentlyContinue)) { continue }
    & $exe @rest -c "pass" *> $null
    if ($LASTEXITCODE -eq 0) {
        & $exe @rest $Script @args
        exit $LASTEXITCODE
    }
}
Write-Host "未找到 Python：请从 python.org 安装 64 位 Python 3.11（勾选 Add python.exe to PATH），再运行 setup.ps1。"
exit 1

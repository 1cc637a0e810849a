Attribute VB_Name = "Bulletin"
' The buttons on the control sheet (caption in the cell layout) call these Subs. Each runs one
' entry point of the Python package bulletin through xlwings' RunPython with an explicit module,
' so renaming the workbook file keeps every button working. Interpreter and PYTHONPATH come from
' xlwings.conf beside the workbook (written by setup.bat) or the workbook's xlwings.conf sheet.
' Source of truth: vba/Bulletin.bas in the repository; run `make workbook` after editing it.
' Keep this file ASCII (project code page 1252): Chinese text belongs in cells and captions.
Option Explicit

Public Sub BulletinCheck()
    RunPython "import bulletin.excel as x; x.check()"
End Sub

Public Sub BulletinRecalculate()
    RunPython "import bulletin.excel as x; x.recalculate()"
End Sub

Public Sub BulletinCompare()
    RunPython "import bulletin.excel as x; x.compare()"
End Sub

Public Sub BulletinNarrate()
    RunPython "import bulletin.excel as x; x.narrate()"
End Sub

Public Sub BulletinRenderDocument()
    RunPython "import bulletin.excel as x; x.render_document()"
End Sub

Public Sub BulletinMailPreview()
    RunPython "import bulletin.excel as x; x.mail_preview()"
End Sub

Public Sub BulletinCloseMonth()
    RunPython "import bulletin.excel as x; x.close_month()"
End Sub

Public Sub BulletinCheckEnvironment()
    RunPython "import bulletin.excel as x; x.check_environment(vba_version='" & XLWINGS_VERSION & "')"
End Sub

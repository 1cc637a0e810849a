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

Public Sub BulletinCollectSend()
    RunPython "import bulletin.excel as x; x.collect_send()"
End Sub

Public Sub BulletinCollectImport()
    RunPython "import bulletin.excel as x; x.collect_import()"
End Sub

Public Sub BulletinCollectStatus()
    RunPython "import bulletin.excel as x; x.collect_status()"
End Sub

Public Sub BulletinCollectRemind()
    RunPython "import bulletin.excel as x; x.collect_remind()"
End Sub

' BulletinApply: the writes of one button's step in ONE call. The Python side (ports/xlwings_port.py)
' collects them while the step runs and hands them over with Application.Run: every property set
' from Python would be a COM round trip of its own, here they run inside Excel.
' plan: a 2-D array, one operation a row: sheet, address, kind, value, colour (unused fields "").
' The kinds are the Case labels below; tests/xlwings_engine.py applies the same kinds by the same
' rules, and a test compares the two lists.
' Returns the number of operations applied; or, as text, why it stopped: "protected" Tab sheet (a
' protected sheet: nothing more is written), or the failed operation's number, sheet, address and
' Excel's message. An error is never raised to Python: Application.Run hands a VBA error to the
' caller without its description.
Public Function BulletinApply(plan As Variant) As Variant
    Dim i As Long, c As Long, kind As String, sheetName As String, where As String
    Dim v As Variant, keep As Variant, ws As Worksheet, rng As Range, style As Long
    Dim applied As Long, alerts As Boolean, saved As Boolean
    On Error GoTo Failed
    style = Application.ReferenceStyle
    ' no prompt may stop the loop (Excel asks before merging cells that hold more than one value)
    alerts = Application.DisplayAlerts
    saved = True
    Application.DisplayAlerts = False
    c = LBound(plan, 2)
    For i = LBound(plan, 1) To UBound(plan, 1)
        kind = plan(i, c + 2)
        v = plan(i, c + 3)
        where = plan(i, c) & "!" & plan(i, c + 1)
        If kind <> "add sheet" Then
            If ws Is Nothing Or plan(i, c) <> sheetName Then
                sheetName = plan(i, c)
                Set ws = ThisWorkbook.Worksheets(sheetName)
                If ws.ProtectContents Then
                    BulletinApply = "protected" & vbTab & sheetName
                    GoTo Done
                End If
            End If
            Set rng = ws.Range(CStr(plan(i, c + 1)))
        End If
        Select Case kind
        Case "value"
            ' A number, TRUE/FALSE, or "" (which empties the cells).
            rng.Value2 = v
        Case "text"
            ' Text stays text. A leading = + - @ would make a formula, a leading ' would be taken
            ' as Excel's text prefix: such text gets the prefix at once. Other text Excel may still
            ' read as a number, date, truth value or error, as if typed ("12", "10%", "2023-06",
            ' "TRUE"): then the cell's number format is put back and the text prefixed.
            If Len(v) = 0 Then
                rng.Value2 = v
            ElseIf InStr(1, "=+-@'", Left$(v, 1)) > 0 Then
                rng.Value2 = "'" & v
            Else
                keep = rng.NumberFormat
                rng.Value2 = v
                If VarType(rng.Value2) <> vbString Then
                    rng.NumberFormat = keep
                    rng.Value2 = "'" & v
                End If
            End If
        Case "formula"
            ' Only formulas the program built itself (the links of the check sheet).
            rng.Formula = v
        Case "number format"
            rng.NumberFormat = v
        Case "fill"
            ' v: the colour as Excel's integer (BGR).
            rng.Interior.Color = v
        Case "bold"
            rng.Font.Bold = v
        Case "merge"
            rng.Merge
        Case "condition"
            ' v: an R1C1 formula, colour: the fill of the cells where it is true. In A1 style
            ' Formula1 would read relative references from the active cell (Microsoft KB 895562);
            ' an R1C1 offset means the same from any cell.
            Application.ReferenceStyle = xlR1C1
            rng.FormatConditions.Add(Type:=xlExpression, Formula1:=v).Interior.Color = plan(i, c + 4)
            Application.ReferenceStyle = style
        Case "add sheet"
            ' v: the new sheet's name; it goes after the last sheet.
            Set ws = ThisWorkbook.Worksheets.Add(After:=ThisWorkbook.Sheets(ThisWorkbook.Sheets.Count))
            ws.Name = v
            sheetName = v
        Case Else
            Err.Raise vbObjectError + 513, , "unknown kind"
        End Select
        applied = applied + 1
    Next i
    BulletinApply = applied
Done:
    On Error Resume Next  ' restoring the settings must not loop back into Failed
    If saved Then
        Application.ReferenceStyle = style
        Application.DisplayAlerts = alerts
    End If
    Exit Function
Failed:
    BulletinApply = "BulletinApply failed at operation " & (applied + 1) & " (" & kind & " " & where & _
        "): " & Err.Number & " " & Err.Description
    Resume Done
End Function

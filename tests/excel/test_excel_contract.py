"""The port contract suite (tests/test_ports_contract.py) against Excel itself: the june_port fixture of
this folder opens the pasted June workbook in Excel and hands the live book to XlwingsPort."""
from test_ports_contract import (test_check_lists_the_same_problems_as_the_cli,  # noqa: F401
                                 test_close_month_stores_it_in_history_beside_the_workbook,
                                 test_input_error_is_named_with_sheet_and_cell,
                                 test_recalculate_and_narrate_match_the_cli,
                                 test_staff_edits_in_text_survive_a_second_narrate,
                                 test_statuses_and_changes_go_beside_the_table_never_into_inputs)

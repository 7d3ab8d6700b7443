"""benchmarks check: how it judges a report from the page's boxes, the files it sends, and the
protocol client polling every fragment of a page (the Check page's status among them)."""

import asyncio

import pytest

from benchmarks import check, check_app
from benchmarks.streamlit_protocol import Run, StreamlitSession


@pytest.mark.parametrize("alerts, right", [
    ([("success", "All 28 cases pass.")], True),
    ([("error", "3 of 28 cases pass."), ("warning", "Most likely the kernel is flipped")], False),
])
def test_a_report_that_fits_its_file_is_no_error(alerts, right):
    assert check_app.misjudged(alerts, right) == ""


@pytest.mark.parametrize("alerts, right", [
    ([("error", "3 of 28 cases pass."), ("warning", "flipped")], True),  # a right file failing
    ([("success", "All 28 cases pass.")], False),  # a wrong file passing
    ([("error", "3 of 28 cases pass.")], False),  # no diagnosis
    ([("error", "The check failed on the server (OSError); try again")], False),
    ([("success", "All 13 cases pass."), ("error", "The checker cannot run here")], True),
    ([], True),
])
def test_a_report_that_misjudges_its_file_is_an_error(alerts, right):
    assert check_app.misjudged(alerts, right).startswith(("right file", "wrong file"))


def test_the_class_sends_right_and_wrong_files_of_every_task():
    # tasks 0-3: the TensorFlow tasks (4, 5) are their own wave
    files = [check.student_file(n) for n in range(8)]
    assert {task for task, _, _ in files} == set(check.COURSE_FILES) - {"lenet5", "lenet5_tf1"}
    assert [right for _, _, right in files] == [True] * 4 + [False] * 4
    keras = [check.keras_file(n) for n in range(4)]
    assert [right for _, _, right in keras] == [True, False, True, False]
    assert keras[0][1] != keras[1][1] != keras[3][1]


def test_the_client_polls_every_fragment_at_its_own_interval():
    session = StreamlitSession("http://127.0.0.1:1")
    session._websocket = object()  # "connected": the reruns below never reach it
    polled = []

    async def rerun(*, fragment_id="", auto=False, **_):
        polled.append(fragment_id)
        return Run()

    async def poll_a_while():
        session._rerun = rerun
        session.auto_reruns = {"banner": 0.4, "status": 0.1}
        poller = asyncio.create_task(session._poll())
        await asyncio.sleep(1.0)
        session.auto_reruns.clear()
        await asyncio.wait_for(poller, 1.0)

    asyncio.run(poll_a_while())
    banner, status = polled.count("banner"), polled.count("status")  # ideally 2 and 8
    assert 1 <= banner <= 3 and status >= 3 and status > 2 * banner


def test_progress_goes_to_stderr_so_the_json_line_stays_last(capsys):
    check_app.say("wave tasks 0-3: 3/30 reports")
    out, err = capsys.readouterr()
    assert out == "" and "3/30 reports" in err and err.startswith("[check")


@pytest.mark.parametrize("argv", [["--minutes", "0"], ["--minutes", "500"], ["--tf", "-1"]])
def test_the_run_limit_and_the_tf_wave_are_checked(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        check.main(["--students", "2", *argv])
    assert exited.value.code == 2 and "--" in capsys.readouterr().err


@pytest.mark.parametrize("alerts, right", [
    ([("success", "All 14 points pass.")], True),
    ([("error", "8 of 14 points pass."), ("warning", "conv1 has padding='valid'")], False),
])
def test_tasks_4_and_5_reports_in_points_are_judged_as_cases_are(alerts, right):
    assert check_app.misjudged(alerts, right) == ""
    assert check_app.misjudged(alerts, not right) != ""
